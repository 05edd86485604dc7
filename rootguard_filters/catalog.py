"""The control catalogue: one row per control, read by the policies' tests, the report and the docs.

A control's id is the name of the read-only policy in ``policies/`` that checks it. Severity follows
AWS's root-user checklist priorities (Critical, High, Medium); CIS ids are from the CIS Amazon Web
Services Foundations Benchmark v3.0.0; Security Hub ids from AWS Foundational Security Best Practices.
"""
from dataclasses import dataclass

SEVERITIES = ("Critical", "High", "Medium")


DAILY = "daily"
REVIEW = "review"


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
    resource: str = "aws.account"   # aws.org-account controls run once, in the management account;
    #                                 aws.iam-user controls flag users, reported per account
    cadence: str = DAILY            # "review": the break-glass review (policies/break-glass.yml), run as
    #                                 often as root activity is reviewed; a report shows it only when it ran

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
    Control(
        id="root-usage-alarm-missing",
        title="Root usage raises an alarm (trail, log group, metric filter, alarm, confirmed subscriber)",
        seed_step=3,
        severity="High",
        cis=("4.3",),
        security_hub=("CloudWatch.1",),
        filters=("root-usage-alarm",),
        remediation="Send a multi-region, logging trail to CloudWatch Logs, add a metric filter that matches "
                    "root usage, an alarm on it and an SNS topic with a confirmed subscriber "
                    "(action create-root-usage-alarm).",
    ),
    Control(
        id="root-scp-missing",
        title="An SCP in effect denies the root user",
        seed_step=4,
        severity="High",
        cis=(),
        security_hub=(),
        filters=("root-scp",),
        remediation="Attach AWS's deny-root SCP (with the aws:AssumedRoot exemption) to the organization root "
                    "or the account's OU (action attach-root-scp).",
        resource="aws.org-account",
    ),
    Control(
        id="root-credentials-management-disabled",
        title="Centralized root access (RootCredentialsManagement) is enabled",
        seed_step=5,
        severity="High",
        cis=(),
        security_hub=(),
        filters=("root-credentials-management",),
        remediation="In the management account: iam enable-organizations-root-credentials-management "
                    "(and enable-organizations-root-sessions), then delete member root credentials.",
    ),
    Control(
        id="alternate-contacts-missing",
        title="Security and operations alternate contacts are set",
        seed_step=5,
        severity="Medium",
        cis=("1.2",),
        security_hub=("Account.1",),
        filters=("alternate-contacts",),
        remediation="Set the SECURITY and OPERATIONS alternate contacts (action set-alternate-contact).",
    ),
    Control(
        id="root-session-unapproved",
        title="Every root session in the last 90 days has a break-glass approval (ticket, two approvers, "
              "inside its window)",
        seed_step=6,
        severity="High",
        cis=(),
        security_hub=(),
        filters=("root-sessions",),
        remediation="Review the session in CloudTrail (rootguard sessions), record the approval in the "
                    "break-glass register (ticket, justification, two approvers, time window), and find out "
                    "why root was used without one.",
        cadence=REVIEW,
    ),
    Control(
        id="root-only-admin",
        title="An administrator other than root exists (IAM role or user with AdministratorAccess or *:*)",
        seed_step=6,
        severity="Medium",
        cis=(),
        security_hub=(),
        filters=("admin-principals",),
        remediation="Create an administrator path that is not root: an IAM Identity Center permission set "
                    "with AdministratorAccess assigned to the account, or a role your administrators assume "
                    "with MFA.",
        cadence=REVIEW,
    ),
    Control(
        id="admin-users-without-mfa",
        title="IAM users with a console password and administrator rights have MFA",
        seed_step=6,
        severity="High",
        cis=(),
        security_hub=(),
        filters=("check-permissions", "login-profile", "mfa-device"),
        remediation="Assign an MFA device (prefer a passkey or security key) to each flagged user, or move "
                    "administrators to IAM Identity Center.",
        resource="aws.iam-user",
        cadence=REVIEW,
    ),
)

BY_ID = {control.id: control for control in CONTROLS}
# Custodian's own filters that YAML-only controls (admin-users-without-mfa) are built from: they leave no pack
# verdict, so the report reads those policies' resources.json (flagged is non-compliant).
CUSTODIAN_FILTERS = frozenset({"check-permissions", "login-profile", "mfa-device"})


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
