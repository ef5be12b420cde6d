"""Least privilege, proven on what Terraform would create: every IAM policy document of every example
and of the module variants the examples do not reach (tests/iam_variants), planned against moto.

A plan renders each ``aws_iam_policy_document`` whose inputs are known, and lists the statements of
the others (those that name resources created in the same apply) with their literal parts known:
actions, effects, conditions and any literal ``"*"`` resource. The checks only ever need those.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.moto_server import MotoServer
from devtools.terraform import moto_provider_override, terraform

REPO = Path(__file__).resolve().parent.parent
VARIANTS = Path(__file__).resolve().parent / "iam_variants"
ROOTS = [*sorted(p for p in (REPO / "examples").iterdir() if (p / "main.tf").is_file()), VARIANTS]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/logpipes:test"
FUNCTIONS = ("firehose_transform", "kinesis_kpl", "s3log_redshift", "es_bulk_loader", "subscription_filter")


def plans(test: Any) -> Any:
    """Marks a test that plans the roots: it runs terraform and takes a while (moto it gets from
    the moto_server fixture, through tests/conftest.py). The self-tests at the end need neither."""
    return pytest.mark.slow(pytest.mark.terraform(test))


# The listed exceptions: actions that may be granted on Resource "*", because the Service
# Authorization Reference defines no resource type for them, each with why the grant is needed and,
# where AWS offers one, the condition key that must narrow it instead.
ENI = "a VPC Lambda's network interfaces: no resource-level permissions (AWS documents Resource * for them)"
XRAY = "X-Ray has no resource-level permissions"
LOG_DELIVERY = "vended log delivery (Step Functions logging): CloudWatch Logs requires Resource *"
DATA_API = (
    "the Data API's statement calls have no resource type; the owner condition limits them to own statements"
)
STAR_RESOURCE_ACTIONS: dict[str, tuple[str, str | None]] = {
    "xray:PutTraceSegments": (f"{XRAY}; active tracing sends segments", None),
    "xray:PutTelemetryRecords": (f"{XRAY}; active tracing reports telemetry", None),
    "xray:GetSamplingRules": (f"{XRAY}; Step Functions tracing samples", None),
    "xray:GetSamplingTargets": (f"{XRAY}; Step Functions tracing samples", None),
    "ec2:CreateNetworkInterface": (ENI, None),
    "ec2:DescribeNetworkInterfaces": (ENI, None),
    "ec2:DeleteNetworkInterface": (ENI, None),
    "ec2:AssignPrivateIpAddresses": (ENI, None),
    "ec2:UnassignPrivateIpAddresses": (ENI, None),
    "logs:CreateLogDelivery": (LOG_DELIVERY, None),
    "logs:GetLogDelivery": (LOG_DELIVERY, None),
    "logs:UpdateLogDelivery": (LOG_DELIVERY, None),
    "logs:DeleteLogDelivery": (LOG_DELIVERY, None),
    "logs:ListLogDeliveries": (LOG_DELIVERY, None),
    "logs:PutResourcePolicy": (LOG_DELIVERY, None),
    "logs:DescribeResourcePolicies": (LOG_DELIVERY, None),
    "logs:DescribeLogGroups": (LOG_DELIVERY, None),
    "cloudwatch:PutMetricData": (
        "CloudWatch metrics have no resource type; the namespace condition limits the producer's",
        "cloudwatch:namespace",
    ),
    "redshift-data:DescribeStatement": (DATA_API, "redshift-data:statement-owner-iam-userid"),
    "redshift-data:GetStatementResult": (DATA_API, "redshift-data:statement-owner-iam-userid"),
    "redshift-data:CancelStatement": (DATA_API, "redshift-data:statement-owner-iam-userid"),
}

# The one wildcard action allowed: the default key policy's statement that gives the key to the
# account, so that IAM policies (checked here) decide who uses it. Without it no IAM policy could
# grant the key, and only the key policy's principals could ever manage it.
ACCOUNT_ROOT_KEY_STATEMENT = ("kms:*",)

# The KMS actions that read or write data with a key: granted to an identity, they must say through
# which service (kms:ViaService) or for which resource (an encryption context) the key is used.
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt")
KMS_SCOPE_CONDITION_KEYS = ("kms:viaservice", "kms:encryptioncontext:")

# A role a service assumes must name the account or resource it does so for (the confused-deputy
# protection): aws:SourceAccount, aws:SourceArn, or the sts:ExternalId Firehose documents. Except:
TRUST_WITHOUT_SOURCE = {
    "ec2.amazonaws.com": "an instance profile's role is assumed by the instance itself, for no other account",
}
SOURCE_CONDITION_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "sts:externalid"})


@dataclass(frozen=True)
class Statement:
    """One statement of one planned policy document; None stands for a value known only at apply."""

    document: str
    sid: str
    effect: str
    actions: tuple[str | None, ...]
    not_actions: tuple[str | None, ...]
    resources: tuple[str | None, ...]
    not_resources: tuple[str | None, ...]
    principals: tuple[tuple[str, str], ...]
    condition_keys: frozenset[str]

    def where(self) -> str:
        """The statement's address in error messages."""
        return f"{self.document} statement {self.sid or '(no sid)'}"


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def statements_from_json(document: str, policy: dict[str, Any]) -> list[Statement]:
    """The statements of a rendered IAM policy (the ``json`` of a document read at plan time)."""
    parsed = []
    for raw in _as_tuple(policy.get("Statement")):
        principal = raw.get("Principal", raw.get("NotPrincipal"))
        if principal == "*":
            principals: tuple[tuple[str, str], ...] = (("*", "*"),)
        else:
            principals = tuple(
                (kind, ident) for kind, idents in (principal or {}).items() for ident in _as_tuple(idents)
            )
        parsed.append(
            Statement(
                document=document,
                sid=raw.get("Sid", ""),
                effect=raw.get("Effect", "Allow"),
                actions=_as_tuple(raw.get("Action")),
                not_actions=_as_tuple(raw.get("NotAction")),
                resources=_as_tuple(raw.get("Resource")),
                not_resources=_as_tuple(raw.get("NotResource")),
                principals=principals,
                condition_keys=frozenset(
                    key.lower() for test in (raw.get("Condition") or {}).values() for key in test
                ),
            )
        )
    return parsed


