"""The deny-root SCP: ``root-scp`` and ``attach-root-scp`` on ``aws.org-account``.

The decisions live in ``decide/scp.py`` (coverage) and ``decide/scp_plan.py`` (what to attach).
"""
from c7n.resources.org import OrgAccount
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter
from rootguard_filters.decide.scp import decide_root_scp
from rootguard_filters.decide.scp_coverage import DECISION_SECONDS
from rootguard_filters.decide.scp_plan import (
    DEFAULT_POLICY_NAME, MANAGED_TAG, TARGETS, plan_root_scp, reference_deny_root_scp)
from rootguard_filters.plumbing.organization import (
    ORG_READ_PERMISSIONS, SCP, STALE_FIX, OrgReader, ReadFailed, org_snapshot, stale_resource_ids)
from rootguard_filters.verdict import could_not_evaluate
from rootguard_filters.plumbing.writes import RecordedAction, WriteFailed

ACCESS_DENIED = ("AccessDenied", "AccessDeniedException")


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
                decision-seconds: 5
    """

    schema = type_schema(
        "root-scp",
        actions={"type": "array", "minItems": 1, "uniqueItems": True,
                 "items": {"type": "string", "minLength": 1},
                 "description": "IAM action patterns an SCP must deny to root (default [\"*\"])."},
        **{"decision-seconds": {
            "type": "number", "exclusiveMinimum": 0, "maximum": 600,
            "description": "Time one account's decision may take; past it the verdict is "
                           "could-not-evaluate, saying so (default 5)."}})
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
        return decide_root_scp(snapshot.value, resource["Id"], self.data.get("actions", ["*"]),
                               self.data.get("decision-seconds", DECISION_SECONDS))


@OrgAccount.action_registry.register("attach-root-scp")
class AttachRootScp(RecordedAction):
    """Attaches an SCP that denies the root user, so each account's root is covered.

    Reuses an existing SCP only when it covers the accounts *and* every statement is a Deny limited
    to root users by ``aws:PrincipalArn`` (a quarantine "deny everything" SCP or a baseline that
    also denies regions is never spread); otherwise creates AWS's reference deny-root SCP (Deny
    ``*`` on ``*`` for ``arn:<partition>:iam::*:root``, AssumeRoot sessions exempt), named
    ``policy-name`` and tagged ``rootguard:managed=attach-root-scp``. A policy of that name whose
    content was edited is reported, not re-created. The pack's own policy is preferred when it
    exists; when attaching another reusable policy is denied (the shipped role attaches only SCPs
    carrying the pack's tag), the pack's own is created and attached instead. ``target`` attaches it to the organization
    ``root`` (default), the account's parent ``ou`` or the ``account``; accounts already covered,
    the management account and suspended accounts are left alone. When the SERVICE_CONTROL_POLICY
    type is disabled nothing is attached unless ``enable-policy-type: true``. Never detaches or
    edits a policy. A second run writes nothing.

    Every write is recorded under ``c7n:rootguard-actions`` and in the ``action-*`` file
    (account, call, target, result); ``--dryrun`` records the writes it would make. A failure
    stops the writes that depend on it and names what was already done (e.g. a policy created
    but not attached).

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
    # CreatePolicy with Tags also needs organizations:TagResource (Organizations API reference).
    permissions = ORG_READ_PERMISSIONS + ("organizations:CreatePolicy", "organizations:TagResource",
                                          "organizations:AttachPolicy")
    # How the remediation role scopes the writes (iam/remediation-role.json; checked by
    # tests/iam/test_least_privilege.py), per the Service Authorization Reference for Organizations:
    # AttachPolicy needs the policy *and* the target allowed, the policy only when it carries the
    # pack's tag (aws:ResourceTag); CreatePolicy and its tagging only with that one tag
    # (aws:RequestTag, aws:TagKeys). An existing deny-root SCP the action reuses must carry the tag
    # for this role to attach it.
    permission_scopes = {
        # CreatePolicy has no resource type (AWS authorizes it on "*"): narrowed by the request instead,
        # an SCP carrying the pack's tag and no other tag key.
        "organizations:CreatePolicy": [{
            "Resource": "*",
            "Condition": {
                "StringEquals": {f"aws:RequestTag/{MANAGED_TAG['Key']}": MANAGED_TAG["Value"],
                                 "organizations:PolicyType": SCP},
                "ForAllValues:StringEquals": {"aws:TagKeys": [MANAGED_TAG["Key"]]}}}],
        "organizations:TagResource": [{
            "Resource": "arn:aws:organizations::*:policy/o-*/service_control_policy/p-*",
            "Condition": {
                "StringEquals": {f"aws:RequestTag/{MANAGED_TAG['Key']}": MANAGED_TAG["Value"]},
                "ForAllValues:StringEquals": {"aws:TagKeys": [MANAGED_TAG["Key"]]}}}],
        "organizations:AttachPolicy": [
            {"Resource": "arn:aws:organizations::*:policy/o-*/service_control_policy/p-*",
             "Condition": {"StringEquals": {
                 f"aws:ResourceTag/{MANAGED_TAG['Key']}": MANAGED_TAG["Value"]}}},
            {"Resource": ["arn:aws:organizations::*:root/o-*/r-*",
                          "arn:aws:organizations::*:ou/o-*/ou-*",
                          "arn:aws:organizations::*:account/o-*/*"]}],
    }

    def get_permissions(self):
        extra = ("organizations:EnablePolicyType",) if self.data.get("enable-policy-type") else ()
        return self.permissions + extra

    def process(self, resources):
        reader = OrgReader(self.manager, cached=False)
        journal = self.write_log(reader.evidence.account_id)
        caller = reader.evidence.account_id
        try:
            snapshot = reader.snapshot()
        except ReadFailed as failure:
            for r in resources:
                journal.note([r], r["Id"], "failed", f"cannot read the organization: {failure}")
            return journal.records
        if not snapshot.scp_enabled:
            if not self.data.get("enable-policy-type"):
                for r in resources:
                    journal.note([r], r["Id"], "skipped",
                                 f"SERVICE_CONTROL_POLICY is disabled on {snapshot.root_id}; "
                                 "set enable-policy-type: true to enable it")
                return journal.records
            try:
                journal.write(resources, caller, "organizations:EnablePolicyType", snapshot.root_id,
                              f"enable SERVICE_CONTROL_POLICY on {snapshot.root_id}",
                              reader.client.enable_policy_type, RootId=snapshot.root_id, PolicyType=SCP)
            except WriteFailed as failure:
                journal.not_attempted(resources, caller, [
                    ("organizations:AttachPolicy", None, "attach the deny-root SCP")], str(failure))
                return journal.records
            snapshot.scp_enabled = True

        name = self.data.get("policy-name", DEFAULT_POLICY_NAME)
        plan = plan_root_scp(snapshot, [r["Id"] for r in resources], self.data.get("target", "root"), name)
        by_id = {r["Id"]: r for r in resources}
        for account_id, reason in plan.skipped.items():
            journal.note([by_id[account_id]], account_id, "skipped", reason)
        for account_id, target in plan.attached.items():
            journal.note([by_id[account_id]], account_id, "already-attached",
                         f"SCP {plan.policy_id} ({plan.policy_name}) is already on {target}",
                         target=target, policy=plan.policy_id)
        if not plan.targets:
            return journal.records
        todo = [by_id[a] for a in plan.targets]
        for policy_id, reason in plan.rejected.items():
            journal.note(todo, caller, "not-reused", f"SCP {policy_id} "
                         f"({snapshot.policies[policy_id].get('Name')}) covers root but is not reused: {reason}",
                         policy=policy_id)
        if plan.blocked:
            for r in todo:
                journal.note([r], r["Id"], "failed", plan.blocked, target=plan.targets[r["Id"]])
            return journal.records
        policy_id, created = plan.policy_id, False
        targets = list(dict.fromkeys(plan.targets.values()))
        if policy_id is None:
            try:
                policy_id, created = self._create_policy(journal, todo, reader.client, snapshot.partition, name), True
            except WriteFailed as failure:
                self._not_attempted(journal, todo, caller, targets, str(failure))
                return journal.records
        index = 0
        while index < len(targets):
            target = targets[index]
            accounts = [by_id[a] for a, t in plan.targets.items() if t == target]
            try:
                journal.write(accounts, caller, "organizations:AttachPolicy", target,
                              f"attach SCP {policy_id or name + ' (to be created)'} to {target}",
                              reader.client.attach_policy, extra={"policy": policy_id},
                              PolicyId=policy_id or "(dryrun)", TargetId=target)
            except WriteFailed as failure:
                if not created and failure.code in ACCESS_DENIED and not plan.pack_edited:
                    # The role may attach only the pack's tagged SCP: use the pack's own instead.
                    journal.note(accounts, caller, "falling-back",
                                 f"cannot attach SCP {policy_id} ({plan.policy_name}): creating the pack's "
                                 f"own {name} instead", policy=policy_id, target=target)
                    try:
                        policy_id = self._create_policy(journal, todo, reader.client, snapshot.partition, name)
                    except WriteFailed as create_failure:
                        self._not_attempted(journal, todo, caller, targets[index:], str(create_failure))
                        return journal.records
                    created = True
                    continue
                if created:
                    journal.note(accounts, caller, "left-behind",
                                 f"SCP {policy_id} ({name}) was created but is not attached to {target}; "
                                 "the next run attaches it", policy=policy_id, target=target)
            index += 1
        return journal.records

    @staticmethod
    def _not_attempted(journal, resources, caller, targets, reason):
        journal.not_attempted(resources, caller, [
            ("organizations:AttachPolicy", t, f"attach the deny-root SCP to {t}") for t in targets], reason)

    def _create_policy(self, journal, resources, client, partition, name):
        """The new policy's id (None under dryrun); WriteFailed after recording the failure."""
        response = journal.write(
            resources, self.manager.config.account_id, "organizations:CreatePolicy", name,
            f"create SCP {name} (AWS's reference deny-root policy)",
            client.create_policy, Name=name, Type=SCP,
            Description="Denies the root user of member accounts (AssumeRoot sessions exempt); "
                        "created by rootguard attach-root-scp",
            Content=reference_deny_root_scp(partition), Tags=[MANAGED_TAG])
        return response["Policy"]["PolicySummary"]["Id"] if response else None
