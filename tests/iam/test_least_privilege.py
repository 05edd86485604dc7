"""The IAM roles grant exactly what the pack's filters, actions and resources declare.

Permissions are derived from the policies themselves: every filter, including those nested in
``and``/``or``/``not`` blocks (c7n's ``Policy.get_permissions()`` does not look inside them), every
action, and c7n's resource permissions (``iam:ListAccountAliases`` for aws.account, Organizations
listing for aws.org-account).
"""
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from c7n.config import Config
from c7n.policy import Policy

from bench import org_run as bench

ROOT = Path(__file__).resolve().parents[2]
IAM = ROOT / "iam"
# Actions AWS classes as reads that are not Get/List/Describe by name.
READ_BY_EXCEPTION = {"iam:GenerateCredentialReport", "iam:SimulatePrincipalPolicy"}
READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Lookup")


def load(data):
    bench.register_pack()
    policy = Policy(data, Config.empty(account_id="123456789012", region="us-east-1"))
    policy.validate()
    return policy


def all_filters(filters):
    """Filters depth-first, boolean blocks and what they hold."""
    for f in filters:
        yield f
        yield from all_filters(getattr(f, "filters", ()))


def needed(policy_dir):
    """(resource permissions, filter permissions, action permissions) of every policy in a directory."""
    resources, filters, actions = set(), set(), set()
    for data in bench.load_policies(policy_dir):
        manager = load(data).resource_manager
        resources |= set(manager.get_permissions())
        for f in all_filters(manager.filters):
            filters |= set(f.get_permissions())
        for a in manager.actions:
            actions |= set(a.get_permissions())
    return resources, filters, actions


def granted(path):
    document = json.loads(Path(path).read_text())
    return {action for s in document["Statement"] if s["Effect"] == "Allow" for action in s["Action"]}


def _as_list(value):
    return sorted(value) if isinstance(value, list) else [value]


def grants(path):
    """{action: sorted [(resources, condition JSON)]} of a role's Allow statements."""
    found = {}
    for s in json.loads(Path(path).read_text())["Statement"]:
        if s["Effect"] != "Allow":
            continue
        for action in s["Action"]:
            found.setdefault(action, []).append(
                (_as_list(s["Resource"]), json.dumps(s.get("Condition"), sort_keys=True)))
    return {action: sorted(scopes) for action, scopes in found.items()}


def declared_scopes(policy_dir):
    """{permission: sorted [(resources, condition JSON)]} the remediation actions declare
    (``permission_scopes``): how far the role may grant each write."""
    scopes = {}
    for data in bench.load_policies(policy_dir):
        for a in load(data).resource_manager.actions:
            for permission, entries in getattr(a, "permission_scopes", {}).items():
                scopes[permission] = sorted(
                    (_as_list(e["Resource"]), json.dumps(e.get("Condition"), sort_keys=True)) for e in entries)
    return scopes


def is_read(action):
    return action in READ_BY_EXCEPTION or action.split(":", 1)[1].startswith(READ_PREFIXES)


def test_c7n_policy_permissions_skip_filters_nested_in_boolean_blocks():
    nested = load({"name": "nested", "resource": "aws.account",
                   "filters": [{"or": [{"type": "root-mfa"}, {"not": [{"type": "alternate-contacts"}]}]}]})
    flat = load({"name": "flat", "resource": "aws.account", "filters": [{"type": "root-mfa"}]})
    assert "iam:GetAccountSummary" in flat.get_permissions()
    assert "iam:GetAccountSummary" not in nested.get_permissions()
    walked = {p for f in all_filters(nested.resource_manager.filters) for p in f.get_permissions()}
    assert {"iam:GetAccountSummary", "iam:ListVirtualMFADevices", "account:GetAlternateContact"} <= walked


def test_audit_role_grants_exactly_the_audit_policies_reads():
    resources, filters, actions = needed(ROOT / "policies")
    assert not actions, "policies/ holds read-only audit policies"
    assert granted(IAM / "audit-role.json") == resources | filters


def test_audit_role_grants_no_write_action():
    writes = {a for a in granted(IAM / "audit-role.json") if not is_read(a)}
    assert not writes
    assert not any("*" in a for a in granted(IAM / "audit-role.json"))


