"""set-alternate-contact on aws.account: writes what is unset or differs, once, each write recorded;
dryrun records the planned writes; placeholders are refused; errors stay per account (moto)."""
import json

import pytest
from c7n.config import Config
from c7n.policy import Policy
from placebo.pill import FakeHttpResponse

from contacts_support import ACCOUNT
from rootguard_filters.plumbing import evidence

SECURITY = {"name": "Security Team", "title": "Lead", "email": "security@acme-corp.io",
            "phone": "+1 206 555 0100"}
OPERATIONS = {"name": "Ops Team", "title": "Lead", "email": "ops@acme-corp.io", "phone": "+1 206 555 0101"}


def set_contacts_policy(**contacts):
    return {"name": "set-contacts", "resource": "aws.account",
            "filters": [{"type": "alternate-contacts", "required": ["SECURITY", "OPERATIONS"]}],
            "actions": [{"type": "set-alternate-contact", "contacts": contacts}]}


def records(resource):
    return [(r["result"], r["target"]) for r in resource["c7n:rootguard-actions"]
            if r["action"] == "set-alternate-contact"]


def test_action_sets_missing_contacts_and_records_each_write(moto_session, run_policy):
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS), moto_session)
    assert records(account) == [("done", "SECURITY"), ("done", "OPERATIONS")]
    calls = {r["call"] for r in account["c7n:rootguard-actions"]}
    assert calls == {"account:PutAlternateContact(SECURITY)", "account:PutAlternateContact(OPERATIONS)"}
    assert all(r["account"] == ACCOUNT for r in account["c7n:rootguard-actions"])
    stored = moto_session.client("account").get_alternate_contact(
        AlternateContactType="OPERATIONS")["AlternateContact"]
    assert (stored["Name"], stored["Title"], stored["EmailAddress"], stored["PhoneNumber"]) == (
        "Ops Team", "Lead", "ops@acme-corp.io", "+1 206 555 0101")


def test_second_run_writes_nothing(moto_session, run_policy, api_calls):
    policy = set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS)
    calls = api_calls(moto_session)
    run_policy(policy, moto_session)
    evidence.reset()                       # a new run reads AWS again
    assert run_policy(policy, moto_session) == []
    assert len(calls.named("PutAlternateContact")) == 2


def test_only_the_missing_contact_is_written_and_a_valid_one_is_kept(moto_session, run_policy, api_calls):
    client = moto_session.client("account")
    client.put_alternate_contact(AlternateContactType="SECURITY", Name="Security Team", Title="Lead",
                                 EmailAddress="SECURITY@acme-corp.io", PhoneNumber="+1 206 555 0100")
    calls = api_calls(moto_session)
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS), moto_session)
    assert records(account) == [("unchanged", "SECURITY"), ("done", "OPERATIONS")]
    assert [p["AlternateContactType"] for p in calls.named("PutAlternateContact")] == ["OPERATIONS"]


def test_dryrun_run_records_the_planned_writes_without_writing(moto_session, run_policy, api_calls, tmp_path):
    calls = api_calls(moto_session)
    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY), moto_session, dryrun=True)
    assert calls.named("PutAlternateContact") == []
    assert records(account) == [("planned", "SECURITY")]
    (action_file,) = (tmp_path / "set-contacts").rglob("action-*")
    assert [(r["result"], r["call"]) for r in json.loads(action_file.read_text())] == [
        ("planned", "account:PutAlternateContact(SECURITY)")]


def test_action_called_directly_under_dryrun_reports_without_writing(moto_session, api_calls, tmp_path):
    calls = api_calls(moto_session)
    config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path), dryrun=True)
    policy = Policy(set_contacts_policy(SECURITY=SECURITY), config, session_factory=lambda *a, **k: moto_session)
    [action] = policy.resource_manager.actions
    resource = {"account_id": ACCOUNT}
    returned = action.process([resource])
    assert records(resource) == [("planned", "SECURITY")]
    assert returned == resource["c7n:rootguard-actions"]
    assert calls.named("PutAlternateContact") == []


@pytest.mark.parametrize("email", ["security@example.com", "sec@mail.example.org", "x@corp.invalid"])
def test_placeholder_addresses_are_refused_at_validate(email):
    from c7n.exceptions import PolicyValidationError
    policy = Policy(set_contacts_policy(SECURITY={**SECURITY, "email": email}),
                    Config.empty(account_id=ACCOUNT, region="us-east-1"))
    with pytest.raises(PolicyValidationError, match="placeholder"):
        policy.validate()


def test_unexpanded_policy_variables_are_never_written(moto_session, run_policy, api_calls):
    calls = api_calls(moto_session)
    [account] = run_policy(set_contacts_policy(SECURITY={**SECURITY, "email": "{security_email}"}),
                           moto_session)
    assert calls.named("PutAlternateContact") == []
    [(result, detail)] = [(r["result"], r["detail"]) for r in account["c7n:rootguard-actions"]]
    assert result == "skipped" and "contacts.SECURITY.email" in detail


@pytest.mark.parametrize("failing", ["SECURITY", "OPERATIONS"])
@pytest.mark.parametrize("operation", ["GetAlternateContact", "PutAlternateContact"])
def test_a_failing_contact_call_is_recorded_and_the_other_types_still_written(
        moto_session, run_policy, operation, failing):
    failed = []
    other = "OPERATIONS" if failing == "SECURITY" else "SECURITY"

    def respond(params, **_):
        if f'"{failing}"'.encode() in (params.get("body") or b""):
            failed.append(operation)
            return FakeHttpResponse(403), {"Error": {"Code": "AccessDeniedException", "Message": "injected"},
                                           "ResponseMetadata": {"HTTPStatusCode": 403}}
        return None
    moto_session.events.register(f"before-call.account.{operation}", respond)

    [account] = run_policy(set_contacts_policy(SECURITY=SECURITY, OPERATIONS=OPERATIONS), moto_session)

    assert failed
    assert sorted(records(account)) == sorted([("failed", failing), ("done", other)])
    # Posture matches the records: the other type is set, the failing one is still unset.
    client = moto_session.client("account")
    wanted = {"SECURITY": SECURITY, "OPERATIONS": OPERATIONS}
    assert client.get_alternate_contact(AlternateContactType=other)["AlternateContact"]["EmailAddress"] \
        == wanted[other]["email"]
    moto_session.events.unregister(f"before-call.account.{operation}", respond)
    client = moto_session.client("account")      # clients copy the session's handlers when made
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_alternate_contact(AlternateContactType=failing)
