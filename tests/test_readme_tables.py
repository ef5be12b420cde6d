"""The module READMEs' Inputs/Outputs tables and snippet sources are what tools/readme_tables.py
makes of the code (`python tools/readme_tables.py` regenerates them)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from tools import readme_tables

REPO = Path(__file__).resolve().parent.parent


def test_no_readme_is_stale() -> None:
    stale = [str(p.relative_to(REPO)) for p in readme_tables.stale(REPO)]
    assert not stale, f"stale READMEs (run `python tools/readme_tables.py`): {stale}"


def test_every_module_readme_has_generated_tables() -> None:
    unmarked = [
        str(readme.relative_to(REPO))
        for readme, _ in readme_tables.module_readmes(REPO)
        if "## Inputs" in readme.read_text() and "<!-- BEGIN_TF_INPUTS" not in readme.read_text()
    ]
    assert not unmarked, unmarked


@pytest.fixture
def copy_of_private_bucket(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "modules" / "private-bucket",
        tmp_path / "modules" / "private-bucket",
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "tests"),  # providers: 100s of MB
    )
    (tmp_path / "README.md").write_text("# logpipes\n")
    (tmp_path / "VERSION").write_text("1.2.3\n")
    return tmp_path


def test_a_changed_description_makes_the_readme_stale_until_regenerated(copy_of_private_bucket: Path) -> None:
    module = copy_of_private_bucket / "modules" / "private-bucket"
    readme_tables.stale(copy_of_private_bucket, write=True)
    variables = module / "variables.tf"
    variables.write_text(variables.read_text().replace("Bucket name.", "The bucket's name.", 1))

    assert readme_tables.stale(copy_of_private_bucket) == [module / "README.md"]
    readme_tables.stale(copy_of_private_bucket, write=True)
    assert readme_tables.stale(copy_of_private_bucket) == []
    assert "| `bucket_name` | The bucket's name." in (module / "README.md").read_text()


def test_snippet_sources_take_the_released_form(copy_of_private_bucket: Path) -> None:
    readme = copy_of_private_bucket / "README.md"
    readme.write_text('```hcl\nmodule "x" {\n  source = "../../modules/kinesis-kpl"\n}\n```\n')
    readme_tables.stale(copy_of_private_bucket, write=True)
    assert 'source = "git::https://github.com/example-org/logpipes.git//modules/kinesis-kpl?ref=v1.2.3"' in (
        readme.read_text()
    )


def test_tables_read_heredocs_multi_line_types_and_required_inputs(tmp_path: Path) -> None:
    source = """
variable "groups" {
  description = <<-EOT
    Log groups, keyed by name;
    a | in a description stays in its cell.
  EOT
  type = map(object({
    pattern = optional(string, "") # a comment
    count   = number
  }))

  validation {
    condition     = length(var.groups) > 0
    error_message = "One at least { }."
  }
}

variable "name" {
  type = string
}
"""
    blocks = readme_tables.parse_blocks(source, "variable")
    assert [b.name for b in blocks] == ["groups", "name"]
    assert set(blocks[0].attributes) == {"description", "type"}
    (tmp_path / "variables.tf").write_text(source)
    assert readme_tables.inputs_table(tmp_path).splitlines()[2:] == [
        "| `groups` | Log groups, keyed by name; a \\| in a description stays in its cell. | "
        '`map(object({ pattern = optional(string, ""), count = number }))` | required |',
        "| `name` |  | `string` | required |",
    ]


def test_the_python_package_carries_the_release() -> None:
    # setuptools reads no version file outside functions/, so the package's own field is checked here.
    project = tomllib.loads((REPO / "functions" / "pyproject.toml").read_text())["project"]
    assert project["version"] == readme_tables.version(REPO)


def test_readme_snippets_use_only_inputs_their_module_declares() -> None:
    readmes = [REPO / "README.md", *(readme for readme, _ in readme_tables.module_readmes(REPO))]
    errors = [error for readme in readmes for error in readme_tables.snippet_errors(readme, REPO)]
    assert not errors, "\n".join(errors)


def test_a_snippet_with_an_unknown_or_missing_input_is_reported(copy_of_private_bucket: Path) -> None:
    readme = copy_of_private_bucket / "README.md"
    readme.write_text(
        '```hcl\nmodule "logs" {\n  source = "../../modules/private-bucket"\n\n  bucket_nme = "x"\n}\n```\n'
    )
    assert readme_tables.snippet_errors(readme, copy_of_private_bucket) == [
        'README.md: module "logs": no input bucket_nme'
    ]
