"""The pure alternate-contacts verdict: set, missing, duplicated, unknown."""
from rootguard_filters.decide.contacts import (
    ContactsEvidence, decide_alternate_contacts, duplicate_emails, types_to_read)
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT


def contact(contact_type, email):
    return {"AlternateContactType": contact_type, "Name": "Team", "Title": "Lead",
            "EmailAddress": email, "PhoneNumber": "+1 206 555 0100"}


SEC = contact("SECURITY", "security@example.com")
OPS = contact("OPERATIONS", "ops@example.com")
BILL = contact("BILLING", "billing@example.com")
DENIED = "account:GetAlternateContact(OPERATIONS) failed: AccessDeniedException: not authorized"


def test_default_options_read_only_security_and_operations():
    assert types_to_read(["SECURITY", "OPERATIONS"], distinct_emails=False) == ("SECURITY", "OPERATIONS")


def test_distinct_emails_reads_every_type_because_duplicates_can_hide_in_billing():
    assert types_to_read(["SECURITY"], distinct_emails=True) == ("SECURITY", "OPERATIONS", "BILLING")


def test_required_contacts_set_is_compliant_and_lists_their_emails():
    verdict = decide_alternate_contacts(ContactsEvidence({"SECURITY": SEC, "OPERATIONS": OPS}))
    assert verdict.status == COMPLIANT
    assert verdict.details["set"] == {"SECURITY": "security@example.com", "OPERATIONS": "ops@example.com"}
    assert verdict.details["missing"] == []


def test_one_required_contact_unset_is_non_compliant_naming_it():
    verdict = decide_alternate_contacts(ContactsEvidence({"SECURITY": SEC, "OPERATIONS": None}))
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["missing"] == ["OPERATIONS"]
    assert "OPERATIONS alternate contact not set" in verdict.reason


def test_billing_required_and_unset_is_non_compliant():
    verdict = decide_alternate_contacts(
        ContactsEvidence({"SECURITY": SEC, "OPERATIONS": OPS, "BILLING": None}),
        required=["SECURITY", "OPERATIONS", "BILLING"])
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["missing"] == ["BILLING"]


def test_duplicate_emails_compare_case_insensitively():
    shared = contact("BILLING", " Security@Example.COM ")
    assert duplicate_emails({"SECURITY": SEC, "OPERATIONS": OPS, "BILLING": shared}) == [
        {"email": "security@example.com", "types": ["SECURITY", "BILLING"]}]


def test_shared_mailbox_is_non_compliant_only_when_distinct_emails_is_asked():
    same = ContactsEvidence({"SECURITY": SEC, "OPERATIONS": contact("OPERATIONS", "security@example.com"),
                             "BILLING": BILL})
    assert decide_alternate_contacts(same).status == COMPLIANT
    verdict = decide_alternate_contacts(same, distinct_emails=True)
    assert verdict.status == NON_COMPLIANT
    assert "SECURITY and OPERATIONS contacts share the email security@example.com" in verdict.reason


def test_failed_read_is_could_not_evaluate_never_compliant():
    verdict = decide_alternate_contacts(ContactsEvidence({"SECURITY": SEC}, {"OPERATIONS": DENIED}))
    assert verdict.status == COULD_NOT_EVALUATE
    assert verdict.reason == DENIED
    assert verdict.details["errors"] == [DENIED]


def test_a_definite_missing_contact_outweighs_a_failed_read_and_keeps_the_error():
    verdict = decide_alternate_contacts(ContactsEvidence({"SECURITY": None}, {"OPERATIONS": DENIED}))
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["missing"] == ["SECURITY"]
    assert verdict.details["errors"] == [DENIED]


def test_missing_contact_information_is_non_compliant_when_asked():
    evidence = ContactsEvidence({"SECURITY": SEC, "OPERATIONS": OPS}, contact_information=None)
    verdict = decide_alternate_contacts(evidence, contact_information=True)
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["contact_information"] == "missing"


def test_unreadable_contact_information_is_could_not_evaluate():
    error = "account:GetContactInformation failed: AccessDeniedException: no"
    evidence = ContactsEvidence({"SECURITY": SEC, "OPERATIONS": OPS}, contact_information_error=error)
    verdict = decide_alternate_contacts(evidence, contact_information=True)
    assert verdict.status == COULD_NOT_EVALUATE
    assert "contact_information" not in verdict.details
    assert error in verdict.reason
