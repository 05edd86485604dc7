"""The deny-root SCP: ``root-scp`` and ``attach-root-scp`` on ``aws.org-account``.

The decisions live in ``decide/scp.py`` (coverage) and ``decide/scp_plan.py`` (what to attach).
"""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from c7n.actions import BaseAction
from c7n.resources.org import OrgAccount
from c7n.utils import type_schema

from rootguard_filters.base import RootguardFilter
from rootguard_filters.decide.scp import decide_root_scp
from rootguard_filters.decide.scp_plan import TARGETS, plan_root_scp, reference_deny_root_scp
from rootguard_filters.evidence import describe_error
from rootguard_filters.options import CheckedOptions
from rootguard_filters.organization import (
    ORG_READ_PERMISSIONS, SCP, STALE_FIX, OrgReader, ReadFailed, annotate_action, org_snapshot,
    stale_resource_ids)
from rootguard_filters.verdict import could_not_evaluate

log = logging.getLogger("custodian.rootguard")


@OrgAccount.filter_registry.register("root-scp")
class RootScp(RootguardFilter):
    """Flags member accounts whose root user no SCP in effect denies (by content, not by name).

    Reads the organization once per run (SCPs, their content and targets, one walk of the OU tree)
    and decides per account whether the union of the Deny statements of every SCP attached to the
    account, its ancestor OUs and the root — each where its conditions hold for the root user —
    denies ``arn:<partition>:iam::<account>:root`` every required action in ``actions`` (default
    ``["*"]``) for every request. Several statements or policies may share the work; ``NotAction``
    is a complement; Resource and other condition keys narrow a deny. A hole is non-compliant with a
    witness (an action, and the region/condition value or resource where it matters, root can still
    use); a condition that cannot be evaluated is could-not-evaluate, never compliant. AssumeRoot
    sessions exempted as in AWS's reference SCP are accepted and reported as exempt. The management
    account and suspended accounts are not-applicable; a failed Organizations read flags every
    account as could-not-evaluate, naming the call.

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

    def process(self, resources, event=None):
        self.stale_ids = stale_resource_ids(self, resources)
        return super().process(resources, event)

    def verdict(self, resource):
        snapshot = org_snapshot(self.manager)
        if not snapshot.ok:
            return could_not_evaluate(f"cannot read the organization: {snapshot.error}")
        if resource["Id"] in getattr(self, "stale_ids", ()):
            return could_not_evaluate(f"account {resource['Id']} is not in the organization: "
                                      f"the resource list is stale; {STALE_FIX}")
        return decide_root_scp(snapshot.value, resource["Id"], self.data.get("actions", ["*"]))


@OrgAccount.action_registry.register("attach-root-scp")
class AttachRootScp(CheckedOptions, BaseAction):
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