def test_remediation_role_covers_every_action_filter_and_resource_of_the_remediation_policies():
    resources, filters, actions = needed(ROOT / "remediation")
    assert actions, "remediation/ has actions"
    assert granted(IAM / "remediation-role.json") == resources | filters | actions


def test_remediation_role_scopes_each_write_exactly_as_the_actions_declare():
    scopes = declared_scopes(ROOT / "remediation")
    assert {"sts:AssumeRoot", "organizations:AttachPolicy", "organizations:CreatePolicy"} <= set(scopes)
    role = grants(IAM / "remediation-role.json")
    for permission, scope in scopes.items():
        assert role[permission] == scope, permission
    unscoped = {a for a, entries in role.items() if a not in scopes}
    assert all(entries == [(["*"], "null")] for a, entries in role.items() if a in unscoped)


def test_remediation_role_assumes_root_only_for_the_audit_and_delete_tasks():
    [(resources, condition)] = grants(IAM / "remediation-role.json")["sts:AssumeRoot"]
    tasks = json.loads(condition)["StringEquals"]["sts:TaskPolicyArn"]
    assert resources == ["arn:aws:iam::*:root"]
    assert sorted(t.rsplit("/", 1)[1] for t in tasks) == [
        "IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials"]


def test_remediation_role_attaches_only_the_pack_tagged_scp():
    entries = grants(IAM / "remediation-role.json")["organizations:AttachPolicy"]
    policies = [(r, json.loads(c)) for r, c in entries if any(":policy/" in x for x in r)]
    assert policies == [(["arn:aws:organizations::*:policy/o-*/service_control_policy/p-*"],
                         {"StringEquals": {"aws:ResourceTag/rootguard:managed": "attach-root-scp"}})]
    targets = [r for r, c in entries if not any(":policy/" in x for x in r)]
    assert all(":policy/" not in x and x != "*" for r in targets for x in r)


def test_stackset_template_attaches_exactly_the_audit_policy_and_trusts_the_given_account():
    template = yaml.load((IAM / "stackset-audit-role.yml").read_text(), Loader=CfnLoader)
    role = template["Resources"]["AuditRole"]["Properties"]
    [inline] = role["Policies"]
    assert inline["PolicyDocument"] == json.loads((IAM / "audit-role.json").read_text())
    trust, member_functions = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert "${TrustedAccountId}" in trust["Principal"]["AWS"]["Sub"]
    assert "TrustedAccountId" in template["Parameters"]
    # only in the management account's stack, when OrganizationId is given: members' Lambda roles
    condition, statement, otherwise = member_functions["Fn::If"]
    assert condition == "TrustMemberFunctions" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    assert template["Parameters"]["OrganizationId"]["Default"] == ""


@pytest.mark.skipif(not Path(bench.tool("cfn-lint")).exists(),
                    reason="cfn-lint not installed (pip install cfn-lint)")
def test_stackset_template_passes_cfn_lint():
    lint = subprocess.run([bench.tool("cfn-lint"), str(IAM / "stackset-audit-role.yml")],
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt, !Equals) as {"Ref": ...} etc."""


def _short_form(loader, node, tag):
    if isinstance(node, yaml.SequenceNode):
        return {tag: loader.construct_sequence(node, deep=True)}
    return {tag: loader.construct_scalar(node)}


for _tag in ("Ref", "Sub", "GetAtt"):
    CfnLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _short_form(loader, node, tag))
for _tag in ("Equals", "If", "Not"):
    CfnLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _short_form(loader, node, f"Fn::{tag}"))


def test_root_usage_alarm_without_subscription_check_reads_the_topic_instead():
    # The topic must exist either way: ListSubscriptionsByTopic answers NotFound, or GetTopicAttributes does.
    def perms(options):
        policy = load({"name": "p", "resource": "aws.account", "filters": [{"type": "root-usage-alarm", **options}]})
        return {p for f in all_filters(policy.resource_manager.filters) for p in f.get_permissions()}
    assert "sns:ListSubscriptionsByTopic" in perms({}) and "sns:GetTopicAttributes" not in perms({})
    unchecked = perms({"require-confirmed-subscription": False})
    assert "sns:GetTopicAttributes" in unchecked and "sns:ListSubscriptionsByTopic" not in unchecked