def statements_from_config(document: str, after: dict[str, Any]) -> list[Statement]:
    """The statements of a document deferred to apply, from the plan's view of its configuration."""
    return [_statement_from_config(document, raw) for raw in after.get("statement") or []]


def _statement_from_config(document: str, raw: dict[str, Any]) -> Statement:
    # An attribute unknown as a whole is absent (or null) in the plan: one None stands for it.
    return Statement(
        document=document,
        sid=raw.get("sid") or "",
        effect=raw.get("effect") or "Allow",
        actions=tuple(raw["actions"]) if raw.get("actions") is not None else (None,),
        not_actions=_as_tuple(raw.get("not_actions")),
        resources=tuple(raw["resources"]) if raw.get("resources") is not None else (None,),
        not_resources=_as_tuple(raw.get("not_resources")),
        principals=tuple(
            (p.get("type") or "?", ident)
            for p in raw.get("principals") or []
            for ident in (p.get("identifiers") or [None])
        ),
        condition_keys=frozenset((c.get("variable") or "").lower() for c in raw.get("condition") or []),
    )


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


@dataclass(frozen=True)
class PlannedIam:
    """What one root's plan says about IAM."""

    root: str
    statements: list[Statement]
    documents: int
    managed_policy_arns: list[tuple[str, str]]


# Attributes that hold a policy as JSON: a policy written there without a policy document (a
# jsonencode or a heredoc) is checked from the plan as well.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy", "access_policy", "access_policies")


def iam_of_plan(root: str, plan: dict[str, Any]) -> PlannedIam:
    """Every policy statement and policy attachment of a ``terraform show -json`` plan."""
    statements: list[Statement] = []
    documents = 0
    rendered: set[str] = set()
    read_at_plan = _resources(plan.get("prior_state", {}).get("values", {}).get("root_module", {}))
    for resource in read_at_plan:
        if resource["type"] == "aws_iam_policy_document":
            documents += 1
            rendered.add(resource["values"]["json"])
            statements += statements_from_json(resource["address"], json.loads(resource["values"]["json"]))
    attachments = []
    for change in plan.get("resource_changes", []):
        after = change["change"].get("after") or {}
        if change["type"] == "aws_iam_policy_document" and "read" in change["change"]["actions"]:
            documents += 1
            statements += statements_from_config(change["address"], after)
            continue
        for attribute in POLICY_ATTRIBUTES:
            policy = after.get(attribute)
            if isinstance(policy, str) and policy.startswith("{") and policy not in rendered:
                documents += 1
                statements += statements_from_json(f"{change['address']}.{attribute}", json.loads(policy))
        if change["type"] in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            attachments.append((change["address"], after.get("policy_arn") or "(known after apply)"))
        elif change["type"] == "aws_iam_role":
            attachments += [(change["address"], arn) for arn in after.get("managed_policy_arns") or []]
    return PlannedIam(root, statements, documents, attachments)


