"""Run Terraform with the project-local CLI config, and apply examples against moto."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.moto_server import MotoServer

REPO = Path(__file__).resolve().parent.parent
CLI_CONFIG = REPO / "build" / "terraform.rc"

# Every service a logpipes module or example talks to. The provider rejects unknown keys,
# so this list is checked by every apply.
_MOTO_SERVICES = (
    "athena",
    "cloudwatch",
    "ec2",
    "ecr",
    "efs",
    "events",
    "firehose",
    "glue",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "opensearch",
    "redshift",
    "redshiftdata",
    "redshiftserverless",
    "s3",
    "secretsmanager",
    "sfn",
    "sns",
    "sqs",
    "ssm",
    "sts",
)


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries its output."""


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a terraform call: the project CLI config (written on first use)."""
    if not CLI_CONFIG.exists():
        subprocess.run(["python3", str(REPO / "tools" / "terraformrc.py"), str(CLI_CONFIG)], check=True)
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        **(extra or {}),
    }


def terraform(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``terraform ARGS`` in cwd; return stdout, raise TerraformError with the output on failure."""
    result = subprocess.run(
        ["terraform", *args, "-no-color"],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TerraformError(
            f"terraform {' '.join(args)} failed in {cwd} (exit {result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result.stdout


def moto_provider_override(moto: MotoServer) -> str:
    """An ``*_override.tf`` that merges into an example's ``provider "aws"`` block."""
    endpoints = "\n".join(f'    {name} = "{moto.endpoint_url}"' for name in _MOTO_SERVICES)
    return f"""provider "aws" {{
  region                      = "{moto.region}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def _copy_tree_for(example: str, destination: Path) -> Path:
    """Copy modules/ and the example, keeping their relative paths (``../../modules/x``)."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    shutil.copytree(REPO / "modules", destination / "modules", ignore=ignore)
    workdir = destination / "examples" / example
    shutil.copytree(REPO / "examples" / example, workdir, ignore=ignore)
    return workdir


def lift_tls_only_policies(moto: MotoServer) -> None:
    """Remove bucket policies that deny requests without TLS (aws:SecureTransport = false).

    moto enforces bucket policy statements but ignores their conditions, so such a Deny refuses
    every request there; on AWS it refuses only plain-HTTP requests. Only the local copy loses it.
    """
    s3 = moto.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            policy = s3.get_bucket_policy(Bucket=bucket["Name"])["Policy"]
        except s3.exceptions.ClientError:
            continue
        if "aws:SecureTransport" in policy:
            s3.delete_bucket_policy(Bucket=bucket["Name"])


def empty_buckets(moto: MotoServer) -> None:
    """Delete every object version and delete marker before destroy.

    The AWS provider's force_destroy of a versioned bucket never finishes on moto once it holds
    delete markers; emptying the buckets first leaves it only the bucket to delete.
    """
    s3 = moto.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        listing = s3.list_object_versions(Bucket=bucket["Name"])
        for item in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket["Name"], Key=item["Key"], VersionId=item["VersionId"])


@contextmanager
def applied_example(
    example: str, moto: MotoServer, variables: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Apply examples/<example> against moto; yield its outputs; destroy it on exit."""
    with tempfile.TemporaryDirectory(prefix=f"logpipes-{example}-") as tmp:
        workdir = _copy_tree_for(example, Path(tmp))
        (workdir / "moto_override.tf").write_text(moto_provider_override(moto))
        (workdir / "terraform.tfvars.json").write_text(
            json.dumps({"region": moto.region, **(variables or {})}, indent=2)
        )
        env = moto.env()
        terraform("init", "-input=false", cwd=workdir, env=env)
        try:
            terraform("apply", "-auto-approve", "-input=false", cwd=workdir, env=env)
            lift_tls_only_policies(moto)
            raw = json.loads(terraform("output", "-json", cwd=workdir, env=env))
            yield {name: value["value"] for name, value in raw.items()}
        finally:
            empty_buckets(moto)
            terraform("destroy", "-auto-approve", "-input=false", cwd=workdir, env=env)
