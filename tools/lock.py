"""Pin the dependencies of each function's image: functions/locks/<function>.txt.

The requirements are functions/pyproject.toml's base dependencies plus the optional-dependency
extra named after the function (if any). pip resolves them for the Lambda platform (manylinux2014,
CPython 3.12) without installing anything, and every resolved distribution is written as name==version.

Usage: python tools/lock.py [FUNCTION ...]   (default: every function)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from build import LOCKS, discover_functions  # noqa: E402


def requirements(function: str) -> list[str]:
    project = tomllib.loads((REPO / "functions" / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project.get("optional-dependencies", {}).get(function, [])]


def lock(function: str, python_version: str = "3.12") -> str:
    with tempfile.TemporaryDirectory() as target:
        report = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--ignore-installed",
                "--only-binary=:all:",
                "--platform",
                "manylinux2014_x86_64",
                "--implementation",
                "cp",
                "--python-version",
                python_version,
                "--target",
                target,
                "--report",
                "-",
                *requirements(function),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    installed = json.loads(report.stdout)["install"]
    pins = sorted(f"{item['metadata']['name'].lower()}=={item['metadata']['version']}" for item in installed)
    header = f"# Locked for the {function} image by tools/lock.py: do not edit by hand.\n"
    return header + "\n".join(pins) + "\n"


def main(argv: list[str]) -> int:
    LOCKS.mkdir(parents=True, exist_ok=True)
    for function in argv or discover_functions():
        (LOCKS / f"{function}.txt").write_text(lock(function))
        print(f"wrote {(LOCKS / f'{function}.txt').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
