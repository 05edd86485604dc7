"""root-scp on aws.org-account against a moto organization: every shape of SCP coverage."""
import time

import pytest

from org_helpers import (
    MANAGEMENT, CallCounter, MotoOrg, answer_call, fail_call, new_run, run_policy,
    validation_errors)
from rootguard_filters.decide.scp_plan import reference_deny_root_scp

ROOT_SCP = [{"type": "root-scp"}]


def verdict_of(verdicts, account_id):
    return verdicts[account_id]["root-scp"]


def test_scp_attached_at_the_root_covers_every_member_and_names_itself(session, org, tmp_path):
    a, b = org.account("a"), org.account("b", parent=org.ou("Workloads"))
    policy = org.scp("deny-root", reference_deny_root_scp(), org.root)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert flagged == []
    for account in (a, b):
        verdict = verdict_of(verdicts, account)
        assert verdict["status"] == "compliant"
        assert verdict["details"]["covering_policy"]["id"] == policy
        assert verdict["details"]["attached_to"] == {"type": "root", "id": org.root, "name": None}
        assert "deny-root" in verdict["reason"] and "organization root" in verdict["reason"]


def test_scp_on_an_ancestor_ou_covers_only_accounts_below_it(session, org, tmp_path):
    top = org.ou("Workloads")
    inside = org.account("inside", parent=org.ou("Prod", parent=top))
    outside = org.account("outside", parent=org.ou("Sandbox"))
    org.scp("deny-root", reference_deny_root_scp(), top)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [outside]
    assert verdict_of(verdicts, inside)["details"]["attached_to"] == {
        "type": "ou", "id": top, "name": "Workloads"}
    assert verdict_of(verdicts, outside)["status"] == "non-compliant"


def test_scp_attached_to_the_account_itself_covers_it(session, org, tmp_path):
    covered, other = org.account("covered"), org.account("other")
    org.scp("deny-root", reference_deny_root_scp(), covered)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [other]
    assert verdict_of(verdicts, covered)["details"]["attached_to"]["type"] == "account"


def test_covering_scp_that_is_not_attached_anywhere_does_not_count(session, org, tmp_path):
    account = org.account("a")
    org.scp("deny-root", reference_deny_root_scp())

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [account]
    verdict = verdict_of(verdicts, account)
    assert verdict["status"] == "non-compliant"
    assert "FullAWSAccess" in verdict["reason"]      # says what it checked instead


def test_disabled_scp_policy_type_means_no_scp_applies(session, tmp_path):
    org = MotoOrg(session, enable_scp=False)
    account = org.account("a")
    org.scp("deny-root", reference_deny_root_scp(), org.root)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [account]
    assert "SERVICE_CONTROL_POLICY policy type is not enabled" in verdict_of(verdicts, account)["reason"]


def test_malformed_scp_content_is_reported_not_crashed_on(session, org, tmp_path):
    account = org.account("a")
    broken = org.scp("half-written", '{"Statement": [', org.root)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [account]
    verdict = verdict_of(verdicts, account)
    assert verdict["status"] == "could-not-evaluate"
    assert broken in verdict["details"]["malformed"]
    assert "half-written" in verdict["reason"]


def test_management_and_suspended_accounts_are_not_applicable(session, org, tmp_path):
    suspended = org.account("closing")
    org.client.close_account(AccountId=suspended)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert flagged == []
    assert verdict_of(verdicts, MANAGEMENT)["status"] == "not-applicable"
    assert "management account" in verdict_of(verdicts, MANAGEMENT)["reason"]
    assert verdict_of(verdicts, suspended)["status"] == "not-applicable"
    assert "SUSPENDED" in verdict_of(verdicts, suspended)["reason"]


def test_actions_option_checks_only_the_listed_actions(session, org, tmp_path):
    account = org.account("a")
    deny_iam = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "iam:*", "Resource": "*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]}
    org.scp("deny-root-iam", deny_iam, org.root)

    flagged_all, _ = run_policy(session, tmp_path / "all", ROOT_SCP)
    new_run()
    flagged_iam, _ = run_policy(session, tmp_path / "iam",
                                [{"type": "root-scp", "actions": ["iam:CreateAccessKey"]}])

    assert [r["Id"] for r in flagged_all] == [account]
    assert flagged_iam == []


def test_failed_organizations_call_leaves_every_account_could_not_evaluate(session, org, tmp_path):
    accounts = {org.account("a"), org.account("b")}
    fail_call(session, "organizations", "ListTargetsForPolicy", "AccessDeniedException",
              "not authorized to perform organizations:ListTargetsForPolicy")

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert {r["Id"] for r in flagged} == accounts | {MANAGEMENT}
    for account in accounts | {MANAGEMENT}:
        verdict = verdict_of(verdicts, account)
        assert verdict["status"] == "could-not-evaluate"
        assert "organizations:ListTargetsForPolicy failed: AccessDeniedException" in verdict["reason"]


