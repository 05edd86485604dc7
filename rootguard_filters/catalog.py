"""The control catalogue: one row per control, read by the policies' tests, the report and the docs.

A control's id is the name of the read-only policy in ``policies/`` that checks it. Severity follows
AWS's root-user checklist priorities (Critical, High, Medium); CIS ids are from the CIS Amazon Web
Services Foundations Benchmark v3.0.0; Security Hub ids from AWS Foundational Security Best Practices.
"""
from dataclasses import dataclass

SEVERITIES = ("Critical", "High", "Medium")


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    seed_step: int
    severity: str
    cis: tuple
    security_hub: tuple
    filters: tuple           # the pack filters the policy uses
    remediation: str

    def policy_metadata(self):
        """The ``metadata`` block the control's policy carries (checked by tests)."""
        return {
            "control": self.id,
            "severity": self.severity,
            "cis": list(self.cis),
            "security-hub": list(self.security_hub),
        }


CONTROLS = (
    Control(
        id="root-mfa-missing",
        title="Root user has MFA",
        seed_step=1,
        severity="Critical",
        cis=("1.5",),
        security_hub=("IAM.9",),
        filters=("root-mfa",),
        remediation="Sign in as root and assign an MFA device (prefer a passkey or hardware security key); "
                    "or remove the root credentials with centralized root access.",
    ),
    Control(
        id="root-mfa-not-hardware",
        title="Root user MFA is hardware, not virtual",
        seed_step=1,
        severity="High",
        cis=("1.6",),
        security_hub=("IAM.6",),
        filters=("root-mfa",),
        remediation="Replace root's virtual (TOTP app) MFA device with a passkey or hardware security key, "
                    "then deactivate the virtual device.",
    ),
    Control(
        id="root-access-keys-present",
        title="Root user has no access keys",
        seed_step=2,
        severity="Critical",
        cis=("1.4",),
        security_hub=("IAM.4",),
        filters=("root-credentials",),
        remediation="Delete root's access keys (Security credentials page as root, or "
                    "sts:AssumeRoot with the IAMDeleteRootUserCredentials task from the management account).",
    ),
    Control(
        id="root-signing-certificates-present",
        title="Root user has no signing certificates",
        seed_step=2,
        severity="High",
        cis=(),
        security_hub=(),
        filters=("root-credentials",),
        remediation="Delete root's X.509 signing certificates (as root, or through AssumeRoot with "
                    "IAMDeleteRootUserCredentials).",
    ),
    Control(
        id="root-recently-used",
        title="Root user not used in the last 90 days",
        seed_step=2,
        severity="Medium",
        cis=("1.7",),
        security_hub=(),
        filters=("root-credentials",),
        remediation="Find out who used root and why (CloudTrail), move the task to an IAM role, and keep "
                    "root for the tasks that require it.",
    ),
)

BY_ID = {control.id: control for control in CONTROLS}


def get(control_id):
    return BY_ID[control_id]


def markdown_table():
    """The README's policy table, generated from the catalogue (a test keeps the README in sync)."""
    lines = ["| policy | checks | severity | CIS v3.0.0 | Security Hub |",
             "|---|---|---|---|---|"]
    for severity in SEVERITIES:
        for c in CONTROLS:
            if c.severity == severity:
                lines.append(f"| `{c.id}` | {c.title} | {c.severity} | {', '.join(c.cis) or '-'} | "
                             f"{', '.join(c.security_hub) or '-'} |")
    return "\n".join(lines)
