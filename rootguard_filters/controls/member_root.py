"""Member accounts' real root credentials, through ``sts:AssumeRoot`` (centralized root access):
``member-root-credentials`` and ``delete-root-credentials`` on ``aws.org-account``.

The decisions live in ``decide/member_root.py``.
"""
import logging

from botocore.exceptions import ClientError
from c7n.resources.org import OrgAccount
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter, inactive_status
from rootguard_filters.decide.member_root import (
    CREDENTIAL_CONDITIONS, CREDENTIAL_KINDS, MFA_STATES, RootAudit, decide_member_root_credentials,
    deletion_plan)
from rootguard_filters.plumbing.evidence import RUN_CACHE, guarded, retry
from rootguard_filters.plumbing.organization import OrgReader, ReadFailed
from rootguard_filters.verdict import could_not_evaluate, not_applicable
from rootguard_filters.plumbing.writes import RecordedAction, WriteFailed

log = logging.getLogger("custodian.rootguard")

AUDIT_TASK = "IAMAuditRootUserCredentials"
DELETE_TASK = "IAMDeleteRootUserCredentials"
# AssumeRoot's maximum; each member's reads take seconds.
ROOT_SESSION_SECONDS = 900


class RootSession:
    """IAM as a member's root user, through ``sts:AssumeRoot`` with one task policy."""

    def __init__(self, reader, member_id, task, cached=True):
        self.reader = reader
        self.member_id = member_id
        self.task = task
        self.cached = cached
        self._iam = None

    def _get(self, key, fetch):
        return RUN_CACHE.get(key, fetch) if self.cached else fetch()

    def _value(self, outcome):
        if not outcome.ok:
            raise ReadFailed(outcome)
        return outcome.value

    def credentials(self):
        evidence = self.reader.evidence
        arn = f"arn:{evidence.partition}:iam::aws:policy/root-task/{self.task}"

        def fetch():
            # AssumeRoot is served by regional STS endpoints only.
            sts = self.reader.session().client("sts", region_name=evidence.region)
            return guarded("sts:AssumeRoot", lambda: retry(
                sts.assume_root, TargetPrincipal=self.member_id, TaskPolicyArn={"arn": arn},
                DurationSeconds=ROOT_SESSION_SECONDS)["Credentials"])
        return self._value(self._get(
            (evidence.account_id, "sts", "AssumeRoot", self.member_id, self.task), fetch))

    @property
    def iam(self):
        if self._iam is None:
            creds = self.credentials()
            self._iam = self.reader.session().client(
                "iam", region_name=self.reader.evidence.region,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"])
        return self._iam

    def read(self, operation, params, call):
        return self._value(self._get(
            (self.member_id, "iam", operation, *params),
            lambda: guarded(f"iam:{operation} (as root of {self.member_id})", lambda: retry(call))))

    def _pages(self, operation, method, key):
        def call():
            # required members (botocore's model): a page without one is unreadable, not "none"
            return [item for page in self.iam.get_paginator(method).paginate()
                    for item in page[key]]
        return self.read(operation, (), call)

    def login_profile(self):
        """Root's LoginProfile, or None when root has no password (NoSuchEntity)."""
        def call():
            try:
                return self.iam.get_login_profile()["LoginProfile"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
                    return None
                raise
        return self.read("GetLoginProfile", (), call)

    def audit(self, last_used=True):
        """A :class:`RootAudit` of the member's root user; ReadFailed names the first failed call."""
        keys = []
        for key in self._pages("ListAccessKeys", "list_access_keys", "AccessKeyMetadata"):
            key = dict(key)
            if last_used:
                key["LastUsed"] = self.read(
                    "GetAccessKeyLastUsed", (key["AccessKeyId"],),
                    lambda k=key["AccessKeyId"]: self.iam.get_access_key_last_used(
                        AccessKeyId=k)["AccessKeyLastUsed"])
            keys.append(key)
        return RootAudit(
            login_profile=self.login_profile(),
            access_keys=tuple(keys),
            signing_certificates=tuple(self._pages(
                "ListSigningCertificates", "list_signing_certificates", "Certificates")),
            mfa_devices=tuple(self._pages("ListMFADevices", "list_mfa_devices", "MFADevices")),
        )


def member_scope(reader, resource):
    """None when AssumeRoot can target this account, else the not-applicable Verdict."""
    member_id = resource["Id"]
    if member_id == reader.organization().get("MasterAccountId"):
        return not_applicable(f"{member_id} is the management account: AssumeRoot targets members only")
    status = inactive_status(resource)
    if status:
        return not_applicable(f"account {member_id} is {status}, not active")
    return None


@OrgAccount.filter_registry.register("member-root-credentials")
class MemberRootCredentials(RootguardFilter):
    """Flags member accounts whose real root credentials match every selected condition
    (``match: all``, the default, as ``root-credentials``) or any of them (``match: any``).

    For each member, ``sts:AssumeRoot`` with the ``IAMAuditRootUserCredentials`` task reads root's
    login profile, access keys (inactive ones too, with last use), signing certificates and MFA
    devices (kind from the serial: ``:u2f/`` passkey or security key, ``:mfa/`` virtual, other
    hardware TOTP). ``password``, ``access-keys``, ``active-access-keys``, ``signing-certificates``
    and ``active-signing-certificates`` flag presence (``true``) or absence (``false``); ``mfa``
    flags root MFA states (``none``, ``virtual``, ``hardware``, ``passkey``; the weakest device
    decides) when root holds a password, key or certificate; ``min-mfa-devices: N`` flags root
    holding a password, key or certificate with fewer than N MFA devices (AWS allows up to 8: a
    second device keeps the account recoverable when one is lost). The management account (AssumeRoot
    targets members only) and accounts outside an organization are not-applicable: their root's
    devices cannot be listed this way. Without options: any password, key or certificate flags. A
    member whose AssumeRoot or read fails is could-not-evaluate with the reason; the others are still
    read. Needs centralized root access (RootSessions) enabled.

    :example:

    .. code-block:: yaml

        policies:
          - name: member-root-credentials-present
            resource: aws.org-account
            filters:
              - type: member-root-credentials
                match: any
                password: true
                access-keys: true
                signing-certificates: true
                mfa: [none, virtual]
                min-mfa-devices: 2
    """

    schema = type_schema(
        "member-root-credentials",
        mfa={"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(MFA_STATES)}},
        match={"enum": ["all", "any"]},
        **{"min-mfa-devices": {"type": "integer", "minimum": 1, "maximum": 8}},
        **{name: {"type": "boolean"} for name in CREDENTIAL_CONDITIONS})
    schema_alias = False
    # The IAM reads run as the member's root under the task policy, not as the caller.
    permissions = ("organizations:DescribeOrganization", "sts:AssumeRoot")

    def verdict(self, resource):
        reader = OrgReader(self.manager)
        try:
            skip = member_scope(reader, resource)
            if skip:
                return skip
            audit = RootSession(reader, resource["Id"], AUDIT_TASK).audit()
        except ReadFailed as failure:
            if failure.code == "AWSOrganizationsNotInUseException":
                return not_applicable(f"not in an organization ({failure}): a standalone account's root "
                                      "devices cannot be listed through AssumeRoot")
            return could_not_evaluate(str(failure))
        conditions = {n: self.data[n] for n in CREDENTIAL_CONDITIONS if n in self.data} or None
        return decide_member_root_credentials(audit, conditions, self.data.get("mfa", ()),
                                              self.data.get("match", "all"), self.data.get("min-mfa-devices"))


@OrgAccount.action_registry.register("delete-root-credentials")
class DeleteRootCredentials(RecordedAction):
    """Deletes the selected root credentials of member accounts through AssumeRoot.

    Lists what root holds (an ``IAMAuditRootUserCredentials`` session) and removes only the kinds in
    ``credentials``: ``login-profile`` (password), ``access-keys``, ``signing-certificates``,
    ``mfa-devices`` (deactivated), through an ``IAMDeleteRootUserCredentials`` session. Each step
    leaves root no weaker than before: password, keys and certificates go first, MFA last and only
    once root holds no password, key or certificate; the first failure stops the member's deletions
    and every record names what was removed, what failed and what was not attempted. The management
    account and suspended accounts are skipped. A member with nothing left to delete gets no write;
    ``--dryrun`` records the deletions it would make and never assumes the delete task. Needs
    centralized root access (RootSessions) enabled.

    :example:

    .. code-block:: yaml

        policies:
          - name: delete-member-root-credentials
            resource: aws.org-account
            filters:
              - type: member-root-credentials
            actions:
              - type: delete-root-credentials
                credentials: [login-profile, access-keys, signing-certificates, mfa-devices]
    """

    schema = type_schema(
        "delete-root-credentials",
        required=["credentials"],
        credentials={"type": "array", "minItems": 1, "uniqueItems": True,
                     "items": {"enum": list(CREDENTIAL_KINDS)}})
    schema_alias = False
    # The IAM list/delete calls run as the member's root under the task policy, not as the caller.
    permissions = ("organizations:DescribeOrganization", "sts:AssumeRoot")
    # The remediation role may assume root only with the two task policies the pack uses
    # (condition key sts:TaskPolicyArn, IAM User Guide "Perform a privileged task on a member account").
    permission_scopes = {"sts:AssumeRoot": [{
        "Resource": "arn:aws:iam::*:root",
        # sts:TaskPolicyArn is a String key (AWS's service authorization reference): a string operator.
        "Condition": {"StringEquals": {"sts:TaskPolicyArn": [
            f"arn:aws:iam::aws:policy/root-task/{AUDIT_TASK}",
            f"arn:aws:iam::aws:policy/root-task/{DELETE_TASK}"]}}}]}

    DELETES = {
        "login-profile": ("iam:DeleteLoginProfile", lambda iam, _: iam.delete_login_profile()),
        "access-keys": ("iam:DeleteAccessKey",
                        lambda iam, key: iam.delete_access_key(AccessKeyId=key)),
        "signing-certificates": ("iam:DeleteSigningCertificate",
                                 lambda iam, cert: iam.delete_signing_certificate(CertificateId=cert)),
        "mfa-devices": ("iam:DeactivateMFADevice",
                        lambda iam, serial: iam.deactivate_mfa_device(SerialNumber=serial)),
    }

    def process(self, resources):
        reader = OrgReader(self.manager)
        journal = self.write_log(reader.evidence.account_id)
        for resource in resources:
            try:
                self.process_member(reader, resource, journal)
            except ReadFailed as failure:
                journal.note([resource], resource["Id"], "failed", str(failure))
        return journal.records

    def process_member(self, reader, resource, journal):
        member = resource["Id"]
        skip = member_scope(reader, resource)
        if skip:
            return journal.note([resource], member, "skipped", skip.reason)
        # Read with the audit task (read-only); the delete task is assumed only to delete.
        audit = RootSession(reader, member, AUDIT_TASK, cached=False).audit(last_used=False)
        plan, held_back = deletion_plan(audit, self.data["credentials"])
        if held_back:
            journal.note([resource], member, "held-back", held_back)
        if not plan:
            if not held_back:
                journal.note([resource], member, "nothing-to-delete",
                             f"root holds none of {', '.join(self.data['credentials'])}")
            return None

        def not_attempted(steps, reason):
            journal.not_attempted([resource], member, [
                (f"{self.DELETES[k][0]} (as root of {member})", i, f"{k} {i}") for k, i in steps], reason)

        iam = None
        if not self.dryrun:
            try:
                iam = RootSession(reader, member, DELETE_TASK, cached=False).iam
            except ReadFailed as failure:
                journal.note([resource], member, "failed", str(failure), call="sts:AssumeRoot",
                             target=DELETE_TASK)
                return not_attempted(plan, "no root session with the delete task")
        for index, (kind, ident) in enumerate(plan):
            call, delete = self.DELETES[kind]
            detail = f"{'deactivate' if kind == 'mfa-devices' else 'delete'} root {kind} {ident}"
            try:
                journal.write([resource], member, f"{call} (as root of {member})", ident, detail,
                              lambda: delete(iam, ident))
            except WriteFailed:
                return not_attempted(plan[index + 1:], f"stopped at the first failure ({kind} {ident})")
        return None