WALK_LISTS = {"ListPolicies": "Policies", "ListTargetsForPolicy": "Targets",
              "ListOrganizationalUnitsForParent": "OrganizationalUnits", "ListAccountsForParent": "Accounts"}


@pytest.mark.parametrize("operation", sorted(WALK_LISTS))
def test_walk_page_without_its_list_leaves_every_account_could_not_evaluate_naming_it(
        session, org, tmp_path, operation):
    accounts = {org.account("a", parent=org.ou("Workloads")), org.account("b")}
    org.scp("deny-root", reference_deny_root_scp(), org.root)
    answer_call(session, "organizations", operation, [(200, {})])   # without WALK_LISTS[operation]

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert {r["Id"] for r in flagged} == accounts | {MANAGEMENT}
    for account in accounts | {MANAGEMENT}:
        verdict = verdict_of(verdicts, account)
        assert verdict["status"] == "could-not-evaluate"
        assert f"organizations:{operation}: unreadable response: '{WALK_LISTS[operation]}'" in verdict["reason"]


@pytest.mark.parametrize("operation", sorted(WALK_LISTS))
def test_throttled_walk_page_is_retried_through(session, org, tmp_path, monkeypatch, operation):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    covered = org.account("a", parent=org.ou("Workloads"))
    org.scp("deny-root", reference_deny_root_scp(), org.root)
    throttled = (400, {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}})
    answer_call(session, "organizations", operation, [throttled, throttled])   # then moto answers

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert flagged == []
    assert verdict_of(verdicts, covered)["status"] == "compliant"


def test_organization_is_read_once_per_run_whatever_the_number_of_policies(session, org, tmp_path):
    for n in range(3):
        org.account(f"a{n}", parent=org.ou(f"ou{n}"))
    counter = CallCounter(session)

    run_policy(session, tmp_path, ROOT_SCP, name="first")
    after_first = dict(counter.calls)
    run_policy(session, tmp_path, [{"type": "root-scp", "actions": ["iam:*"]}], name="second")

    # the second policy only lists the accounts (c7n's resource query); the org is not walked again
    added = {op: n - after_first.get(op, 0) for op, n in counter.calls.items()
             if n != after_first.get(op, 0)}
    assert added == {"ListAccounts": 1}


def test_organization_walk_costs_policies_plus_ous_not_accounts(session, org, tmp_path):
    ous = [org.ou(f"leaf{n}", parent=org.ou(f"top{n}")) for n in range(3)]
    for n in range(30):
        org.account(f"a{n}", parent=ous[n % 3])
    org.scp("deny-root", reference_deny_root_scp(), ous[0])
    counter = CallCounter(session)

    run_policy(session, tmp_path, ROOT_SCP)

    calls = counter.calls
    assert calls["ListPolicies"] == 1
    assert calls["DescribePolicy"] == calls["ListTargetsForPolicy"] == 2     # FullAWSAccess + ours
    assert calls["ListOrganizationalUnitsForParent"] == 7                    # root + 6 OUs
    assert calls["ListAccountsForParent"] == 7                               # one page each (<= 20)
    assert "ListParents" not in calls and "ListPoliciesForTarget" not in calls


@pytest.mark.parametrize("option, bad", [("actions", []), ("actions", "*"), ("colour", "red")])
def test_invalid_options_are_rejected_naming_the_option(option, bad):
    errors = validation_errors("aws.org-account", {"type": "root-scp", option: bad})
    assert errors and (option in errors or repr(bad) in errors)


def test_stale_cached_resource_list_is_detected_and_logged_once_with_the_fix(session, org, tmp_path, caplog):
    """c7n's resource cache (default 15 minutes) can hand root-scp accounts that left the organization."""
    from c7n.config import Config
    from c7n.policy import Policy

    leaving, staying = org.account("leaving"), org.account("staying")
    org.scp("deny-root", reference_deny_root_scp(), org.root)

    def run(name):
        config = Config.empty(account_id=MANAGEMENT, region="us-east-1", output_dir=str(tmp_path / name),
                              cache=str(tmp_path / "c7n.cache"), cache_period=15)
        policy = Policy({"name": "root-scp-missing", "resource": "aws.org-account", "filters": ROOT_SCP},
                        config, session_factory=lambda *a, **k: session)
        policy.validate()
        return policy.run()

    assert run("first") == []
    session.client("organizations").remove_account_from_organization(AccountId=leaving)
    joined = org.account("joined")
    new_run()
    caplog.set_level("WARNING", logger="custodian.rootguard")
    flagged = run("second")        # c7n serves the cached list: leaving is in it, joined is not

    assert [r["Id"] for r in flagged] == [leaving]
    verdict = flagged[0]["c7n:rootguard"]["root-scp"]
    assert verdict["status"] == "could-not-evaluate"
    assert "stale" in verdict["reason"] and "--cache-period 0" in verdict["reason"]
    stale = [r.getMessage() for r in caplog.records if "STALE" in r.getMessage()]
    assert len(stale) == 1
    assert leaving in stale[0] and joined in stale[0] and staying not in stale[0]
    assert "--cache-period 0" in stale[0]
