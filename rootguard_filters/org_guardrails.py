"""Organization guardrails: root-denying SCPs, centralized root access, member root credentials.

Filters and actions on ``aws.org-account`` (run in the management account or a delegated
administrator) and ``aws.account``. The AWS reads live here; the decisions in ``decide/scp.py`` and
``decide/org_features.py``.
"""
import logging
from collections import deque

from botocore.exceptions import BotoCoreError, ClientError
from c7n.actions import BaseAction
from c7n.resources.account import Account
from c7n.resources.org import OrgAccount
from c7n.utils import type_schema

from rootguard_filters.base import RootguardFilter, inactive_status
from rootguard_filters.decide.org_features import (
    CREDENTIAL_CONDITIONS, CREDENTIAL_KINDS, FEATURES, MFA_STATES, ROOT_CREDENTIALS_MANAGEMENT,
    TARGETS, RootAudit, decide_member_root_credentials, decide_root_credentials_management,
    deletion_plan, plan_root_scp, reference_deny_root_scp)
from rootguard_filters.decide.scp import OrgSnapshot, decide_root_scp
from rootguard_filters.evidence import (
    RUN_CACHE, AccountEvidence, Evidence, describe_error, guarded, retry)
from rootguard_filters.verdict import could_not_evaluate, not_applicable

log = logging.getLogger("custodian.rootguard")

ACTIONS_KEY = "c7n:rootguard-actions"
SCP = "SERVICE_CONTROL_POLICY"
ORG_READ_PERMISSIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
)
AUDIT_TASK = "IAMAuditRootUserCredentials"
DELETE_TASK = "IAMDeleteRootUserCredentials"
# AssumeRoot's maximum; each member's reads take seconds.
ROOT_SESSION_SECONDS = 900


class ReadFailed(Exception):
    """An AWS read failed; ``str()`` names the call and the error."""

    def __init__(self, evidence):
        super().__init__(evidence.error)
        self.code = evidence.error_code


def annotate_action(resource, record):
    resource.setdefault(ACTIONS_KEY, []).append(record)


# --------------------------------------------------------------------------- Organizations reads

class OrgReader:
    """Organizations reads from the caller's account.

    ``cached`` reads go through RUN_CACHE (one call per run however many filters ask); actions read
    uncached so they compare against the state as it is when they write.
    """

    def __init__(self, manager, cached=True):
        self.manager = manager
        self.evidence = AccountEvidence(manager)
        self.cached = cached
        self._client = None

    def session(self):
        # aws.org-account may name an org-access-role in its query: use the session it builds.
        org_session = getattr(self.manager, "get_org_session", None)
        return org_session() if org_session else self.evidence.session()

    @property
    def client(self):
        if self._client is None:
            self._client = self.session().client("organizations", region_name=self.evidence.region)
        return self._client

    def read(self, operation, params, call):
        """Value of one read; :class:`ReadFailed` naming the call when it failed."""
        def fetch():
            return guarded(f"organizations:{operation}", lambda: retry(call))
        key = (self.evidence.account_id, "organizations", operation, *params)
        outcome = RUN_CACHE.get(key, fetch) if self.cached else fetch()
        if not outcome.ok:
            raise ReadFailed(outcome)
        return outcome.value

    def pages(self, operation, method, result_key, **params):
        """Every item of a paginated read."""
        def call():
            items = []
            for page in self.client.get_paginator(method).paginate(**params):
                # always in a real answer: a page without it is unreadable, not "none"
                items.extend(page[result_key])
            return items
        return self.read(operation, tuple(sorted(params.items())), call)

    def organization(self):
        return self.read("DescribeOrganization", (),
                         lambda: self.client.describe_organization()["Organization"])

    def root(self):
        roots = self.pages("ListRoots", "list_roots", "Roots")
        if not roots:
            raise ReadFailed(Evidence.failure("organizations:ListRoots returned no root", "NoRoot"))
        return roots[0]

    def snapshot(self):
        """One walk of the organization: policies, their targets and the OU tree, as an OrgSnapshot.

        Costs 3 + 2 × SCPs + (OUs + 1) × pages calls, independent of the accounts' depth.
        """
        organization = self.organization()
        root = self.root()
        policies, targets_of = {}, {}
        for summary in self.pages("ListPolicies", "list_policies", "Policies", Filter=SCP):
            policy_id = summary["Id"]
            described = self.read("DescribePolicy", (policy_id,),
                                  lambda p=policy_id: self.client.describe_policy(PolicyId=p)["Policy"])
            policies[policy_id] = {"Name": summary.get("Name"), "Arn": summary.get("Arn"),
                                   "Content": described.get("Content")}
            targets_of[policy_id] = [t["TargetId"] for t in self.pages(
                "ListTargetsForPolicy", "list_targets_for_policy", "Targets", PolicyId=policy_id)]
        parent_of, accounts, ou_names = {}, {}, {}
        parents = deque([root["Id"]])
        while parents:
            parent = parents.popleft()
            for ou in self.pages("ListOrganizationalUnitsForParent",
                                 "list_organizational_units_for_parent",
                                 "OrganizationalUnits", ParentId=parent):
                parent_of[ou["Id"]] = parent
                ou_names[ou["Id"]] = ou.get("Name")
                parents.append(ou["Id"])
            for account in self.pages("ListAccountsForParent", "list_accounts_for_parent",
                                      "Accounts", ParentId=parent):
                parent_of[account["Id"]] = parent
                accounts[account["Id"]] = {"Status": account.get("Status"),
                                           "Name": account.get("Name")}
        return OrgSnapshot(
            management_account_id=organization.get("MasterAccountId"),
            root_id=root["Id"],
            scp_enabled=OrgSnapshot.scp_enabled_from_root(root),
            parent_of=parent_of, accounts=accounts, policies=policies,
            targets_of=targets_of, ou_names=ou_names, partition=self.evidence.partition)


