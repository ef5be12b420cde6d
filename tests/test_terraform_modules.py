"""terraform init + validate for every module and example, and `terraform test` where a module has
tests/*.tftest.hcl (those run offline with mock_provider "aws")."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.terraform import terraform

REPO = Path(__file__).resolve().parent.parent
ROOTS = sorted(
    [
        REPO,
        *(p for p in (REPO / "modules").iterdir() if p.is_dir()),
        *(p for p in (REPO / "examples").iterdir() if p.is_dir()),
    ]
)

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module", params=ROOTS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def initialized(request: pytest.FixtureRequest) -> Path:
    root: Path = request.param
    terraform("init", "-backend=false", "-input=false", cwd=root)
    return root


def test_validate(initialized: Path) -> None:
    output = terraform("validate", cwd=initialized)
    assert "Success" in output


def test_terraform_test(initialized: Path) -> None:
    if not list((initialized / "tests").glob("*.tftest.hcl")):
        pytest.skip("no tests/*.tftest.hcl")
    output = terraform("test", cwd=initialized)
    assert "0 failed" in output or "Success!" in output, output
