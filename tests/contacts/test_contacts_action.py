"""set-alternate-contact on aws.account: writes what differs, once; dryrun writes nothing (moto)."""
from c7n.config import Config
from c7n.policy import Policy

from contacts_support import ACCOUNT
from rootguard_filters import evidence

SECURITY = {"name": "Security Team", "title": "Lead", "email": "security@example.com",
            "phone": "+1 206 555 0100"}
OPERATIONS = {"name": "Ops Team", "title": "Lead", "email": "ops@example.com", "phone": "+1 206 555 0101"}


def set_contacts_policy(**contacts):
    return {"name": "set-contacts", "resource": "aws.account",
            "filters": [{"type": "alternate-contacts", "required": ["SECURITY", "OPERATIONS"]}],
            "actions": [{"type": "set-alternate-contact", "contacts": contacts}]}


def test_action_sets_missing_contacts_and_reports_them(moto_session, run_policy):
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS), moto_session)
    report = account["c7n:rootguard-actions"]["set-alternate-contact"]
    assert report == {"account_id": ACCOUNT, "dryrun": False, "set": ["SECURITY", "OPERATIONS"],
                      "unchanged": [], "errors": {}}
    stored = moto_session.client("account").get_alternate_contact(
        AlternateContactType="OPERATIONS")["AlternateContact"]
    assert (stored["Name"], stored["Title"], stored["EmailAddress"], stored["PhoneNumber"]) == (
        "Ops Team", "Lead", "ops@example.com", "+1 206 555 0101")


def test_second_run_writes_nothing(moto_session, run_policy, api_calls):
    policy = set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS)
    calls = api_calls(moto_session)
    run_policy(policy, moto_session)
    evidence.reset()                       # a new run reads AWS again
    assert run_policy(policy, moto_session) == []
    assert len(calls.named("PutAlternateContact")) == 2


def test_only_the_differing_contact_is_written(moto_session, run_policy, api_calls):
    client = moto_session.client("account")
    client.put_alternate_contact(AlternateContactType="SECURITY", Name="Security Team", Title="Lead",
                                 EmailAddress="SECURITY@example.com", PhoneNumber="+1 206 555 0100")
    calls = api_calls(moto_session)
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS), moto_session)
    report = account["c7n:rootguard-actions"]["set-alternate-contact"]
    assert (report["set"], report["unchanged"]) == (["OPERATIONS"], ["SECURITY"])
    assert [p["AlternateContactType"] for p in calls.named("PutAlternateContact")] == ["OPERATIONS"]


def test_dryrun_run_writes_nothing(moto_session, run_policy, api_calls):
    calls = api_calls(moto_session)
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY), moto_session, dryrun=True)
    assert calls.named("PutAlternateContact") == []
    assert "c7n:rootguard-actions" not in account            # c7n skips actions on --dryrun


def test_action_called_directly_under_dryrun_reports_without_writing(moto_session, api_calls, tmp_path):
    calls = api_calls(moto_session)
    config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path), dryrun=True)
    policy = Policy(set_contacts_policy(SECURITY=SECURITY), config, session_factory=lambda *a, **k: moto_session)
    [action] = policy.resource_manager.actions
    resource = {"account_id": ACCOUNT}
    action.process([resource])
    report = resource["c7n:rootguard-actions"]["set-alternate-contact"]
    assert (report["dryrun"], report["set"]) == (True, ["SECURITY"])
    assert calls.named("PutAlternateContact") == []
