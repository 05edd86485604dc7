"""Account recovery contacts and the ``alternate-contacts`` verdict (pure: API data in, Verdict out).

AWS reaches an account's SECURITY, OPERATIONS and BILLING alternate contacts (``GetAlternateContact``)
and its primary contact information (``GetContactInformation``) when something goes wrong or the
root email is lost. Each is either set (the API's structure), unset (``ResourceNotFoundException``)
or unknown (any other error).

Findings combine three-valued: one definite finding (a required contact missing, two contacts
sharing a mailbox, no contact information) makes the account non-compliant even when another read
failed; otherwise any failed read makes it could-not-evaluate; only when every read worked and
nothing is wrong is it compliant.
"""
from dataclasses import dataclass, field

from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

CONTACT_TYPES = ("SECURITY", "OPERATIONS", "BILLING")
DEFAULT_REQUIRED = ("SECURITY", "OPERATIONS")


@dataclass(frozen=True)
class ContactsEvidence:
    """What the reads returned for one account.

    ``contacts`` maps each contact type read successfully to its ``AlternateContact`` structure,
    or None when unset; ``contact_errors`` maps a type whose read failed to the error (which names
    the call). ``contact_information`` is the ``GetContactInformation`` response (None when missing
    or not read) and ``contact_information_error`` the error of that read.
    """

    contacts: dict = field(default_factory=dict)
    contact_errors: dict = field(default_factory=dict)
    contact_information: dict = None
    contact_information_error: str = None

    @property
    def errors(self):
        return [*self.contact_errors.values(), *filter(None, [self.contact_information_error])]


def types_to_read(required, distinct_emails):
    """Contact types the options need: duplicates can hide in any type, so distinct-emails reads all."""
    wanted = set(CONTACT_TYPES) if distinct_emails else set(required)
    return tuple(t for t in CONTACT_TYPES if t in wanted)


def duplicate_emails(contacts):
    """``[{email, types}]`` for mailboxes shared by several set contacts (case-insensitive)."""
    by_email = {}
    for contact_type in CONTACT_TYPES:
        email = (contacts.get(contact_type) or {}).get("EmailAddress")
        if email:
            by_email.setdefault(email.strip().casefold(), []).append(contact_type)
    return [{"email": email, "types": types} for email, types in by_email.items() if len(types) > 1]


def _plural(words, noun):
    return f"{', '.join(words)} {noun}{'s' if len(words) > 1 else ''}"


def decide_alternate_contacts(evidence, required=DEFAULT_REQUIRED, distinct_emails=False,
                              contact_information=False, account_id=None):
    """Verdict of the ``alternate-contacts`` filter for one account.

    ``required`` lists the contact types that must be set; ``distinct_emails`` asks that no two set
    contacts share an email address; ``contact_information`` that the account's primary contact
    information exists. The details list what is set (type -> email), missing and duplicated.
    """
    missing = [t for t in required if t in evidence.contacts and not evidence.contacts[t]]
    details = {
        "account_id": account_id,
        "required": list(required),
        "set": {t: c.get("EmailAddress") for t, c in evidence.contacts.items() if c},
        "missing": missing,
    }
    findings = [_plural(missing, "alternate contact") + " not set"] if missing else []
    if distinct_emails:
        duplicates = duplicate_emails(evidence.contacts)
        details["duplicate_emails"] = duplicates
        findings.extend(f"{' and '.join(d['types'])} contacts share the email {d['email']}"
                        for d in duplicates)
    if contact_information and not evidence.contact_information_error:
        present = bool((evidence.contact_information or {}).get("ContactInformation"))
        details["contact_information"] = "present" if present else "missing"
        if not present:
            findings.append("account contact information is missing")
    errors = evidence.errors
    if errors:
        details["errors"] = errors

    if findings:
        return non_compliant("; ".join(findings), **details)
    if errors:
        return could_not_evaluate("; ".join(errors), **details)
    passed = [f"required alternate contacts set ({', '.join(required) or 'none required'})"]
    if distinct_emails:
        passed.append("no two contacts share an email")
    if contact_information:
        passed.append("contact information present")
    return compliant("; ".join(passed), **details)
