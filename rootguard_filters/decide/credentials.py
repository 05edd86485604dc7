"""Root credential facts and the ``root-credentials`` verdict (pure: API data in, Verdict out).

Existence comes from ``GetAccountSummary`` (fresh, and counts inactive keys too); per-slot state and
last use come from the credential report's root row (up to four hours old, active keys only).
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rootguard_filters.logic.credential_report import FieldError, report_date, report_flag, root_row
from rootguard_filters.verdict import (
    COMPLIANT, NON_COMPLIANT, compliant, could_not_evaluate, non_compliant)

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
    active: bool            # None: the report's access_key_N_active field is unreadable
    last_used: datetime = None
    last_rotated: datetime = None


USAGE_FIELDS = ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
KEY_FLAG_FIELDS = ("access_key_1_active", "access_key_2_active")
CERT_FLAG_FIELDS = ("cert_1_active", "cert_2_active")


@dataclass(frozen=True)
class RootReportFacts:
    """What the credential report's root row says; unreadable fields are in ``problems``."""

    password_last_used: datetime
    mfa_active: bool
    access_keys: tuple          # AccessKeySlot for slots 1 and 2
    active_certificate_slots: tuple
    problems: dict = field(default_factory=dict)    # field -> why its value cannot be read
    unknown_certificate_slots: tuple = ()

    @property
    def active_access_key_slots(self):
        return tuple(k.slot for k in self.access_keys if k.active)

    @property
    def unknown_access_key_slots(self):
        return tuple(k.slot for k in self.access_keys if k.active is None)

    @property
    def access_keys_last_used(self):
        used = [k.last_used for k in self.access_keys if k.last_used]
        return max(used) if used else None

    @property
    def last_used(self):
        """Latest readable use of the password or an access key (see ``usage_problems``)."""
        used = [d for d in (self.password_last_used, self.access_keys_last_used) if d]
        return max(used) if used else None

    def problems_of(self, fields):
        return [self.problems[f] for f in fields if f in self.problems]


def root_report_facts(rows):
    """Facts from a parsed report (``{user: row}``); CredentialReportError if there is no root row.

    A field holding a value IAM does not write (blank, garbled) is left ``None`` and named in
    ``problems``, so a verdict that needs it says so instead of reading "never used" or "inactive".
    """
    row = root_row(rows)
    problems = {}

    def read(parse, name):
        try:
            return parse(row, name)
        except FieldError as error:
            problems[name] = str(error)
            return None

    keys = tuple(
        AccessKeySlot(
            slot=n,
            active=read(report_flag, f"access_key_{n}_active"),
            last_used=read(report_date, f"access_key_{n}_last_used_date"),
            last_rotated=read(report_date, f"access_key_{n}_last_rotated"),
        )
        for n in (1, 2)
    )
    certs = {n: read(report_flag, f"cert_{n}_active") for n in (1, 2)}
    return RootReportFacts(
        password_last_used=read(report_date, "password_last_used"),
        mfa_active=read(report_flag, "mfa_active"),
        access_keys=keys,
        active_certificate_slots=tuple(n for n, active in certs.items() if active),
        problems=problems,
        unknown_certificate_slots=tuple(n for n, active in certs.items() if active is None),
    )


def _iso(value):
    return value.isoformat() if value else None


def report_age_text(report_meta):
    """``generated 2026-11-27T11:00:00+00:00, 1 h 0 min old``."""
    meta = report_meta or {}
    age = int(meta.get("age_seconds") or 0)
    return f"generated {meta.get('generated_time')}, {age // 3600} h {age % 3600 // 60} min old"


def stale_text(report_meta):
    """Why the report is stale, or None when it is within report-max-age."""
    meta = report_meta or {}
    if not meta.get("stale"):
        return None
    return (f"the credential report is stale ({report_age_text(meta)}, older than report-max-age "
            f"{meta.get('max_age_seconds')} s) and could not be refreshed: {meta.get('refresh')}")


_SLOT_KINDS = {
    "access-keys": ("access key", "unknown_access_key_slots", "active_access_key_slots", KEY_FLAG_FIELDS),
    "signing-certificates": ("signing certificate", "unknown_certificate_slots",
                             "active_certificate_slots", CERT_FLAG_FIELDS),
}


