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


# --- --extra-package: a local package of the user's next to logpipes in the image ---


def _package(root: Path, name: str, body: str = "VALUE = 1\n") -> Path:
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    return package


def _build_with_extra(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    options = [arg for path in paths for arg in ("--extra-package", str(path))]
    return subprocess.run(
        [sys.executable, str(REPO / "build.py"), "firehose_transform", "--registry", "localhost", *options],
        capture_output=True,
        text=True,
        check=False,
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_extra_package_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    assert _error_line(_build_with_extra(tmp_path / "nowhere")).endswith("nowhere: no such directory")


def test_extra_package_without_init_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "transform.py").write_text("def transform(event): return None\n")
    assert "not a Python package (a directory with __init__.py)" in _error_line(
        _build_with_extra(tmp_path / "plain")
    )


def test_extra_package_named_logpipes_is_refused(tmp_path: Path) -> None:
    assert "the name logpipes is the function's own code" in _error_line(
        _build_with_extra(_package(tmp_path, "logpipes"))
    )


def test_two_extra_packages_of_one_name_are_refused(tmp_path: Path) -> None:
    first, second = _package(tmp_path / "a", "mine"), _package(tmp_path / "b", "mine")
    assert "a second package named mine" in _error_line(_build_with_extra(first, second))


def test_extra_package_shadowing_a_locked_dependency_is_refused(context: Path, tmp_path: Path) -> None:
    before = build.content_tag(context)
    for name in ("orjson", "six"):  # a package directory, and a single-module distribution (six.py)
        assert f"{name} is the name of a locked dependency" in _error_line(
            _build_with_extra(_package(tmp_path / name, name))
        )
    assert (context / "package" / "orjson" / "__init__.py").exists()  # refused before changing anything
    assert build.content_tag(context) == before


def test_extra_package_is_part_of_the_content_hash(context: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ctx"
    shutil.copytree(context, copy)
    without = build.content_tag(copy)
    mine = _package(tmp_path / "src", "mytransform", "def transform(event):\n    return None\n")
    (mine / "__pycache__").mkdir()
    (mine / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"machine-specific")

    build.install_extra_packages(copy / "package", [mine])
    copied = copy / "package" / "mytransform"
    assert (copied / "__init__.py").read_text() == (mine / "__init__.py").read_text()
    assert not (copied / "__pycache__").exists()
    with_it = build.content_tag(copy)
    assert with_it != without

    (mine / "__init__.py").write_text("def transform(event):\n    return []\n")
    build.install_extra_packages(copy / "package", [mine])
    assert build.content_tag(copy) not in (without, with_it)

    build.install_extra_packages(copy / "package", [])  # a build without it removes it again
    assert not (copy / "package" / "mytransform").exists()
    assert build.content_tag(copy) == without


def test_extra_package_is_built_and_import_checked(context: Path, tmp_path: Path) -> None:
    mine = _package(tmp_path, "mytransform", "import not_in_the_image\n")
    try:
        result = _build_with_extra(mine)
        assert result.returncode == 1 and "No module named 'not_in_the_image'" in result.stderr
        (mine / "__init__.py").write_text("import orjson\n")  # a locked dependency is importable
        result = _build_with_extra(mine)
        assert result.returncode == 0, result.stderr
        assert (context / "package" / "mytransform" / "__init__.py").read_text() == "import orjson\n"
    finally:
        ensure_built("firehose_transform")  # the shared context without it again
    assert not (context / "package" / "mytransform").exists()
