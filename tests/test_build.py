"""build.py: content-hash tags, the isolated import check, and --push without a Docker engine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import build
from devtools.lambda_runtime import ensure_built
from devtools.moto_server import MotoServer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def context() -> Path:
    ensure_built("firehose_transform")
    return REPO / "build" / "firehose_transform"


def test_same_sources_same_tag(context: Path) -> None:
    first = build.content_tag(context)
    ensure_built("firehose_transform")  # copies the sources into the context again
    assert build.content_tag(context) == first


def test_any_change_gives_a_new_tag(context: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ctx"
    shutil.copytree(context, copy)
    before = build.content_tag(copy)
    handler = copy / "package" / "logpipes" / "firehose_transform" / "app.py"
    handler.write_text(handler.read_text() + "\n# changed\n")
    assert build.content_tag(copy) != before


def test_context_holds_the_dockerfile_and_platform_wheels(context: Path) -> None:
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
    assert 'CMD ["logpipes.firehose_transform.handler"]' in dockerfile
    assert list((context / "package" / "orjson").glob("*cpython-312-x86_64-linux-gnu.so"))
    assert not (context / "package" / "bin").exists()  # machine-specific scripts are dropped


def test_import_check_fails_on_a_missing_dependency(context: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ctx"
    shutil.copytree(context, copy)
    shutil.rmtree(copy / "package" / "orjson")
    interpreter = build.find_interpreter(build.DEFAULT_PYTHON)
    assert build.verify("firehose_transform", context, interpreter) > 0
    with pytest.raises(build.BuildError, match="No module named 'orjson'"):
        build.verify("firehose_transform", copy, interpreter)


def test_push_without_docker_engine_fails_clearly(context: Path, moto_server: MotoServer) -> None:
    tfvars = REPO / "build" / "images.auto.tfvars.json"
    before = tfvars.read_text()
    env = {**moto_server.env(), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    result = subprocess.run(
        [sys.executable, str(REPO / "build.py"), "firehose_transform", "--push"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert "needs a Docker engine" in result.stderr
    assert tfvars.read_text() == before  # never points Terraform at an image that was not pushed
    repositories = moto_server.client("ecr").describe_repositories()["repositories"]
    assert "logpipes/firehose_transform" in [r["repositoryName"] for r in repositories]


def test_unknown_function_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "build.py"), "no_such_function"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "unknown function" in result.stderr


def test_images_tfvars_maps_functions_to_uris(context: Path) -> None:
    ensure_built("firehose_transform")
    images = json.loads((REPO / "build" / "images.auto.tfvars.json").read_text())["image_uris"]
    assert images["firehose_transform"].endswith(":" + build.content_tag(context))