def active_slots(kind, present, facts, report_meta=None, report_error=None):
    """``(active slots, None)`` or ``(None, why unknown)`` for root's access keys or certificates.

    ``present`` is GetAccountSummary's (current) answer. The report lists active ones only, so a
    credential present now but not active in a report older than this run is inactive *or created
    after the report*: unknown until IAM writes a new report.
    """
    noun, unknown_attr, active_attr, flag_fields = _SLOT_KINDS[kind]
    if not present:
        return (), None
    if facts is None:
        return None, f"active {noun}s need the credential report: {report_error}"
    active = getattr(facts, active_attr)
    if active:
        return active, None
    if getattr(facts, unknown_attr):
        return None, "; ".join(facts.problems_of(flag_fields))
    if not (report_meta or {}).get("regenerated"):
        return None, (f"GetAccountSummary says root has an {noun}, but the credential report "
                      f"({report_age_text(report_meta)}) shows none active: it is inactive, or was "
                      "created after the report")
    return (), None


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
        if facts.problems:
            details["credential_report_field_problems"] = dict(facts.problems)
        if flags["access-keys"] and not facts.active_access_key_slots:
            details["note"] = ("access key present but none active in the credential report: "
                               "the key is inactive (or was created after the report)")
    if report_meta:
        details["credential_report"] = report_meta
    if report_error:
        details["credential_report_error"] = report_error
    return details


def _slots_condition(kind, wanted, flags, facts, report_meta, report_error):
    noun = _SLOT_KINDS[kind][0]
    slots, why = active_slots(kind, flags[kind], facts, report_meta, report_error)
    if slots is None:
        return None, why
    text = (f"active {noun} in slot {', '.join(map(str, slots))}" if slots else f"no active {noun}")
    return bool(slots) == wanted, text


def _condition_holds(name, wanted, flags, facts, now, report_meta=None, report_error=None):
    """(holds, text) for one option; holds is None when unknown (text says why)."""
    if name in ("password", "access-keys", "signing-certificates"):
        present = flags[name]
        return present == wanted, f"{name.replace('-', ' ')} {'present' if present else 'absent'}"
    if facts is None:
        return None, f"{name} needs the credential report: {report_error}"
    if name == "active-access-keys":
        return _slots_condition("access-keys", wanted, flags, facts, report_meta, report_error)
    if name == "active-signing-certificates":
        return _slots_condition("signing-certificates", wanted, flags, facts, report_meta, report_error)
    if name == "used-within-days":
        last = facts.last_used
        if last is not None and now - last <= timedelta(days=wanted):
            return True, f"root last used {last.date().isoformat()} ({(now - last).days} days ago)"
        problems = facts.problems_of(USAGE_FIELDS)
        if problems:  # an unreadable date might be the recent one
            return None, "; ".join(problems)
        if last is None:
            return False, "root password and access keys never used"
        return False, f"root last used {last.date().isoformat()} ({(now - last).days} days ago)"
    raise ValueError(f"unknown condition {name}")


def with_staleness(verdict, report_meta, relied_on_report):
    """A compliant verdict resting on a stale report is could-not-evaluate; a finding says so."""
    stale = stale_text(report_meta) if relied_on_report else None
    if not stale:
        return verdict
    if verdict.status == COMPLIANT:
        return could_not_evaluate(f"{stale}; on that report: {verdict.reason}", **verdict.details)
    if verdict.status == NON_COMPLIANT:
        return non_compliant(f"{verdict.reason} (from {stale})", **verdict.details)
    return verdict


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
    results = [(name, *_condition_holds(name, conditions[name], flags, report_facts, now,
                                        report_meta, report_error))
               for name in CONDITIONS if name in conditions]
    verdict = _combine(results, match, details)
    return with_staleness(verdict, report_meta, bool(REPORT_CONDITIONS & set(conditions)))


def _combine(results, match, details):
    held = [text for _, holds, text in results if holds is True]
    failed = [text for _, holds, text in results if holds is False]
    unknown = [text for _, holds, text in results if holds is None]
    if match == "any":
        if held:
            return non_compliant("; ".join(held), **details)
    elif failed:
        return compliant("; ".join(failed), **details)
    if unknown:
        return could_not_evaluate("; ".join(unknown), **details)
    if match == "any":
        return compliant("; ".join(failed), **details)
    return non_compliant("; ".join(held), **details)
