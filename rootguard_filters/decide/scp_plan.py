"""``attach-root-scp`` (pure): which SCP to attach where so every member's root is denied."""
import json
from dataclasses import dataclass, field

from rootguard_filters.decide.scp import decide_root_scp, document_denies_root
from rootguard_filters.verdict import COMPLIANT, NOT_APPLICABLE

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
