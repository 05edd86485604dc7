"""Root credential facts and the ``root-credentials`` verdict (pure: API data in, Verdict out).

Existence comes from ``GetAccountSummary`` (fresh, and counts inactive keys too); per-slot state and
last use come from the credential report's root row (up to four hours old, active keys only).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from rootguard_filters.logic.credential_report import parse_date, parse_flag, root_row
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

SUMMARY_FIELDS = {
    "password": "AccountPasswordPresent",
    "access-keys": "AccountAccessKeysPresent",
    "signing-certificates": "AccountSigningCertificatesPresent",
    "mfa": "AccountMFAEnabled",
}

# Options of the root-credentials filter, in the order reasons list them.
CONDITIONS = ("password", "access-keys", "active-access-keys", "signing-certificates",
              "active-signing-certificates", "used-within-days")
REPORT_CONDITIONS = frozenset({"active-access-keys", "active-signing-certificates", "used-within-days"})


class SummaryError(ValueError):
    """GetAccountSummary lacks a root field the verdict needs."""


def summary_flags(summary):
    """``{password, access-keys, signing-certificates, mfa}`` → bool from a SummaryMap."""
    flags = {}
    for name, field in SUMMARY_FIELDS.items():
        value = summary.get(field)
        if value is None:
            raise SummaryError(f"GetAccountSummary has no {field}")
        flags[name] = bool(int(value))
    return flags


def has_root_credentials(flags):
    return flags["password"] or flags["access-keys"] or flags["signing-certificates"]


@dataclass(frozen=True)
class AccessKeySlot:
    slot: int
    active: bool
    last_used: datetime = None
    last_rotated: datetime = None


@dataclass(frozen=True)
class RootReportFacts:
    """What the credential report's root row says."""

    password_last_used: datetime
    mfa_active: bool
    access_keys: tuple          # AccessKeySlot for slots 1 and 2
    active_certificate_slots: tuple

    @property
    def active_access_key_slots(self):
        return tuple(k.slot for k in self.access_keys if k.active)

    @property
    def access_keys_last_used(self):
        used = [k.last_used for k in self.access_keys if k.last_used]
        return max(used) if used else None

    @property
    def last_used(self):
        used = [d for d in (self.password_last_used, self.access_keys_last_used) if d]
        return max(used) if used else None


def root_report_facts(rows):
    """Facts from a parsed report (``{user: row}``); CredentialReportError if the root row is unusable."""
    row = root_row(rows)
    keys = tuple(
        AccessKeySlot(
            slot=n,
            active=bool(parse_flag(row[f"access_key_{n}_active"])),
            last_used=parse_date(row[f"access_key_{n}_last_used_date"]),
            last_rotated=parse_date(row[f"access_key_{n}_last_rotated"]),
        )
        for n in (1, 2)
    )
    certs = tuple(n for n in (1, 2) if parse_flag(row[f"cert_{n}_active"]))
    return RootReportFacts(
        password_last_used=parse_date(row["password_last_used"]),
        mfa_active=bool(parse_flag(row["mfa_active"])),
        access_keys=keys,
        active_certificate_slots=certs,
    )


def _iso(value):
    return value.isoformat() if value else None


def credential_details(flags, facts, report_meta, report_error):
    """The evidence every root-credentials verdict carries."""
    details = {
        "password_present": flags["password"],
        "access_keys_present": flags["access-keys"],
        "signing_certificates_present": flags["signing-certificates"],
        "mfa_enabled": flags["mfa"],
    }
    if facts is not None:
        details.update({
            "active_access_key_slots": list(facts.active_access_key_slots) if flags["access-keys"] else [],
            "access_keys": [
                {"slot": k.slot, "active": k.active, "last_used": _iso(k.last_used),
                 "last_rotated": _iso(k.last_rotated)}
                for k in facts.access_keys
            ],
            "active_signing_certificate_slots":
                list(facts.active_certificate_slots) if flags["signing-certificates"] else [],
            "password_last_used": _iso(facts.password_last_used),
            "access_keys_last_used": _iso(facts.access_keys_last_used),
            "last_used": _iso(facts.last_used),
        })
        if flags["access-keys"] and not facts.active_access_key_slots:
            details["note"] = ("access key present but none active in the credential report: "
                               "the key is inactive (or was created after the report)")
    if report_meta:
        details["credential_report"] = report_meta
    if report_error:
        details["credential_report_error"] = report_error
    return details


def _condition_holds(name, wanted, flags, facts, now):
    """(holds, text) for one option; facts is None when the report is unavailable."""
    if name in ("password", "access-keys", "signing-certificates"):
        present = flags[name]
        return present == wanted, f"{name.replace('-', ' ')} {'present' if present else 'absent'}"
    if facts is None:
        return None, f"{name} needs the credential report"
    if name == "active-access-keys":
        slots = facts.active_access_key_slots if flags["access-keys"] else ()
        text = (f"active access key in slot {', '.join(map(str, slots))}" if slots
                else "no active access key")
        return bool(slots) == wanted, text
    if name == "active-signing-certificates":
        slots = facts.active_certificate_slots if flags["signing-certificates"] else ()
        text = (f"active signing certificate in slot {', '.join(map(str, slots))}" if slots
                else "no active signing certificate")
        return bool(slots) == wanted, text
    if name == "used-within-days":
        last = facts.last_used
        if last is None:
            return False, "root password and access keys never used"
        within = now - last <= timedelta(days=wanted)
        return within, f"root last used {last.date().isoformat()} ({(now - last).days} days ago)"
    raise ValueError(f"unknown condition {name}")


def decide_root_credentials(summary, report_facts, conditions, now, report_meta=None, report_error=None,
                            match="all"):
    """Verdict of the ``root-credentials`` filter.

    ``conditions`` maps option names (CONDITIONS) to wanted values; with ``match: all`` every one
    must hold to flag the account, with ``match: any`` one is enough.
    ``report_facts`` is None when the credential report could not be read (``report_error`` says why):
    conditions that need it are then unknown, and unknown never reads as compliant.
    """
    try:
        flags = summary_flags(summary)
    except (SummaryError, ValueError, TypeError) as error:
        return could_not_evaluate(str(error))
    details = credential_details(flags, report_facts, report_meta, report_error)
    results = [(name, *_condition_holds(name, conditions[name], flags, report_facts, now))
               for name in CONDITIONS if name in conditions]
    held = [text for _, holds, text in results if holds is True]
    failed = [text for _, holds, text in results if holds is False]
    unknown = [text for _, holds, text in results if holds is None]
    if match == "any":
        if held:
            return non_compliant("; ".join(held), **details)
    elif failed:
        return compliant("; ".join(failed), **details)
    if unknown:
        return could_not_evaluate(f"{'; '.join(unknown)}: {report_error}", **details)
    if match == "any":
        return compliant("; ".join(failed), **details)
    return non_compliant("; ".join(held), **details)