def _plan(root: Path, moto: MotoServer) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"logpipes-iam-{root.name}-") as tmp:
        ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "tests")
        shutil.copytree(REPO / "modules", Path(tmp) / "modules", ignore=ignore)
        workdir = Path(tmp) / "examples" / root.name
        shutil.copytree(root, workdir, ignore=ignore)
        (workdir / "moto_override.tf").write_text(moto_provider_override(moto))
        if root != VARIANTS:
            variables = {"region": moto.region, "image_uris": dict.fromkeys(FUNCTIONS, IMAGE)}
            (workdir / "terraform.tfvars.json").write_text(json.dumps(variables))
        env = moto.env()
        terraform("init", "-input=false", "-backend=false", cwd=workdir, env=env)
        terraform("plan", "-input=false", "-out=iam.tfplan", cwd=workdir, env=env)
        return json.loads(terraform("show", "-json", "iam.tfplan", cwd=workdir, env=env))


@pytest.fixture(scope="module", params=ROOTS, ids=lambda p: p.name)
def planned(request: pytest.FixtureRequest, moto_server: MotoServer) -> PlannedIam:
    moto_server.reset()
    return iam_of_plan(request.param.name, _plan(request.param, moto_server))


def _allows(planned: PlannedIam) -> Iterator[Statement]:
    # A Deny can only take permissions away: its wildcards (e.g. s3:* without TLS) are how it should be.
    return (s for s in planned.statements if s.effect == "Allow")


@plans
def test_every_root_plans_policy_documents(planned: PlannedIam) -> None:
    # Guards the other checks: a plan that rendered nothing would pass them all.
    assert planned.documents > 0 and planned.statements, planned


@plans
def test_no_wildcard_actions(planned: PlannedIam) -> None:
    found = [
        f"{s.where()}: {action}"
        for s in _allows(planned)
        for action in s.actions
        # An action computed from a resource of the same apply (es-bulk-loader's, from the OpenSearch
        # ARN of the example's domain) is checked in tests/iam_variants, where that ARN is known.
        if action is not None and "*" in action and not _is_account_root_key_statement(s)
    ]
    found += [f"{s.where()}: NotAction {list(s.not_actions)}" for s in _allows(planned) if s.not_actions]
    assert not found, "Allow statements with wildcard or negated actions:\n" + "\n".join(found)


def _is_account_root_key_statement(statement: Statement) -> bool:
    return statement.actions == ACCOUNT_ROOT_KEY_STATEMENT and all(
        kind == "AWS" and ident.endswith(":root") for kind, ident in statement.principals
    )


def _is_key_policy(statement: Statement) -> bool:
    # In a KMS key policy (a resource policy: it has principals), Resource "*" means the key itself.
    actions = [a for a in statement.actions if a is not None]
    return bool(statement.principals) and bool(actions) and all(a.startswith("kms:") for a in actions)


@plans
def test_star_resources_only_where_aws_has_nothing_narrower(planned: PlannedIam) -> None:
    found = []
    for s in _allows(planned):
        if s.not_resources:
            found.append(f"{s.where()}: NotResource {list(s.not_resources)}")
        if "*" not in s.resources or _is_key_policy(s):
            continue
        for action in s.actions:
            if action not in STAR_RESOURCE_ACTIONS:
                found.append(f"{s.where()}: {action} on *")
            elif (condition := STAR_RESOURCE_ACTIONS[action][1]) and condition not in s.condition_keys:
                found.append(f"{s.where()}: {action} on * without its condition {condition}")
    assert not found, "Resource * beyond the listed exceptions:\n" + "\n".join(found)


@plans
def test_no_aws_managed_policies(planned: PlannedIam) -> None:
    # AWS managed policies are written for every function of every account (e.g.
    # AWSLambdaVPCAccessExecutionRole grants logs:* on *); the modules write scoped statements.
    managed = [
        f"{address}: {arn}" for address, arn in planned.managed_policy_arns if ":iam::aws:policy/" in arn
    ]
    assert not managed, "AWS managed policies attached:\n" + "\n".join(managed)


@plans
def test_anonymous_principals_are_only_ever_conditioned(planned: PlannedIam) -> None:
    found = [
        s.where()
        for s in _allows(planned)
        if any(ident == "*" for _, ident in s.principals) and not s.condition_keys
    ]
    assert not found, "Allow to Principal * without a condition:\n" + "\n".join(found)


