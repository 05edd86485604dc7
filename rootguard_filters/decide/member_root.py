"""A member's real root credentials (pure), as an AssumeRoot session with the
``IAMAuditRootUserCredentials`` task sees them (GetLoginProfile, ListAccessKeys,
ListSigningCertificates, ListMFADevices), and which of them ``delete-root-credentials`` removes.
"""
from dataclasses import dataclass

from rootguard_filters.verdict import compliant, non_compliant

PASSKEY = "passkey"      # FIDO passkey or security key (serial ``...:u2f/...``)
VIRTUAL = "virtual"      # virtual / TOTP app (serial ``...:mfa/...``)
HARDWARE = "hardware"    # hardware TOTP token (any other serial)
NONE = "none"
MFA_STATES = (NONE, VIRTUAL, HARDWARE, PASSKEY)
# Weakest first: the weakest device a root user holds decides its MFA state.
_STRENGTH = {VIRTUAL: 0, HARDWARE: 1, PASSKEY: 2}

# Boolean options of member-root-credentials: what must be present (True) or absent (False).
CREDENTIAL_CONDITIONS = ("password", "access-keys", "active-access-keys",
                         "signing-certificates", "active-signing-certificates")
DEFAULT_CONDITIONS = {"password": True, "access-keys": True, "signing-certificates": True}


def mfa_kind(serial_number):
    """Kind of an MFA device from its ListMFADevices serial number."""
    serial = serial_number or ""
    if ":u2f/" in serial:
        return PASSKEY
    if ":mfa/" in serial:
        return VIRTUAL
    return HARDWARE


@dataclass(frozen=True)
class RootAudit:
    """What an ``IAMAuditRootUserCredentials`` session reads about a member's root user."""

    login_profile: dict = None           # GetLoginProfile's LoginProfile; None = no password
    access_keys: tuple = ()              # AccessKeyMetadata, each with "LastUsed" added (or None)
    signing_certificates: tuple = ()     # Certificates entries
    mfa_devices: tuple = ()              # MFADevices entries

    @property
    def has_credentials(self):
        return bool(self.login_profile or self.access_keys or self.signing_certificates)

    def mfa_state(self):
        kinds = [mfa_kind(d.get("SerialNumber")) for d in self.mfa_devices]
        return min(kinds, key=_STRENGTH.get) if kinds else NONE


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def audit_details(audit):
    """The evidence each member-root-credentials verdict carries (JSON-ready)."""
    return {
        "password": audit.login_profile is not None,
        "login_profile_created": _iso((audit.login_profile or {}).get("CreateDate")),
        "access_keys": [
            {"id": k.get("AccessKeyId"), "status": k.get("Status"),
             "created": _iso(k.get("CreateDate")),
             "last_used": _iso((k.get("LastUsed") or {}).get("LastUsedDate")),
             "last_used_service": (k.get("LastUsed") or {}).get("ServiceName")}
            for k in audit.access_keys],
        "signing_certificates": [
            {"id": c.get("CertificateId"), "status": c.get("Status"),
             "uploaded": _iso(c.get("UploadDate"))}
            for c in audit.signing_certificates],
        "mfa_devices": [
            {"serial": d.get("SerialNumber"), "kind": mfa_kind(d.get("SerialNumber")),
             "enabled": _iso(d.get("EnableDate"))}
            for d in audit.mfa_devices],
        "mfa_state": audit.mfa_state(),
    }


def _presence(name, audit):
    """(present, text) for one credential condition."""
    if name == "password":
        return audit.login_profile is not None, "password"
    if name in ("access-keys", "active-access-keys"):
        keys = [k for k in audit.access_keys
                if name == "access-keys" or k.get("Status") == "Active"]
        label = "active access key" if name == "active-access-keys" else "access key"
        return bool(keys), f"{label}(s) {', '.join(k.get('AccessKeyId', '?') for k in keys)}"
    certs = [c for c in audit.signing_certificates
             if name == "signing-certificates" or c.get("Status") == "Active"]
    label = "active signing certificate" if name == "active-signing-certificates" else "signing certificate"
    return bool(certs), f"{label}(s) {', '.join(c.get('CertificateId', '?') for c in certs)}"