def org_snapshot(manager):
    """The run's OrgSnapshot as Evidence (built once per caller account), or the failed read."""
    reader = OrgReader(manager)

    def build():
        try:
            return Evidence(value=reader.snapshot())
        except ReadFailed as failure:
            return Evidence.failure(str(failure), failure.code)
    return RUN_CACHE.get((reader.evidence.account_id, "organizations", "OrgSnapshot"), build)


# --------------------------------------------------------------------------- IAM reads

def organizations_features(evidence):
    """``iam:ListOrganizationsFeatures`` as Evidence (errors kept with their code)."""
    def fetch():
        return guarded("iam:ListOrganizationsFeatures",
                       lambda: retry(evidence.client("iam").list_organizations_features),
                       expected_codes=("AccountNotManagementOrDelegatedAdministratorException",))
    return RUN_CACHE.get((evidence.account_id, "iam", "ListOrganizationsFeatures"), fetch)


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


# --------------------------------------------------------------------------- filters

@OrgAccount.filter_registry.register("root-scp")
class RootScp(RootguardFilter):
    """Flags member accounts whose root user no SCP in effect denies (by content, not by name).

    Reads the organization once per run (SCPs, their content and targets, one walk of the OU tree)
    and decides per account whether a Deny statement attached to the account, an ancestor OU or
    the root denies ``arn:<partition>:iam::<account>:root`` the required ``actions`` (default
    ``["*"]``). The management account and suspended accounts are not-applicable; a failed
    Organizations read flags every account as could-not-evaluate, naming the call. The annotation
    names the covering policy and where it is attached, or why none covers.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-scp-missing
            resource: aws.org-account
            filters:
              - type: root-scp
                actions: ["*"]
    """

    schema = type_schema(
        "root-scp",
        actions={"type": "array", "minItems": 1, "uniqueItems": True,
                 "items": {"type": "string", "minLength": 1},
                 "description": "IAM action patterns an SCP must deny to root (default [\"*\"])."})
    schema_alias = False
    permissions = ORG_READ_PERMISSIONS

    def verdict(self, resource):
        snapshot = org_snapshot(self.manager)
        if not snapshot.ok:
            return could_not_evaluate(f"cannot read the organization: {snapshot.error}")
        return decide_root_scp(snapshot.value, resource["Id"], self.data.get("actions", ["*"]))


