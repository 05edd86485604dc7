"""The alternate-contacts filter on aws.account, end to end (moto; placebo where moto has no API)."""
from contacts_support import contacts_policy, put_contact, verdict_of


def test_account_with_security_and_operations_set_is_not_flagged(moto_session, run_policy, api_calls):
    put_contact(moto_session, "SECURITY", "security@example.com")
    put_contact(moto_session, "OPERATIONS", "ops@example.com")
    calls = api_calls(moto_session)
    assert run_policy(contacts_policy(), moto_session) == []
    # Only what the default options need: no BILLING read, no contact information.
    assert [p["AlternateContactType"] for p in calls.named("GetAlternateContact")] == ["SECURITY", "OPERATIONS"]
    assert calls.named("GetContactInformation") == []


def test_account_missing_operations_contact_is_flagged_with_what_is_set(moto_session, run_policy):
    put_contact(moto_session, "SECURITY", "security@example.com")
    [account] = run_policy(contacts_policy(), moto_session)
    verdict = verdict_of(account)
    assert verdict["status"] == "non-compliant"
    assert verdict["details"]["set"] == {"SECURITY": "security@example.com"}
    assert verdict["details"]["missing"] == ["OPERATIONS"]


def test_billing_required_flags_an_account_without_billing_contact(moto_session, run_policy):
    put_contact(moto_session, "SECURITY", "security@example.com")
    put_contact(moto_session, "OPERATIONS", "ops@example.com")
    assert run_policy(contacts_policy(), moto_session) == []
    [account] = run_policy(contacts_policy(required=["SECURITY", "OPERATIONS", "BILLING"]), moto_session)
    assert verdict_of(account)["details"]["missing"] == ["BILLING"]


def test_duplicate_emails_flag_the_account(moto_session, run_policy):
    put_contact(moto_session, "SECURITY", "cloud@example.com")
    put_contact(moto_session, "OPERATIONS", "ops@example.com")
    put_contact(moto_session, "BILLING", "CLOUD@example.com")
    [account] = run_policy(contacts_policy(**{"distinct-emails": True}), moto_session)
    verdict = verdict_of(account)
    assert verdict["status"] == "non-compliant"
    assert verdict["details"]["duplicate_emails"] == [
        {"email": "cloud@example.com", "types": ["SECURITY", "BILLING"]}]


def test_each_contact_is_read_once_per_account_however_many_policies_ask(moto_session, run_policy, api_calls):
    put_contact(moto_session, "SECURITY", "security@example.com")
    calls = api_calls(moto_session)
    run_policy(contacts_policy(), moto_session)
    run_policy({**contacts_policy(**{"distinct-emails": True}), "name": "second"}, moto_session)
    assert sorted(p["AlternateContactType"] for p in calls.named("GetAlternateContact")) == [
        "BILLING", "OPERATIONS", "SECURITY"]


def test_missing_contact_information_flags_the_account(flight, run_policy, api_calls):
    session = flight("contact-information-missing")
    calls = api_calls(session)
    [account] = run_policy(contacts_policy(**{"contact-information": True}), session)
    verdict = verdict_of(account)
    assert verdict["status"] == "non-compliant"
    assert verdict["reason"] == "account contact information is missing"
    assert len(calls.named("GetContactInformation")) == 1


def test_present_contact_information_passes(flight, run_policy):
    session = flight("contact-information-present")
    assert run_policy(contacts_policy(**{"contact-information": True}), session) == []


def test_contact_information_response_without_its_member_is_unreadable_not_missing(flight, run_policy):
    [account] = run_policy(contacts_policy(**{"contact-information": True}), flight("contact-information-unreadable"))
    verdict = verdict_of(account)
    assert verdict["status"] == "could-not-evaluate"
    assert "GetContactInformation" in verdict["reason"] and "unreadable" in verdict["reason"]


def test_access_denied_is_could_not_evaluate_naming_the_call(flight, run_policy):
    [account] = run_policy(contacts_policy(), flight("access-denied"))
    verdict = verdict_of(account)
    assert verdict["status"] == "could-not-evaluate"
    assert "account:GetAlternateContact(SECURITY) failed: AccessDeniedException" in verdict["reason"]
    assert "account:GetAlternateContact(OPERATIONS) failed: AccessDeniedException" in verdict["reason"]


def test_persistent_throttling_is_could_not_evaluate_after_retrying(flight, run_policy, api_calls, sleeps):
    session = flight("throttled")
    calls = api_calls(session)
    [account] = run_policy(contacts_policy(required=["SECURITY"]), session)
    verdict = verdict_of(account)
    assert verdict["status"] == "could-not-evaluate"
    assert "account:GetAlternateContact(SECURITY) failed: TooManyRequestsException" in verdict["reason"]
    assert len(calls.named("GetAlternateContact")) == 5      # evidence.retry's attempts
    assert len(sleeps) == 4
