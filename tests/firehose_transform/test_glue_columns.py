"""The handler writes exactly the Glue table's columns, for every configuration of
modules/firehose-transform/tests/glue_columns.json.

That fixture holds, per case, the module's variables, the environment the module gives the function
and the Glue columns it creates; modules/firehose-transform/tests/columns.tftest.hcl proves the module
does so. Here the handler runs with that environment (COLUMNS is the columns variable itself) on the
case's messages, and each line must carry the fixture's Glue columns, in order, each value of its
column's type as its SerDe reads it: one source of truth, so the table always matches the objects.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from logpipes.firehose_transform import handler
from tests.firehose_transform.glue_duckdb import OPEN_CSV, OPENX_JSON
from tests.firehose_transform.helpers import cwl_payload, decoded, encode, firehose_event

REPO = Path(__file__).resolve().parents[2]
FIXTURE_FILE = REPO / "modules" / "firehose-transform" / "tests" / "glue_columns.json"
FIXTURE = json.loads(FIXTURE_FILE.read_text())["configurations"]
EXAMPLE_TRANSFORM = REPO / "examples" / "cloudwatch-custom-transform" / "transform"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}")

# A JSON line's value of each Hive type (OpenX JSON SerDe); None is NULL for every type.
JSON_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "int": lambda v: type(v) is int and -(2**31) <= v < 2**31,
    "bigint": lambda v: type(v) is int and -(2**63) <= v < 2**63,
    "double": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "timestamp": lambda v: isinstance(v, str) and TIMESTAMP.fullmatch(v) is not None,
}
# A CSV field's text of each Hive type (Open CSV SerDe); an empty field is NULL for every type.
CSV_TYPES: dict[str, Any] = {
    "string": lambda v: True,
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "bigint": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**63) <= int(v) < 2**63,
    "double": lambda v: re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", v) is not None,
    "boolean": lambda v: v in ("true", "false"),
}


def _lines(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> str:
    environment = {**case["environment"], "COLUMNS": json.dumps(case["variables"]["columns"])}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if case["variables"]["output_format"] == "custom":
        monkeypatch.syspath_prepend(str(EXAMPLE_TRANSFORM))
    response = handler(firehose_event([encode(cwl_payload(case["messages"]))]), lambda_context)
    (record,) = response["records"]
    assert record["result"] == "Ok", record
    return decoded(record).decode()


@pytest.mark.parametrize("configuration", sorted(FIXTURE))
def test_handler_lines_have_the_glue_tables_columns(
    configuration: str, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    case = FIXTURE[configuration]
    glue = [(c["name"], c["type"]) for c in case["glue_columns"]]
    output = _lines(case, monkeypatch, lambda_context)
    assert output.endswith("\n")
    if case["serde"] == OPENX_JSON:
        rows = [json.loads(line) for line in output.splitlines()]
        assert rows
        for row in rows:
            assert list(row) == [name for name, _ in glue]
            wrong = {n: row[n] for n, t in glue if row[n] is not None and not JSON_TYPES[t](row[n])}
            assert not wrong, f"values not of their Glue column's type: {wrong}"
    else:
        assert case["serde"] == OPEN_CSV
        rows = list(csv.reader(io.StringIO(output), strict=True))
        assert rows
        for row in rows:
            assert len(row) == len(glue)
            wrong = {n: v for (n, t), v in zip(glue, row, strict=True) if v != "" and not CSV_TYPES[t](v)}
            assert not wrong, f"fields not of their Glue column's type: {wrong}"
    assert len(rows) == case["rows"]
