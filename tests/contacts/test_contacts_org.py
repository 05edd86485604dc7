"""alternate-contacts and set-alternate-contact on aws.org-account, from the management account (moto)."""
import pytest

from contacts_support import ACCOUNT, contacts_policy, put_contact, verdict_of

CONTACTS = {
    "SECURITY": {"name": "Security Team", "title": "Lead", "email": "security@acme-corp.io",
                 "phone": "+1 206 555 0100"},
    "OPERATIONS": {"name": "Ops Team", "title": "Lead", "email": "ops@acme-corp.io",
                   "phone": "+1 206 555 0101"},
}


@pytest.fixture
def member(moto_session):
    """A member account of an organization whose management account is the caller."""
    org = moto_session.client("organizations")
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="workload", Email="workload@example.com")["CreateAccountStatus"]
    return status["AccountId"]


def by_id(resources):
    return {r["Id"]: r for r in resources}


def test_member_is_read_with_account_id_and_management_without(moto_session, member, run_policy, api_calls):
    put_contact(moto_session, "SECURITY", "security@example.com")
    put_contact(moto_session, "OPERATIONS", "ops@example.com")
    put_contact(moto_session, "SECURITY", "member-security@example.com", account_id=member)
    calls = api_calls(moto_session)

    flagged = by_id(run_policy(contacts_policy("aws.org-account"), moto_session))

    assert set(flagged) == {member}
    verdict = verdict_of(flagged[member])
    assert verdict["details"]["account_id"] == member
    assert verdict["details"]["set"] == {"SECURITY": "member-security@example.com"}
    assert verdict["details"]["missing"] == ["OPERATIONS"]
    reads = calls.named("GetAlternateContact")
    assert {p.get("AccountId") for p in reads} == {member, None}
    assert ACCOUNT not in {p.get("AccountId") for p in reads}   # AWS rejects naming yourself


def test_org_action_sets_member_contacts_then_writes_nothing(moto_session, member, run_policy, api_calls):
    put_contact(moto_session, "SECURITY", "security@acme-corp.io")
    put_contact(moto_session, "OPERATIONS", "ops@acme-corp.io")
    policy = {**contacts_policy("aws.org-account"),
              "actions": [{"type": "set-alternate-contact", "contacts": CONTACTS}]}
    calls = api_calls(moto_session)

    [resource] = run_policy(policy, moto_session)
    written = [(r["account"], r["target"]) for r in resource["c7n:rootguard-actions"] if r["result"] == "done"]
    assert written == [(member, "SECURITY"), (member, "OPERATIONS")]
    assert [p.get("AccountId") for p in calls.named("PutAlternateContact")] == [member, member]
    member_security = moto_session.client("account").get_alternate_contact(
        AlternateContactType="SECURITY", AccountId=member)["AlternateContact"]
    assert member_security["EmailAddress"] == "security@acme-corp.io"


@pytest.mark.parametrize("status", ["SUSPENDED", "PENDING_CLOSURE"])
def test_inactive_member_is_not_applicable_without_any_call(status):
    from c7n.config import Config
    from c7n.policy import Policy
    policy = Policy(contacts_policy("aws.org-account"), Config.empty(account_id=ACCOUNT, region="us-east-1"),
                    session_factory=lambda *a, **k: pytest.fail("no AWS call for an inactive account"))
    (contacts_filter,) = policy.resource_manager.filters
    verdict = contacts_filter.verdict({"Id": "210987654321", "Name": "gone", "Status": status})
    assert verdict.status == "not-applicable" and status in verdict.reason


def test_a_timeout_on_one_member_is_recorded_and_the_other_members_are_still_written(
        moto_session, member, run_policy):
    org = moto_session.client("organizations")
    second = org.create_account(AccountName="second", Email="second@acme-corp.io")["CreateAccountStatus"]["AccountId"]
    from botocore.exceptions import ReadTimeoutError

    def time_out(params, **_):
        if member.encode() in (params.get("body") or b""):
            raise ReadTimeoutError(endpoint_url="https://account.us-east-1.amazonaws.com")
        return None
    moto_session.events.register("before-call.account.PutAlternateContact", time_out)
    policy = {**contacts_policy("aws.org-account"),
              "actions": [{"type": "set-alternate-contact", "contacts": CONTACTS}]}

    resources = by_id(run_policy(policy, moto_session))

    failed = [r for r in resources[member]["c7n:rootguard-actions"] if r["result"] == "failed"]
    assert {r["target"] for r in failed} == {"SECURITY", "OPERATIONS"}
    assert all("ReadTimeoutError" in r["detail"] for r in failed)
    assert [r["result"] for r in resources[second]["c7n:rootguard-actions"]] == ["done", "done"]
    assert moto_session.client("account").get_alternate_contact(
        AlternateContactType="SECURITY", AccountId=second)["AlternateContact"]["EmailAddress"] == \
        "security@acme-corp.io"


@pytest.mark.parametrize("status", ["SUSPENDED", "PENDING_CLOSURE"])
def test_action_skips_inactive_members_without_any_call(status, tmp_path):
    from c7n.config import Config
    from c7n.policy import Policy
    policy = Policy({**contacts_policy("aws.org-account"),
                     "actions": [{"type": "set-alternate-contact", "contacts": CONTACTS}]},
                    Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path)),
                    session_factory=lambda *a, **k: pytest.fail("no AWS call for an inactive account"))
    (action,) = policy.resource_manager.actions
    resource = {"Id": "210987654321", "Name": "gone", "Status": status}
    records = action.process([resource])
    assert [(r["result"], r["account"]) for r in records] == [("skipped", "210987654321")]
    assert status in records[0]["detail"]
