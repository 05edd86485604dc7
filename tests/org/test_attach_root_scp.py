"""attach-root-scp against a moto organization: create, reuse by content, targets, idempotence, dryrun."""
import json

import pytest

from org_helpers import (
    MANAGEMENT, CallCounter, MotoOrg, new_run, run_policy, validation_errors)
from rootguard_filters.decide.scp_plan import reference_deny_root_scp

WRITES = ("CreatePolicy", "AttachPolicy", "EnablePolicyType", "DetachPolicy", "UpdatePolicy",
          "DeletePolicy")
FILTERS = [{"type": "root-scp"}]


def attach(session, out, dryrun=False, **options):
    """One run of the remediation policy; (flagged resources, writes made)."""
    new_run()
    counter = CallCounter(session)
    flagged, _ = run_policy(session, out, FILTERS, [{"type": "attach-root-scp", **options}],
                            dryrun=dryrun)
    return flagged, {op: n for op, n in counter.calls.items() if op in WRITES}


def results(resource):
    return [(r["result"], r.get("target")) for r in resource.get("c7n:rootguard-actions", [])]


def write_results(resource):
    """(call, result, target) of each write record."""
    return [(r["call"], r["result"], r["target"]) for r in resource.get("c7n:rootguard-actions", [])
            if r["call"]]


def still_flagged(session, out):
    new_run()
    flagged, _ = run_policy(session, out, FILTERS, name="recheck")
    return {r["Id"] for r in flagged}


def test_creates_the_reference_scp_attaches_it_at_the_root_and_covers_every_member(
        session, org, tmp_path):
    members = {org.account("a"), org.account("b", parent=org.ou("Workloads"))}

    flagged, writes = attach(session, tmp_path / "run")

    assert writes == {"CreatePolicy": 1, "AttachPolicy": 1}
    created = org.scps()["rootguard-deny-root-user"]
    assert org.targets(created) == {org.root}
    content = json.loads(org.client.describe_policy(PolicyId=created)["Policy"]["Content"])
    assert content == json.loads(reference_deny_root_scp())
    for resource in flagged:
        assert write_results(resource) == [
            ("organizations:CreatePolicy", "done", "rootguard-deny-root-user"),
            ("organizations:AttachPolicy", "done", org.root)]
    assert still_flagged(session, tmp_path / "check") == set()
    assert {r["Id"] for r in flagged} == members


def test_second_run_writes_nothing(session, org, tmp_path):
    org.account("a")
    attach(session, tmp_path / "first")

    flagged, writes = attach(session, tmp_path / "second")

    assert writes == {}
    assert flagged == []     # the filter no longer selects covered accounts, so the action has no work


def test_second_run_on_already_covered_accounts_records_them_without_writing(session, org, tmp_path):
    account = org.account("a")
    attach(session, tmp_path / "first")
    new_run()
    counter = CallCounter(session)

    every_account, _ = run_policy(session, tmp_path / "again", [], [{"type": "attach-root-scp"}])

    assert not any(op in WRITES for op in counter.calls)
    by_id = {r["Id"]: r for r in every_account}
    assert results(by_id[account]) == [("skipped", None)]
    assert "already covered" in by_id[account]["c7n:rootguard-actions"][0]["detail"]
    assert "management account" in by_id[MANAGEMENT]["c7n:rootguard-actions"][0]["detail"]


def test_existing_scp_with_covering_content_is_reused_whatever_its_name(session, org, tmp_path):
    account = org.account("a")
    statement = {"Sid": "NoRoot", "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                 "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}}}
    existing = org.scp("security-baseline-v7", {"Version": "2012-10-17", "Statement": [statement]})

    flagged, writes = attach(session, tmp_path)

    assert writes == {"AttachPolicy": 1}
    assert "rootguard-deny-root-user" not in org.scps()
    assert org.targets(existing) == {org.root}
    assert flagged[0]["Id"] == account
    (attached,) = [r for r in flagged[0]["c7n:rootguard-actions"] if r["call"]]
    assert (attached["call"], attached["result"], attached["policy"]) == (
        "organizations:AttachPolicy", "done", existing)


def test_dryrun_run_writes_nothing(session, org, tmp_path):
    account = org.account("a")

    flagged, writes = attach(session, tmp_path, dryrun=True)

    assert writes == {}
    assert [r["Id"] for r in flagged] == [account]
    assert set(org.scps()) == {"FullAWSAccess"}


def test_dryrun_config_reaching_the_action_only_reports_what_it_would_do(session, tmp_path):
    org = MotoOrg(session, enable_scp=False)
    account = org.account("a")
    new_run()
    flagged, _ = run_policy(session, tmp_path / "list", FILTERS)
    counter = CallCounter(session)
    from c7n.config import Config
    from c7n.policy import Policy
    policy = Policy({"name": "dry", "resource": "aws.org-account",
                     "actions": [{"type": "attach-root-scp", "enable-policy-type": True}]},
                    Config.empty(account_id=MANAGEMENT, region="us-east-1",
                                 output_dir=str(tmp_path), dryrun=True),
                    session_factory=lambda *a, **k: session)

    policy.resource_manager.actions[0].process(flagged)

    assert not any(op in WRITES for op in counter.calls)
    assert [(c, r) for c, r, _ in write_results(flagged[0])] == [
        ("organizations:EnablePolicyType", "planned"), ("organizations:CreatePolicy", "planned"),
        ("organizations:AttachPolicy", "planned")]
    assert flagged[0]["Id"] == account


@pytest.mark.parametrize("target", ["ou", "account"])
def test_target_attaches_to_the_accounts_parent_ou_or_the_account(session, org, target, tmp_path):
    ou = org.ou("Workloads")
    account = org.account("a", parent=ou)

    attach(session, tmp_path / "run", target=target)

    created = org.scps()["rootguard-deny-root-user"]
    assert org.targets(created) == {ou if target == "ou" else account}
    assert still_flagged(session, tmp_path / "check") == set()


def test_disabled_policy_type_is_left_alone_unless_enabling_is_asked_for(session, tmp_path):
    org = MotoOrg(session, enable_scp=False)
    org.account("a")

    flagged, writes = attach(session, tmp_path / "off")
    assert writes == {}
    assert "enable-policy-type" in flagged[0]["c7n:rootguard-actions"][0]["detail"]

    flagged, writes = attach(session, tmp_path / "on", **{"enable-policy-type": True})
    assert writes == {"EnablePolicyType": 1, "CreatePolicy": 1, "AttachPolicy": 1}
    assert still_flagged(session, tmp_path / "check") == set()


def test_other_policies_are_never_detached_or_edited(session, org, tmp_path):
    account = org.account("a")
    other = org.scp("deny-leaving", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}, account)
    before = org.client.describe_policy(PolicyId=other)["Policy"]

    _, writes = attach(session, tmp_path)

    assert set(writes) == {"CreatePolicy", "AttachPolicy"}
    assert org.client.describe_policy(PolicyId=other)["Policy"] == before
    assert org.targets(other) == {account}
    assert org.targets("p-FullAWSAccess") >= {org.root, account}


def test_invalid_target_is_rejected_by_validation():
    errors = validation_errors("aws.org-account", {"type": "attach-root-scp", "target": "galaxy"},
                               kind="actions")
    assert "galaxy" in errors