def decide_member_root_credentials(audit, conditions=None, mfa_states=(), match="all", min_mfa_devices=None):
    """Verdict of ``member-root-credentials``: flagged when every selected condition holds
    (``match: all``, as ``root-credentials``) or any of them (``match: any``).

    ``conditions`` maps CREDENTIAL_CONDITIONS to wanted presence (``password: true`` flags a
    password, ``password: false`` flags its absence); ``mfa_states`` is one more condition: root's
    MFA state is one of them while root holds a password, key or certificate (without them no MFA is
    needed). ``min_mfa_devices`` is another: root holds a password, key or certificate and fewer than
    that many MFA devices (one lost or broken device must not lock the account out). With no
    condition at all, any root password, key or certificate flags the member.
    """
    if not conditions and not mfa_states and not min_mfa_devices:
        conditions, match = DEFAULT_CONDITIONS, "any"
    conditions = conditions or {}
    details = audit_details(audit)
    results = []
    for name in CREDENTIAL_CONDITIONS:
        if name not in conditions:
            continue
        present, text = _presence(name, audit)
        holds = present == conditions[name]
        results.append((holds, f"root has {text}" if present else f"root has no {name.replace('-', ' ')}"))
    state = details["mfa_state"]
    if mfa_states:
        holds = state in mfa_states and audit.has_credentials
        results.append((holds, f"root {'holds credentials and ' if audit.has_credentials else ''}"
                               f"its MFA state is {state}"))
    if min_mfa_devices:
        count = len(audit.mfa_devices)
        holds = audit.has_credentials and count < min_mfa_devices
        results.append((holds, f"root {'holds credentials and ' if audit.has_credentials else ''}has {count} "
                               f"MFA device(s), {min_mfa_devices} wanted"))
    hits = [text for holds, text in results if holds]
    flagged = bool(hits) if match == "any" else all(holds for holds, _ in results)
    if flagged:
        return non_compliant("; ".join(hits), **details)
    held = [n for n in ("password", "access-keys", "signing-certificates") if _presence(n, audit)[0]]
    return compliant(
        f"root holds {', '.join(held) if held else 'no password, access key or signing certificate'}; "
        f"MFA state {state}; selected conditions do not hold ({match})", **details)


# --------------------------------------------------------------------------- delete plan

CREDENTIAL_KINDS = ("login-profile", "access-keys", "signing-certificates", "mfa-devices")


def deletion_plan(audit, kinds):
    """``([(kind, id)], held_back)``: what to remove, in an order where each step leaves root no
    weaker than before, and why MFA is kept (None when it is not).

    Password, access keys and signing certificates go first; MFA devices are deactivated last and
    only when nothing of the password, keys and certificates would remain afterwards (MFA guarding a
    credential that stays is never removed).
    """
    plan = []
    if "login-profile" in kinds and audit.login_profile is not None:
        plan.append(("login-profile", "root"))
    if "access-keys" in kinds:
        plan.extend(("access-keys", k["AccessKeyId"]) for k in audit.access_keys)
    if "signing-certificates" in kinds:
        plan.extend(("signing-certificates", c["CertificateId"]) for c in audit.signing_certificates)
    held_back = None
    if "mfa-devices" in kinds and audit.mfa_devices:
        remaining = [name for name, kind, present in (
            ("password", "login-profile", audit.login_profile is not None),
            ("access keys", "access-keys", bool(audit.access_keys)),
            ("signing certificates", "signing-certificates", bool(audit.signing_certificates)))
            if present and kind not in kinds]
        if remaining:
            held_back = (f"MFA kept: root would still hold {', '.join(remaining)} "
                         f"(not in credentials), and removing MFA would leave them unprotected")
        else:
            plan.extend(("mfa-devices", d["SerialNumber"]) for d in audit.mfa_devices)
    return plan, held_back
