"""Root MFA kind and the ``root-mfa`` verdict (pure: API data in, Verdict out).

``GetAccountSummary.AccountMFAEnabled`` says whether root has any MFA device; a virtual device
assigned to root is one whose ``User.Arn`` is exactly root's ARN. Root may hold several devices: the
weakest decides, so a virtual device beside a hardware one makes the state ``virtual``. From inside
the account a passkey or security key cannot be told from a hardware TOTP token: both are ``hardware``.
"""
from rootguard_filters.decide.credentials import (
    SummaryError, has_root_credentials, summary_flags, with_staleness)
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

HARDWARE = "hardware"
VIRTUAL = "virtual"
NONE = "none"
NO_ROOT_CREDENTIALS = "no-root-credentials"
STATES = (HARDWARE, VIRTUAL, NONE, NO_ROOT_CREDENTIALS)

# Root credentials that make MFA necessary (the filter's ``credentials`` option).
CREDENTIAL_KINDS = ("password", "access-key", "active-access-key", "signing-certificate")
DEFAULT_CREDENTIAL_KINDS = ("password", "access-key", "signing-certificate")


def root_virtual_devices(devices, root_arn):
    """Serial numbers of the virtual MFA devices assigned to exactly ``root_arn``."""
    return [d.get("SerialNumber") for d in devices or ()
            if (d.get("User") or {}).get("Arn") == root_arn]


def held_credentials(flags, active_key_slots):
    """Credential kinds root holds; ``active-access-key`` only when the report's slots are known."""
    held = []
    if flags["password"]:
        held.append("password")
    if flags["access-keys"]:
        held.append("access-key")
        if active_key_slots:
            held.append("active-access-key")
    if flags["signing-certificates"]:
        held.append("signing-certificate")
    return held


def decide_root_mfa(summary, root_arn, states, credential_kinds=DEFAULT_CREDENTIAL_KINDS,
                    virtual_devices=None, virtual_devices_error=None,
                    active_key_slots=None, report_error=None, report_meta=None):
    """Verdict of the ``root-mfa`` filter: flag when root's MFA state is in ``states`` and root
    holds one of ``credential_kinds`` (for ``no-root-credentials``, when that state is selected).

    ``virtual_devices`` is only needed when MFA is enabled; ``active_key_slots`` only when
    ``credential_kinds`` includes ``active-access-key`` (``None`` with ``report_error`` when unknown,
    e.g. a key GetAccountSummary counts that the report does not show). A missing input that the
    verdict needs gives could-not-evaluate with its error; ``report_meta`` (the credential report's
    age, refresh, staleness) joins the evidence when the report was read.
    """
    try:
        flags = summary_flags(summary)
    except (SummaryError, ValueError, TypeError) as error:
        return could_not_evaluate(str(error))

    evidence = {
        "AccountMFAEnabled": int(flags["mfa"]),
        "AccountPasswordPresent": int(flags["password"]),
        "AccountAccessKeysPresent": int(flags["access-keys"]),
        "AccountSigningCertificatesPresent": int(flags["signing-certificates"]),
    }
    if not has_root_credentials(flags):
        state = NO_ROOT_CREDENTIALS
        reason = "root has no password, access keys or signing certificates"
    elif not flags["mfa"]:
        state = NONE
        reason = "root has no MFA device"
    else:
        if virtual_devices is None:
            return could_not_evaluate(
                f"root has MFA but its kind is unknown: {virtual_devices_error}", **evidence)
        serials = root_virtual_devices(virtual_devices, root_arn)
        evidence["root_virtual_mfa_devices"] = serials
        state = VIRTUAL if serials else HARDWARE
        reason = (f"root has a virtual MFA device ({', '.join(serials)})" if serials
                  else "root has MFA and no virtual device is assigned to it (hardware, passkey or security key)")

    if report_meta:
        evidence["credential_report"] = report_meta
    needs_slots = "active-access-key" in credential_kinds and flags["access-keys"]
    relevant_state = state != NO_ROOT_CREDENTIALS and state in states
    # the key's state matters only when nothing else root holds already makes MFA necessary
    decided_without_slots = any(k in credential_kinds for k in held_credentials(flags, ()))
    if needs_slots and active_key_slots is None and relevant_state and not decided_without_slots:
        return could_not_evaluate(
            f"{reason}; whether its access key is active is unknown: {report_error}",
            state=state, evidence=evidence)
    verdict = _mfa_verdict(state, reason, states, credential_kinds, flags, active_key_slots, evidence)
    return with_staleness(verdict, report_meta,
                          needs_slots and relevant_state and not decided_without_slots)


def _mfa_verdict(state, reason, states, credential_kinds, flags, active_key_slots, evidence):
    held = held_credentials(flags, active_key_slots)
    evidence["credentials"] = held
    relevant = [kind for kind in held if kind in credential_kinds]

    details = {"state": state, "evidence": evidence}
    if state not in states:
        return compliant(f"root MFA state is {state}: {reason}", **details)
    if state == NO_ROOT_CREDENTIALS:
        return non_compliant(f"root MFA state is {state}: {reason}", **details)
    if not relevant:
        return compliant(
            f"root MFA state is {state}, but root holds none of {', '.join(credential_kinds)}", **details)
    return non_compliant(f"root MFA state is {state} ({reason}) and root holds {', '.join(relevant)}",
                         **details)
