"""Root MFA and root credential filters on ``aws.account``."""
from c7n.exceptions import PolicyValidationError
from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter
from rootguard_filters.decide.credentials import (
    CONDITIONS, REPORT_CONDITIONS, active_slots, decide_root_credentials, root_report_facts)
from rootguard_filters.decide.mfa import (
    CREDENTIAL_KINDS, DEFAULT_CREDENTIAL_KINDS, STATES, decide_root_mfa)
from rootguard_filters.plumbing import evidence as evidence_module
from rootguard_filters.plumbing.evidence import AccountEvidence
from rootguard_filters.logic.credential_report import CredentialReportError
from rootguard_filters.verdict import could_not_evaluate

REPORT_OPTIONS = {
    "report-max-age": {
        "type": "integer", "minimum": 0,
        "description": "Seconds after which a new credential report is asked for (default 14400: IAM "
                       "writes one at most every four hours). An older report IAM will not or cannot "
                       "replace is stale: verdicts resting on it are never compliant."},
    "report-wait": {
        "type": "integer", "minimum": 0, "maximum": 900,
        "description": "Seconds to wait for IAM to generate the credential report (default 60)."},
}
REPORT_PERMISSIONS = ("iam:GenerateCredentialReport", "iam:GetCredentialReport")


def read_report(filter_, evidence):
    """(RootReportFacts | None, metadata | None, error | None) for the account's credential report."""
    max_age = filter_.data.get("report-max-age", 4 * 3600)
    report = evidence.credential_report(max_age_seconds=max_age,
                                        wait_seconds=filter_.data.get("report-wait", 60))
    if not report.ok:
        return None, None, report.error
    meta = report.value.meta()
    if report.value.age_seconds > max_age and not meta["stale"]:
        # fetched once per run, for a policy that accepted an older report than this one does
        meta.update(stale=True, max_age_seconds=max_age,
                    refresh=f"not asked again: the run read the report once, for a policy accepting "
                            f"{report.value.max_age_seconds} s")
    try:
        return root_report_facts(report.value.rows), meta, None
    except CredentialReportError as error:
        return None, meta, f"credential report unreadable: {error}"


@Account.filter_registry.register("root-mfa")
class RootMfa(RootguardFilter):
    """Flags the account when the root user's MFA is in one of the selected states.

    States: ``hardware`` (MFA enabled and no virtual device assigned to root — a hardware TOTP token,
    passkey or security key), ``virtual`` (a virtual device is assigned to exactly root's ARN; the
    weakest device decides), ``none`` (root holds credentials and no MFA) and
    ``no-root-credentials`` (no password, access keys or signing certificates, e.g. removed under
    centralized root access — nothing can sign in, so no MFA is needed).

    ``credentials`` lists the root credentials that make MFA necessary (default: password, any
    access key, signing certificate); an account whose root holds none of them is not flagged.
    The resource is annotated under ``c7n:rootguard.root-mfa`` with the state and its evidence.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-mfa-missing
            resource: aws.account
            filters:
              - type: root-mfa
                states: [none]
                credentials: [password, active-access-key]
    """

    schema = type_schema(
        "root-mfa",
        states={"type": "array", "minItems": 1, "items": {"enum": list(STATES)}},
        credentials={"type": "array", "minItems": 1, "items": {"enum": list(CREDENTIAL_KINDS)}},
        **REPORT_OPTIONS,
    )
    schema_alias = False
    permissions = ("iam:GetAccountSummary", "iam:ListVirtualMFADevices")

    def get_permissions(self):
        perms = list(self.permissions)
        if "active-access-key" in self.data.get("credentials", ()):
            perms.extend(REPORT_PERMISSIONS)
        return perms

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        summary = evidence.account_summary()
        if not summary.ok:
            return could_not_evaluate(summary.error)
        states = self.data.get("states", ["none"])
        kinds = self.data.get("credentials", list(DEFAULT_CREDENTIAL_KINDS))
        inputs = {}
        if int(summary.value.get("AccountMFAEnabled", 0) or 0):
            devices = evidence.assigned_virtual_mfa_devices()
            inputs.update(virtual_devices=devices.value if devices.ok else None,
                          virtual_devices_error=devices.error)
        if "active-access-key" in kinds and int(summary.value.get("AccountAccessKeysPresent", 0) or 0):
            # A key created after the report is not in it: active_slots says unknown, not inactive.
            facts, meta, error = read_report(self, evidence)
            slots, why = active_slots("access-keys", True, facts, meta, error)
            inputs.update(active_key_slots=slots, report_error=why, report_meta=meta)
        return decide_root_mfa(summary.value, evidence.root_arn, states, kinds, **inputs)


@Account.filter_registry.register("root-credentials")
class RootCredentials(RootguardFilter):
    """Flags the account when the root user's credentials match every given option (``match: all``,
    the default) or any of them (``match: any``).

    Existence (``password``, ``access-keys``, ``signing-certificates``) comes from
    ``GetAccountSummary``, which counts inactive keys and certificates too. Active slots and last
    use come from the credential report's root row (``active-access-keys``,
    ``active-signing-certificates``, ``used-within-days``: the latest of password and access key use).
    The report is generated when absent, expired or older than ``report-max-age``; its age, and
    whether IAM wrote a new one or returned the old one, are in the annotation. When the report is
    needed and cannot be read, is stale, has a blank or unknown value in a field the option needs,
    or does not show a key/certificate GetAccountSummary counts (created after the report?), the
    account is flagged as could-not-evaluate with the reason, never passed.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-access-keys-present
            resource: aws.account
            filters:
              - type: root-credentials
                access-keys: true
          - name: root-recently-used
            resource: aws.account
            filters:
              - type: root-credentials
                used-within-days: 90
    """

    schema = type_schema(
        "root-credentials",
        **{
            "password": {"type": "boolean"},
            "access-keys": {"type": "boolean"},
            "active-access-keys": {"type": "boolean"},
            "signing-certificates": {"type": "boolean"},
            "active-signing-certificates": {"type": "boolean"},
            "used-within-days": {"type": "integer", "minimum": 1},
            "match": {"enum": ["all", "any"]},
        },
        **REPORT_OPTIONS,
    )
    schema_alias = False
    permissions = ("iam:GetAccountSummary",) + REPORT_PERMISSIONS

    def validate(self):
        if not any(name in self.data for name in CONDITIONS):
            raise PolicyValidationError(
                f"root-credentials needs at least one of {', '.join(CONDITIONS)} "
                f"on {self.manager.data.get('name') if self.manager else 'policy'}")
        return self

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        summary = evidence.account_summary()
        if not summary.ok:
            return could_not_evaluate(summary.error)
        conditions = {name: self.data[name] for name in CONDITIONS if name in self.data}
        # The report also fills the annotation (which slots are active), so read it whenever keys or
        # certificates exist even if no option needs it.
        wants_report = bool(REPORT_CONDITIONS & set(conditions)) or any(
            int(summary.value.get(f, 0) or 0)
            for f in ("AccountAccessKeysPresent", "AccountSigningCertificatesPresent"))
        facts = meta = error = None
        if wants_report:
            facts, meta, error = read_report(self, evidence)
        return decide_root_credentials(summary.value, facts, conditions, evidence_module.utcnow(),
                                       report_meta=meta, report_error=error,
                                       match=self.data.get("match", "all"))
