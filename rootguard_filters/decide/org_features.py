"""Organization-level root controls (pure: API data in, Verdict or plan out).

* ``root-credentials-management``: which centralized-root features ``iam:ListOrganizationsFeatures``
  reports enabled.
* ``member-root-credentials``: a member's real root credentials, as an AssumeRoot session with the
  ``IAMAuditRootUserCredentials`` task sees them (GetLoginProfile, ListAccessKeys,
  ListSigningCertificates, ListMFADevices).
* ``attach-root-scp``: which SCP to attach where, and which credentials ``delete-root-credentials``
  removes.
"""
import json
from dataclasses import dataclass, field

from rootguard_filters.decide.scp import decide_root_scp, document_denies_root
from rootguard_filters.verdict import (
    COMPLIANT, NOT_APPLICABLE, compliant, could_not_evaluate, non_compliant, not_applicable)

# --------------------------------------------------------------------------- centralized root access

ROOT_CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
ROOT_SESSIONS = "RootSessions"
FEATURES = (ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS)

# ListOrganizationsFeatures errors that are facts about the organization, not failed reads.
NOT_MANAGEMENT = "AccountNotManagementOrDelegatedAdministratorException"
NO_ORGANIZATION = "OrganizationNotFoundException"
# Centralized root access needs trusted access for iam.amazonaws.com and an all-features
# organization: without them no feature can be enabled, so the features are off.
FEATURES_IMPOSSIBLE = {
    "ServiceAccessNotEnabledException":
        "trusted access for iam.amazonaws.com is not enabled in AWS Organizations",
    "OrganizationNotInAllFeaturesModeException":
        "the organization does not have all features enabled",
}


def decide_root_credentials_management(features, error=None, error_code=None,
                                       required=(ROOT_CREDENTIALS_MANAGEMENT,)):
    """Verdict from a ListOrganizationsFeatures response (or the error it raised)."""
    required = list(required)
    if error is not None:
        if error_code == NOT_MANAGEMENT:
            return not_applicable(
                "not the management account or the IAM delegated administrator: centralized root "
                "access is managed from there", required=required)
        if error_code == NO_ORGANIZATION:
            return not_applicable("the account is not in an AWS organization", required=required)
        if error_code in FEATURES_IMPOSSIBLE:
            return non_compliant(
                f"{', '.join(required)} not enabled: {FEATURES_IMPOSSIBLE[error_code]} ({error})",
                required=required, enabled=[], missing=required)
        return could_not_evaluate(error, required=required)
    # Always in a real answer (empty when none is enabled): without it nothing says what is enabled.
    if "EnabledFeatures" not in features:
        return could_not_evaluate("iam:ListOrganizationsFeatures: unreadable response: no EnabledFeatures",
                                  required=required)
    enabled = list(features["EnabledFeatures"])
    missing = [f for f in required if f not in enabled]
    details = {"organization_id": features.get("OrganizationId"), "enabled": enabled,
               "required": required, "missing": missing}
    if missing:
        return non_compliant(f"centralized root access feature(s) not enabled: {', '.join(missing)}",
                             **details)
    return compliant(f"centralized root access feature(s) enabled: {', '.join(required)}", **details)


# --------------------------------------------------------------------------- member root audit

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


def decide_member_root_credentials(audit, conditions=None, mfa_states=(), match="all"):
    """Verdict of ``member-root-credentials``: flagged when every selected condition holds
    (``match: all``, as ``root-credentials``) or any of them (``match: any``).

    ``conditions`` maps CREDENTIAL_CONDITIONS to wanted presence (``password: true`` flags a
    password, ``password: false`` flags its absence); ``mfa_states`` is one more condition: root's
    MFA state is one of them while root holds a password, key or certificate (without them no MFA is
    needed). With no condition at all, any root password, key or certificate flags the member.
    """
    if not conditions and not mfa_states:
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
    """``[(kind, id)]`` to remove, in the order IAM needs (MFA last: it may guard the password)."""
    plan = []
    if "login-profile" in kinds and audit.login_profile is not None:
        plan.append(("login-profile", "root"))
    if "access-keys" in kinds:
        plan.extend(("access-keys", k["AccessKeyId"]) for k in audit.access_keys)
    if "signing-certificates" in kinds:
        plan.extend(("signing-certificates", c["CertificateId"]) for c in audit.signing_certificates)
    if "mfa-devices" in kinds:
        plan.extend(("mfa-devices", d["SerialNumber"]) for d in audit.mfa_devices)
    return plan


# --------------------------------------------------------------------------- attach-root-scp plan

def reference_deny_root_scp(partition="aws"):
    """AWS's reference SCP: deny root everything, except AssumeRoot sessions."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyRootUser",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringLike": {"aws:PrincipalArn": f"arn:{partition}:iam::*:root"},
                "Null": {"aws:AssumedRoot": "true"},
            },
        }],
    })


TARGETS = ("root", "ou", "account")


@dataclass
class ScpPlan:
    """What ``attach-root-scp`` does: per account, skip reason or the target to attach to."""

    policy_id: str = None           # an existing SCP with covering content, else None (create one)
    policy_name: str = None
    skipped: dict = field(default_factory=dict)    # account -> reason
    targets: dict = field(default_factory=dict)    # account -> target id to attach to
    attached: dict = field(default_factory=dict)   # account -> target the policy is already on


def covering_policy(snapshot, account_ids):
    """Id of an existing SCP whose content denies the root user of every account (by content)."""
    for policy_id in sorted(snapshot.policies, key=lambda p: (snapshot.policies[p].get("Name") or "", p)):
        content = snapshot.policies[policy_id].get("Content")
        if content is not None and all(
                document_denies_root(content, a, snapshot.partition)[0] for a in account_ids):
            return policy_id
    return None


def target_for(snapshot, account_id, target):
    """Where the SCP goes for an account: the organization root, its parent (OU or root), or itself."""
    if target == "root":
        return snapshot.root_id
    if target == "ou":
        return snapshot.parent_of.get(account_id)
    return account_id


def plan_root_scp(snapshot, account_ids, target="root"):
    """Plan attachments so every given member's root is denied.

    Accounts already covered, the management account and suspended accounts are left alone. An
    account whose coverage could not be decided (a malformed SCP applies) still gets the guardrail:
    attaching a deny only adds protection. Call with ``snapshot.scp_enabled`` as it will be when
    the attachments happen.
    """
    plan = ScpPlan()
    todo = []
    for account_id in account_ids:
        verdict = decide_root_scp(snapshot, account_id)
        if verdict.status == COMPLIANT:
            plan.skipped[account_id] = f"already covered: {verdict.reason}"
        elif verdict.status == NOT_APPLICABLE:
            plan.skipped[account_id] = f"left alone: {verdict.reason}"
        elif account_id not in snapshot.accounts or target_for(snapshot, account_id, target) is None:
            plan.skipped[account_id] = f"left alone: {account_id} or its parent is not in the organization"
        else:
            todo.append(account_id)
    if not todo:
        return plan
    plan.policy_id = covering_policy(snapshot, todo)
    if plan.policy_id:
        plan.policy_name = snapshot.policies[plan.policy_id].get("Name")
    on = set(snapshot.targets_of.get(plan.policy_id, ())) if plan.policy_id else set()
    for account_id in todo:
        where = target_for(snapshot, account_id, target)
        (plan.attached if where in on else plan.targets)[account_id] = where
    return plan