@plans
def test_service_trust_policies_name_the_source(planned: PlannedIam) -> None:
    found = [
        f"{s.where()}: {ident}"
        for s in _allows(planned)
        for kind, ident in s.principals
        if kind == "Service"
        and ident not in TRUST_WITHOUT_SOURCE
        and any(a and a.startswith("sts:") for a in s.actions)
        and not s.condition_keys & SOURCE_CONDITION_KEYS
    ]
    assert not found, "Trust policies without aws:SourceAccount/aws:SourceArn:\n" + "\n".join(found)


@plans
def test_kms_grants_to_roles_say_through_which_service(planned: PlannedIam) -> None:
    found = [
        f"{s.where()}: {sorted(a for a in s.actions if a)}"
        for s in _allows(planned)
        if not s.principals  # an identity policy: a role's grant
        and any(a and a.startswith(KMS_DATA_ACTIONS) for a in s.actions)
        and not any(key.startswith(KMS_SCOPE_CONDITION_KEYS) for key in s.condition_keys)
    ]
    assert not found, "KMS data actions without kms:ViaService or an encryption context:\n" + "\n".join(found)


# --- The checks themselves must be able to fail: each rule against a policy that breaks it. ---

VPC_ACCESS_ROLE = {  # AWSLambdaVPCAccessExecutionRole, as AWS publishes it
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            ],
            "Resource": "*",
        }
    ],
}


def _offline(statements: list[Statement], attachments: list[tuple[str, str]] | None = None) -> PlannedIam:
    return PlannedIam("offline", statements, 1, attachments or [])


def test_the_checks_catch_what_they_are_for() -> None:
    vpc_role = _offline(statements_from_json("vpc", VPC_ACCESS_ROLE))
    with pytest.raises(AssertionError, match="logs:CreateLogStream on \\*"):
        test_star_resources_only_where_aws_has_nothing_narrower(vpc_role)
    logs_star = _offline(
        statements_from_config("d", {"statement": [{"actions": ["logs:*"], "resources": [None]}]})
    )
    with pytest.raises(AssertionError, match="logs:\\*"):
        test_no_wildcard_actions(logs_star)
    with pytest.raises(AssertionError, match="AWSLambdaVPCAccessExecutionRole"):
        test_no_aws_managed_policies(
            _offline([], [("r", "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")])
        )
    trust = {
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": ["events.amazonaws.com"]}],
        "condition": [],
    }
    with pytest.raises(AssertionError, match=r"events\.amazonaws\.com"):
        test_service_trust_policies_name_the_source(
            _offline(statements_from_config("t", {"statement": [trust]}))
        )
    kms = {"actions": ["kms:Decrypt"], "resources": ["arn:aws:kms:us-east-1:1:key/k"], "condition": []}
    with pytest.raises(AssertionError, match="kms:Decrypt"):
        test_kms_grants_to_roles_say_through_which_service(
            _offline(statements_from_config("k", {"statement": [kms]}))
        )
    public = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "a"}]}
    with pytest.raises(AssertionError, match="public"):
        test_anonymous_principals_are_only_ever_conditioned(_offline(statements_from_json("public", public)))
    unowned = {"actions": ["redshift-data:DescribeStatement"], "resources": ["*"], "condition": []}
    with pytest.raises(AssertionError, match="without its condition"):
        test_star_resources_only_where_aws_has_nothing_narrower(
            _offline(statements_from_config("u", {"statement": [unowned]}))
        )
    # And what they must let through: a Deny with s3:*, a key policy on *, X-Ray on *.
    fine = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::1:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
        ]
    }
    test_star_resources_only_where_aws_has_nothing_narrower(_offline(statements_from_json("fine", fine)))
    test_no_wildcard_actions(_offline(statements_from_json("fine", fine)))


def test_policies_written_without_a_document_are_read_from_the_plan() -> None:
    wildcard = {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sqs:*"}]
    }
    plan = {
        "resource_changes": [
            {
                "address": "aws_sqs_queue_policy.q",
                "type": "aws_sqs_queue_policy",
                "change": {"actions": ["create"], "after": {"policy": json.dumps(wildcard)}},
            }
        ]
    }
    planned = iam_of_plan("synthetic", plan)
    assert planned.documents == 1
    with pytest.raises(AssertionError, match=r"aws_sqs_queue_policy\.q\.policy .*sqs:\*"):
        test_no_wildcard_actions(planned)
