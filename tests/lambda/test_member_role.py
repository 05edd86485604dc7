"""rootguard-periodic with member-role: an event from a member account is judged on the member's evidence."""
import json

import pytest

from lambda_support import MANAGEMENT_ACCOUNT, build_archive, envelope, invoke, lambda_env, scheduled_event

HANDLER = "rootguard_filters.lambda_handler.run"
MEMBER = "210987654321"
MEMBER_ROLE = "arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"


def policy(member_role):
    mode = {"type": "rootguard-periodic", "role": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/rootguard-lambda",
            "function-prefix": "", "packages": ["rootguard_filters"], "handler": HANDLER,
            "pattern": {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"userIdentity": {"type": ["Root"]}}}}
    if member_role:
        mode["member-role"] = member_role
    return {"name": "rootguard-member-check", "resource": "aws.account", "mode": mode,
            "filters": [{"type": "root-mfa", "states": ["none"]}]}


def member_event():
    event = envelope("eventbridge-api-call-envelope.json")
    event["account"] = MEMBER
    event["detail"]["recipientAccountId"] = MEMBER
    event["detail"]["userIdentity"].update({"accountId": MEMBER, "arn": f"arn:aws:iam::{MEMBER}:root"})
    return event


@pytest.fixture
def postures(sandbox):
    sandbox.reset_calls()
    # the management account's root is fine, the member's has a password and no MFA
    sandbox.update_root_facts(MANAGEMENT_ACCOUNT, password_present=True, mfa_devices=["hardware"], access_keys=[])
    sandbox.update_root_facts(MEMBER, password_present=True, mfa_devices=[], access_keys=[])


@pytest.mark.parametrize("member_role, trigger, judged, status", [
    (MEMBER_ROLE, member_event, MEMBER, "non-compliant"),
    (None, member_event, MANAGEMENT_ACCOUNT, "compliant"),  # without member-role: the function's own account
    (MEMBER_ROLE, lambda: scheduled_event("rootguard-member-check"), MANAGEMENT_ACCOUNT, "compliant"),
])
def test_the_member_named_by_the_event_is_audited_through_member_role(
        sandbox, postures, lambda_runtime, tmp_path, member_role, trigger, judged, status):
    _, path = build_archive(policy(member_role), tmp_path / "archive", tmp_path / "out")
    result = invoke(path, lambda_runtime, HANDLER, trigger(), lambda_env(sandbox.endpoint_url, tmp_path))
    assert result.returncode == 0, result.stderr
    verdicts = json.loads((tmp_path / "out" / "rootguard-member-check" / "rootguard-verdicts.json").read_text())
    assert {account: v["root-mfa"]["status"] for account, v in verdicts["verdicts"].items()} == {judged: status}
    iam_accounts = {account for (account, service, _) in sandbox.calls() if service == "iam"}
    assert iam_accounts == {judged}  # every IAM read went to the judged account
    assumed = sandbox.calls()[(MANAGEMENT_ACCOUNT, "sts", "AssumeRole")]
    assert (assumed > 0) == (judged == MEMBER)
