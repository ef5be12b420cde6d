"""asl-validator (npm, pinned in tools/asl-validator/package-lock.json) over every state machine
definition modules/es-bulk-loader renders: domain or Serverless, with or without the S3 trigger,
with or without tolerated failures. It checks what moto's parser does not: Next targets, JSONPaths,
ranges and the fields each state type allows.

The validator is installed with ``npm ci`` into tools/asl-validator/node_modules when it is missing
(``make asl-validator`` does the same); without node and npm the test is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.step_functions import ES_BULK_LOADER_VARIANTS, REPO, rendered_es_bulk_loader

pytestmark = [pytest.mark.node, pytest.mark.terraform, pytest.mark.moto, pytest.mark.slow]

VALIDATOR_DIR = REPO / "tools" / "asl-validator"


@pytest.fixture(scope="module")
def asl_validator() -> Path:
    """The pinned asl-validator, installed from the lock file if it is not yet."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    program = VALIDATOR_DIR / "node_modules" / ".bin" / "asl-validator"
    if not program.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(VALIDATOR_DIR)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return program


def validate(program: Path, definitions: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    arguments = []
    for name, definition in definitions.items():
        path = folder / f"{name}.asl.json"
        path.write_text(definition)
        arguments += ["--json-path", str(path)]
    return subprocess.run(
        [str(program), *arguments], capture_output=True, text=True, timeout=120, check=False
    )


def test_every_definition_the_module_renders_is_valid(asl_validator: Path, tmp_path: Path) -> None:
    rendered = rendered_es_bulk_loader()
    assert set(rendered) == set(ES_BULK_LOADER_VARIANTS)
    definitions = {name: machine.definition for name, machine in rendered.items()}
    assert "ToleratedFailurePercentage" in json.loads(definitions["tolerant"])["States"]["Load"]

    result = validate(asl_validator, definitions, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("✓") == len(definitions), result.stdout


@pytest.mark.parametrize(
    ("state", "field", "value", "reported"),
    [
        ("Load", "Next", "Reprot", "Reprot"),  # a state that does not exist
        ("Plan", "ResultPath", "plan", "/States/Plan/ResultPath"),  # not a path
    ],
)
def test_the_validator_rejects_a_broken_definition(
    asl_validator: Path, tmp_path: Path, state: str, field: str, value: str, reported: str
) -> None:
    definition = json.loads(rendered_es_bulk_loader()["domain"].definition)
    definition["States"][state][field] = value

    result = validate(asl_validator, {"broken": json.dumps(definition)}, tmp_path)

    assert result.returncode != 0
    assert reported in result.stderr