@Account.filter_registry.register("root-credentials-management")
class RootCredentialsManagement(RootguardFilter):
    """Flags the account when a selected centralized root access feature is not enabled.

    Reads ``iam:ListOrganizationsFeatures`` (``RootCredentialsManagement``, ``RootSessions``);
    ``features`` selects what must be enabled (default ``[RootCredentialsManagement]``). Member
    accounts (``AccountNotManagementOrDelegatedAdministratorException``) and accounts outside an
    organization are not-applicable; missing trusted access for IAM or an organization without all
    features means the features are off (non-compliant); any other error is could-not-evaluate.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-credentials-management-disabled
            resource: aws.account
            filters:
              - type: root-credentials-management
                features: [RootCredentialsManagement, RootSessions]
    """

    schema = type_schema(
        "root-credentials-management",
        features={"type": "array", "minItems": 1, "uniqueItems": True,
                  "items": {"enum": list(FEATURES)}})
    schema_alias = False
    permissions = ("iam:ListOrganizationsFeatures",)

    def verdict(self, resource):
        features = organizations_features(AccountEvidence(self.manager))
        return decide_root_credentials_management(
            features.value, features.error, features.error_code,
            self.data.get("features", [ROOT_CREDENTIALS_MANAGEMENT]))


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
    decides) when root holds a password, key or certificate. Without options: any password, key
    or certificate flags. A member whose AssumeRoot or read fails is could-not-evaluate with the
    reason; the others are still read. Needs centralized root access (RootSessions) enabled.

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
    """

    schema = type_schema(
        "member-root-credentials",
        mfa={"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(MFA_STATES)}},
        match={"enum": ["all", "any"]},
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
            return could_not_evaluate(str(failure))
        conditions = {n: self.data[n] for n in CREDENTIAL_CONDITIONS if n in self.data} or None
        return decide_member_root_credentials(audit, conditions, self.data.get("mfa", ()),
                                              self.data.get("match", "all"))


# --------------------------------------------------------------------------- actions

@OrgAccount.action_registry.register("attach-root-scp")
class AttachRootScp(BaseAction):
    """Attaches an SCP that denies the root user, so each account's root is covered.

    Reuses an existing SCP whose content denies root (matched by content, whatever its name), else
    creates AWS's reference deny-root SCP (Deny ``*`` on ``*`` for ``arn:<partition>:iam::*:root``,
    AssumeRoot sessions exempt). ``target`` attaches it to the organization ``root`` (default), the
    account's parent ``ou`` or the ``account``; accounts already covered, the management account
    and suspended accounts are left alone. When the SERVICE_CONTROL_POLICY type is disabled nothing
    is attached unless ``enable-policy-type: true``. Never detaches or edits a policy. A second
    run writes nothing; ``--dryrun`` (or ``dryrun`` in the config) reports what would be done.

    :example:

    .. code-block:: yaml

        policies:
          - name: attach-root-scp
            resource: aws.org-account
            filters:
              - type: root-scp
            actions:
              - type: attach-root-scp
                target: root
                enable-policy-type: true
    """

    schema = type_schema(
        "attach-root-scp",
        target={"enum": list(TARGETS)},
        **{"enable-policy-type": {"type": "boolean"},
           "policy-name": {"type": "string", "minLength": 1, "maxLength": 128}})
    schema_alias = False
    permissions = ORG_READ_PERMISSIONS + ("organizations:CreatePolicy", "organizations:AttachPolicy")

    def get_permissions(self):
        extra = ("organizations:EnablePolicyType",) if self.data.get("enable-policy-type") else ()
        return self.permissions + extra

    def process(self, resources):
        reader = OrgReader(self.manager, cached=False)
        try:
            snapshot = reader.snapshot()
        except ReadFailed as failure:
            return self._record(resources, "failed", f"cannot read the organization: {failure}")
        dryrun = bool(self.manager.config.dryrun)
        if not snapshot.scp_enabled:
            if not self.data.get("enable-policy-type"):
                return self._record(resources, "skipped",
                                    f"SERVICE_CONTROL_POLICY is disabled on {snapshot.root_id}; "
                                    "set enable-policy-type: true to enable it")
            error = self._write(dryrun, "EnablePolicyType", reader.client.enable_policy_type,
                                RootId=snapshot.root_id, PolicyType=SCP)
            if error:
                return self._record(resources, "failed", error)
            self._record(resources, "would-enable-policy-type" if dryrun else "enabled-policy-type",
                         f"SERVICE_CONTROL_POLICY on {snapshot.root_id}")
            snapshot.scp_enabled = True

        plan = plan_root_scp(snapshot, [r["Id"] for r in resources], self.data.get("target", "root"))
        by_id = {r["Id"]: r for r in resources}
        for account_id, reason in plan.skipped.items():
            self._record([by_id[account_id]], "skipped", reason)
        for account_id, target in plan.attached.items():
            self._record([by_id[account_id]], "already-attached",
                         f"SCP {plan.policy_id} ({plan.policy_name}) is already on {target}")
        if not plan.targets:
            return
        policy_id, error = plan.policy_id, None
        if policy_id is None:
            policy_id, error = self._create_policy(reader.client, snapshot.partition, dryrun)
        for target in dict.fromkeys(plan.targets.values()):
            accounts = [by_id[a] for a, t in plan.targets.items() if t == target]
            if error:
                self._record(accounts, "failed", error)
                continue
            attach_error = self._write(dryrun, "AttachPolicy", reader.client.attach_policy,
                                       PolicyId=policy_id, TargetId=target)
            if attach_error:
                self._record(accounts, "failed", attach_error)
            else:
                self._record(accounts, "would-attach" if dryrun else "attached",
                             f"SCP {policy_id or 'to be created'} on {target}",
                             policy=policy_id, target=target,
                             created=plan.policy_id is None)

    def _create_policy(self, client, partition, dryrun):
        """(policy id, error); a dryrun creates nothing and returns (None, None)."""
        name = self.data.get("policy-name", "rootguard-deny-root-user")
        if dryrun:
            return None, None
        try:
            response = self.manager.retry(
                client.create_policy, Name=name, Type=SCP,
                Description="Denies the root user of member accounts (AssumeRoot sessions exempt); "
                            "created by rootguard attach-root-scp",
                Content=reference_deny_root_scp(partition))
        except (ClientError, BotoCoreError) as error:
            message, _ = describe_error("organizations:CreatePolicy", error)
            log.error("rootguard: %s", message)
            return None, message
        return response["Policy"]["PolicySummary"]["Id"], None

    def _write(self, dryrun, operation, call, **params):
        """Run one write unless dryrun; the error text, or None."""
        if dryrun:
            return None
        try:
            self.manager.retry(call, **params)
        except (ClientError, BotoCoreError) as error:
            message, _ = describe_error(f"organizations:{operation}", error)
            log.error("rootguard: %s", message)
            return message
        return None

    def _record(self, resources, result, detail, **extra):
        for resource in resources:
            annotate_action(resource, {"action": self.type, "result": result, "detail": detail, **extra})


@OrgAccount.action_registry.register("delete-root-credentials")
class DeleteRootCredentials(BaseAction):
    """Deletes the selected root credentials of member accounts through AssumeRoot.

    Assumes root in each member with the ``IAMDeleteRootUserCredentials`` task, lists what root
    holds and removes only the kinds in ``credentials``: ``login-profile`` (password),
    ``access-keys``, ``signing-certificates``, ``mfa-devices`` (deactivated). The management
    account and suspended accounts are skipped. Each deletion is annotated; a member with nothing
    left to delete gets no write, and ``--dryrun`` (or ``dryrun`` in the config) only reports. Needs
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

    DELETES = {
        "login-profile": ("DeleteLoginProfile", lambda iam, _: iam.delete_login_profile()),
        "access-keys": ("DeleteAccessKey",
                        lambda iam, key: iam.delete_access_key(AccessKeyId=key)),
        "signing-certificates": ("DeleteSigningCertificate",
                                 lambda iam, cert: iam.delete_signing_certificate(CertificateId=cert)),
        "mfa-devices": ("DeactivateMFADevice",
                        lambda iam, serial: iam.deactivate_mfa_device(SerialNumber=serial)),
    }

    def process(self, resources):
        reader = OrgReader(self.manager)
        dryrun = bool(self.manager.config.dryrun)
        for resource in resources:
            try:
                self.process_member(reader, resource, dryrun)
            except ReadFailed as failure:
                self._record(resource, "failed", str(failure))

    def process_member(self, reader, resource, dryrun):
        skip = member_scope(reader, resource)
        if skip:
            return self._record(resource, "skipped", skip.reason)
        session = RootSession(reader, resource["Id"], DELETE_TASK, cached=False)
        plan = deletion_plan(session.audit(last_used=False), self.data["credentials"])
        if not plan:
            return self._record(resource, "nothing-to-delete",
                                f"root holds none of {', '.join(self.data['credentials'])}")
        for kind, ident in plan:
            operation, delete = self.DELETES[kind]
            if dryrun:
                self._record(resource, "would-delete", f"{kind} {ident}", kind=kind, id=ident)
                continue
            try:
                retry(delete, session.iam, ident)
            except (ClientError, BotoCoreError) as error:
                message, _ = describe_error(f"iam:{operation} (as root of {resource['Id']})", error)
                log.error("rootguard: %s", message)
                self._record(resource, "failed", message, kind=kind, id=ident)
            else:
                self._record(resource, "deleted", f"{kind} {ident}", kind=kind, id=ident)

    def _record(self, resource, result, detail, **extra):
        annotate_action(resource, {"action": self.type, "result": result, "detail": detail, **extra})
