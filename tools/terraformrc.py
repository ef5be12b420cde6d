"""Write the project-local Terraform CLI configuration.

Providers come from the filesystem mirror in /opt/tf-plugins when that folder
exists (machines without internet access), and from the registry otherwise.
A shared plugin cache keeps the 700 MB AWS provider from being copied into
every module's .terraform directory.

Usage: python tools/terraformrc.py OUTPUT_PATH
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MIRROR = Path(os.environ.get("LOGPIPES_TF_MIRROR", "/opt/tf-plugins"))


def render(cache_dir: Path, mirror: Path = MIRROR) -> str:
    lines = [f'plugin_cache_dir = "{cache_dir}"', ""]
    if mirror.is_dir():
        mirrored = sorted(
            f"{host.name}/{namespace.name}/{provider.name}"
            for host in mirror.iterdir()
            if host.is_dir()
            for namespace in host.iterdir()
            if namespace.is_dir()
            for provider in namespace.iterdir()
            if provider.is_dir()
        )
        include = ", ".join(f'"{name}"' for name in mirrored)
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            f"    include = [{include}]",
            "  }",
            "  direct {",
            f"    exclude = [{include}]",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    output = Path(argv[1]).resolve()
    cache_dir = output.parent / "terraform-plugin-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    output.write_text(render(cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
