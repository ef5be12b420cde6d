"""Keep the module READMEs in step with the code: their Inputs and Outputs tables from variables.tf
and outputs.tf, and every module snippet's ``source`` in the one form users copy, at the release
in VERSION.

    python tools/readme_tables.py          # rewrite what is stale
    python tools/readme_tables.py --check  # list what is stale, exit 1 if anything is

A table lives between ``<!-- BEGIN_TF_INPUTS path -->`` and ``<!-- END_TF_INPUTS -->`` (OUTPUTS
likewise); ``path`` is the module folder relative to the README's (``.`` for its own). A README
without markers gets them around the first table under its ``## Inputs`` / ``## Outputs``
headings (``## Inputs: modules/efs-archiver`` names a submodule), so new READMEs only need a
heading and a table. ``snippet_errors`` lists the snippet arguments a module does not declare and
the required inputs a snippet leaves out (tests/test_readme_tables.py runs it on every README).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VERSION_FILE = REPO / "VERSION"
# The placeholder organisation of the README snippets: replace it with the one hosting your fork.
SOURCE_REPOSITORY = "git::https://github.com/example-org/logpipes.git"


@dataclass(frozen=True)
class Block:
    """A ``variable`` or ``output`` block: its name and top-level attributes as source text."""

    name: str
    attributes: dict[str, str]


def _skip_string(text: str, i: int) -> int:
    """Index just past the quoted string starting at text[i] (``${...}`` may nest strings)."""
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if text.startswith("${", i) or text.startswith("%{", i):
            i = _skip_balanced(text, i + 1)
            continue
        i += 1
    raise ValueError("unterminated string")


def _skip_balanced(text: str, i: int) -> int:
    """Index just past the bracket opened at text[i], skipping strings, heredocs and comments."""
    closing = {"{": "}", "[": "]", "(": ")"}
    stack = [closing[text[i]]]
    i += 1
    while stack:
        if i >= len(text):
            raise ValueError("unbalanced brackets")
        i = _skip_trivia(text, i)
        if i >= len(text):
            raise ValueError("unbalanced brackets")
        char = text[i]
        if char == '"':
            i = _skip_string(text, i)
            continue
        if _HEREDOC.match(text, i):
            i = _skip_heredoc(text, i)
            continue
        if char in closing:
            stack.append(closing[char])
        elif char == stack[-1]:
            stack.pop()
        i += 1
    return i


_HEREDOC = re.compile(r"<<-?(\w+)\n")


def _skip_heredoc(text: str, i: int) -> int:
    """Index just past the heredoc (``<<-EOT`` ... ``EOT``) starting at text[i]."""
    heredoc = _HEREDOC.match(text, i)
    assert heredoc is not None
    end = re.compile(rf"^\s*{heredoc.group(1)}\s*$", re.M).search(text, heredoc.end())
    if end is None:
        raise ValueError("unterminated heredoc")
    return end.end()


def _skip_trivia(text: str, i: int) -> int:
    """Skip comments at text[i] (``#``, ``//`` and ``/* */``)."""
    while True:
        if text.startswith("#", i) or text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        else:
            return i


def _top_level_attributes(body: str) -> dict[str, str]:
    """``key = expression`` pairs at the top of a block body; nested blocks are skipped."""
    attributes: dict[str, str] = {}
    i = 0
    assignment = re.compile(r"\s*([A-Za-z_][\w-]*)\s*(=)?\s*")
    while i < len(body):
        i = _skip_trivia(body, i)
        if i >= len(body):
            break
        if body[i].isspace():
            i += 1
            continue
        match = assignment.match(body, i)
        if not match:
            raise ValueError(f"cannot read {body[i : i + 40]!r}")
        if match.group(2) is None:  # a nested block: `validation {`
            brace = body.index("{", match.end() - 1)
            i = _skip_balanced(body, brace)
            continue
        start = i = match.end()
        while i < len(body) and body[i] != "\n":
            if _HEREDOC.match(body, i):
                i = _skip_heredoc(body, i)
            elif body[i] in "{[(":
                i = _skip_balanced(body, i)
            elif body[i] == '"':
                i = _skip_string(body, i)
            elif body[i] == "#" or body.startswith("//", i):
                break
            else:
                i += 1
        attributes[match.group(1)] = body[start:i].strip()
    return attributes


def parse_blocks(source: str, kind: str) -> list[Block]:
    """Every top-level ``kind "name" { ... }`` block of a .tf file, in file order."""
    blocks = []
    header = re.compile(rf'^{kind}\s+"([^"]+)"\s*\{{', re.M)
    for match in header.finditer(source):
        end = _skip_balanced(source, match.end() - 1)
        blocks.append(Block(match.group(1), _top_level_attributes(source[match.end() : end - 1])))
    return blocks


def _unquote(expression: str) -> str:
    """The text of a string literal or heredoc, on one line."""
    if _HEREDOC.match(expression):
        return " ".join(line.strip() for line in expression.splitlines()[1:-1] if line.strip())
    if expression.startswith('"') and expression.endswith('"'):
        return re.sub(r"\\(.)", lambda m: {"n": " "}.get(m.group(1), m.group(1)), expression[1:-1])
    return expression


def _strip_comment(line: str) -> str:
    """The line without a trailing ``#`` or ``//`` comment (one outside a string)."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and (char == "#" or line.startswith("//", i)):
            return line[:i]
    return line


def _one_line(expression: str) -> str:
    """An expression on one line: ``{ a = 1, b = 2 }`` from its multi-line form."""
    lines = [" ".join(_strip_comment(line).split()) for line in expression.splitlines()]
    lines = [line for line in lines if line]
    text = ""
    for line in lines:
        if text and not text.endswith(("{", "[", "(", ",")) and not line.startswith(("}", "]", ")")):
            text += ","
        text += ("" if not text or text.endswith(("(", "[")) else " ") + line
    text = re.sub(r"\s*\)", ")", re.sub(r"\(\s*", "(", text))
    return re.sub(r"\s*\]", "]", re.sub(r"\[\s*", "[", text))


def _cell(text: str) -> str:
    # "<log group>" would be an HTML tag to Markdown, "|" a column break.
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _code(expression: str) -> str:
    return f"`{_cell(_one_line(expression))}`"


def inputs_table(module: Path) -> str:
    """The Markdown table of a module's variables."""
    rows = ["| name | description | type | default |", "|---|---|---|---|"]
    for block in parse_blocks((module / "variables.tf").read_text(), "variable"):
        attributes = block.attributes
        default = _code(attributes["default"]) if "default" in attributes else "required"
        rows.append(
            f"| `{block.name}` | {_cell(_unquote(attributes.get('description', '')))} | "
            f"{_code(attributes.get('type', 'any'))} | {default} |"
        )
    return "\n".join(rows)


def outputs_table(module: Path) -> str:
    """The Markdown table of a module's outputs."""
    rows = ["| name | description |", "|---|---|"]
    outputs = module / "outputs.tf"
    blocks = parse_blocks(outputs.read_text() if outputs.exists() else "", "output")
    rows += [f"| `{b.name}` | {_cell(_unquote(b.attributes.get('description', '')))} |" for b in blocks]
    return "\n".join(rows)


TABLES = {"INPUTS": inputs_table, "OUTPUTS": outputs_table}
_MARKED = re.compile(r"<!-- BEGIN_TF_(INPUTS|OUTPUTS) ([^ ]+) -->\n.*?<!-- END_TF_\1 -->", re.S)
_HEADING = re.compile(r"^## (Inputs|Outputs)(?::\s*(\S+))?[^\n]*\n", re.M)
_TABLE = re.compile(r"(?:^\|[^\n]*\n)+", re.M)


def _add_markers(readme: str, module: Path) -> str:
    """Wrap the first table under each Inputs / Outputs heading in markers, where none are."""
    for heading in reversed(list(_HEADING.finditer(readme))):
        kind = heading.group(1).upper()
        target = heading.group(2) or "."
        # "## Inputs: subscription-filter" names the README's own module.
        if target == module.name or not (module / target / "variables.tf").exists():
            target = "."
        if f"<!-- BEGIN_TF_{kind} {target} -->" in readme:
            continue
        table = _TABLE.search(readme, heading.end())
        next_heading = readme.find("\n## ", heading.end())
        if table is None or (next_heading >= 0 and table.start() > next_heading):
            continue
        marked = f"<!-- BEGIN_TF_{kind} {target} -->\n{table.group(0)}<!-- END_TF_{kind} -->\n"
        readme = readme[: table.start()] + marked + readme[table.end() :]
    return readme


def module_source(name: str, version: str) -> str:
    """The ``source`` users write for modules/<name> at a release."""
    return f"{SOURCE_REPOSITORY}//modules/{name}?ref=v{version}"


_SOURCE_LINE = re.compile(
    r'^(\s*source\s*=\s*)"[^"\n]*?modules/([a-z0-9-]+(?:/modules/[a-z0-9-]+)?)[^"\n]*"', re.M
)


def render(readme: str, module: Path, version: str) -> str:
    """The README with its tables generated and its module sources in the released form."""
    readme = _add_markers(readme, module)
    readme = _MARKED.sub(
        lambda m: (
            f"<!-- BEGIN_TF_{m.group(1)} {m.group(2)} -->\n"
            f"{TABLES[m.group(1)]((module / m.group(2)).resolve())}\n"
            f"<!-- END_TF_{m.group(1)} -->"
        ),
        readme,
    )
    return _SOURCE_LINE.sub(lambda m: f'{m.group(1)}"{module_source(m.group(2), version)}"', readme)


_HCL_FENCE = re.compile(r"^```(?:hcl|terraform)\n(.*?)^```", re.M | re.S)
_MODULE_CALL = re.compile(r'^module\s+"[^"]+"\s*\{', re.M)
_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def snippet_errors(readme: Path, repo: Path = REPO) -> list[str]:
    """Arguments of the README's module snippets that their module does not declare, and
    required inputs they leave out: a snippet must apply as it is copied."""
    errors = []
    for fence in _HCL_FENCE.finditer(readme.read_text()):
        code = fence.group(1)
        for call in _MODULE_CALL.finditer(code):
            body = code[call.end() : _skip_balanced(code, call.end() - 1) - 1]
            arguments = _top_level_attributes(body)
            source = _SOURCE_LINE.search(body)
            if source is None:
                continue
            module = repo / "modules" / source.group(2)
            variables = {b.name: b for b in parse_blocks((module / "variables.tf").read_text(), "variable")}
            where = f"{readme.relative_to(repo)}: {call.group(0)[:-1].strip()}"
            errors += [
                f"{where}: no input {name}" for name in arguments.keys() - variables.keys() - _META_ARGUMENTS
            ]
            errors += [
                f"{where}: leaves out required {name}"
                for name, block in variables.items()
                if "default" not in block.attributes and name not in arguments
            ]
    return errors


def module_readmes(repo: Path = REPO) -> list[tuple[Path, Path]]:
    """(README, module folder) of every module and submodule with a variables.tf."""
    return [
        (variables.parent / "README.md", variables.parent)
        for variables in sorted((repo / "modules").rglob("variables.tf"))
        if ".terraform" not in variables.parts and (variables.parent / "README.md").exists()
    ]


def version(repo: Path = REPO) -> str:
    """The release, from VERSION (the one place it is written)."""
    return (repo / "VERSION").read_text().strip()


def stale(repo: Path = REPO, write: bool = False) -> list[Path]:
    """The READMEs whose generated parts differ from the code; rewritten when write is true."""
    release = version(repo)
    changed = []
    for readme, module in [*module_readmes(repo), (repo / "README.md", repo / "modules")]:
        current = readme.read_text()
        wanted = render(current, module, release)
        if wanted != current:
            changed.append(readme)
            if write:
                readme.write_text(wanted)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Rewrite stale READMEs, or with --check only list them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README is stale")
    args = parser.parse_args(argv)
    changed = stale(write=not args.check)
    for readme in changed:
        print(f"{'stale' if args.check else 'updated'}: {readme.relative_to(REPO)}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
