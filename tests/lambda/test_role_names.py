"""One name per role everywhere, and the audit role template works in several regions and the management account."""
import re
from pathlib import Path

import boto3
import pytest

from lambda_support import MANAGEMENT_ACCOUNT, REPO
from rootguard_filters.deployment import deploy_files as deploy
from rootguard_filters.sandbox import seed

ROLES = {deploy.AUDIT_ROLE, deploy.LAMBDA_ROLE, deploy.DRIFT_REMEDIATION_ROLE}
# Where users read or copy role names from.
NAMED_IN = ["README.md", "deploy/README.md", "docs", "deploy", "remediation", "policies", "iam",
            "rootguard_filters/deployment/deploy_files.py", "rootguard_filters/sandbox/seed.py", "Makefile"]


def texts():
    for name in NAMED_IN:
        path = REPO / name
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            if file.suffix in {".md", ".yml", ".yaml", ".json", ".py", ".j2", ""}:
                yield file, file.read_text(errors="replace")


def test_every_rootguard_role_named_in_docs_policies_templates_and_the_sandbox_is_one_of_the_packs_names():
    found = {}
    for file, text in texts():
        names = re.findall(r"role/([A-Za-z0-9+=,.@_-]+)", text) + re.findall(r"\bRoleName: *([\w+=,.@-]+)", text)
        names += re.findall(r"\bRootGuard\w*", text)  # CamelCase spellings of old (RootGuardAudit...)
        for name in names:
            if "rootguard" in name.lower():
                found.setdefault(name, set()).add(str(Path(file).relative_to(REPO)))
    assert set(found) <= ROLES, {n: f for n, f in found.items() if n not in ROLES}
    assert {deploy.LAMBDA_ROLE, deploy.DRIFT_REMEDIATION_ROLE} <= set(found)


def test_template_sandbox_and_generator_agree_on_the_audit_role():
    template = (REPO / "iam/stackset-audit-role.yml").read_text()
    assert re.search(r"RoleName:\n(?:\s+\w+:.*\n)*?\s+Default: (\S+)", template).group(1) == deploy.AUDIT_ROLE
    assert seed.MANAGEMENT_ROLE == deploy.AUDIT_ROLE
    assert deploy.DEFAULT_ROLE == "arn:aws:iam::{account_id}:role/" + deploy.LAMBDA_ROLE


@pytest.mark.parametrize("path, role", [("deploy/periodic.yml", deploy.LAMBDA_ROLE),
                                        ("deploy/organization.yml", deploy.LAMBDA_ROLE),
                                        ("deploy/break-glass-review.yml", deploy.LAMBDA_ROLE),
                                        ("deploy/securityhub.yml", deploy.LAMBDA_ROLE),
                                        ("deploy/realtime.yml", deploy.LAMBDA_ROLE),
                                        ("remediation/realtime-drift.yml", deploy.DRIFT_REMEDIATION_ROLE)])
def test_every_function_of_a_deploy_file_runs_under_its_role(path, role):
    import yaml
    for policy in yaml.safe_load((REPO / path).read_text())["policies"]:
        assert policy["mode"]["role"] == "arn:aws:iam::{account_id}:role/" + role, policy["name"]


@pytest.fixture
def cloudformation(sandbox, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    sandbox.reset()
    yield lambda region: boto3.client("cloudformation", region_name=region)
    sandbox.reset()


# moto skips the no-op WaitConditionHandle (real CloudFormation needs it: a stack has at least one resource).
@pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")
def test_audit_role_template_deploys_in_several_regions_and_creates_the_global_role_once(cloudformation):
    """A StackSet instance per region in one account (or the management account's own stacks)."""
    body = (REPO / "iam/stackset-audit-role.yml").read_text()
    params = [{"ParameterKey": "TrustedAccountId", "ParameterValue": MANAGEMENT_ACCOUNT}]
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        cfn = cloudformation(region)
        cfn.create_stack(StackName="rootguard-audit", TemplateBody=body, Parameters=params,
                         Capabilities=["CAPABILITY_NAMED_IAM"])
        assert cfn.describe_stacks(StackName="rootguard-audit")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        types = {r["ResourceType"] for r in cfn.list_stack_resources(StackName="rootguard-audit")[
            "StackResourceSummaries"]}
        assert ("AWS::IAM::Role" in types) == (region == "us-east-1")
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.get_role(RoleName=deploy.AUDIT_ROLE)["Role"]
    assert f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root" in str(role["AssumeRolePolicyDocument"])
