"""``attach-root-scp`` (pure): which SCP to attach where so every member's root is denied.

An SCP attached at the organization root applies to every principal of every member account, so the
plan reuses an existing policy only when :func:`root_scoped_deny` proves that nothing it denies can
apply to a principal other than a root user. Anything it cannot prove (an Allow, a statement without
a root-only ``aws:PrincipalArn`` condition, an IfExists or set operator on that key, a document that
does not parse) rules the policy out: the pack then creates its own.
"""
import json
import re
from dataclasses import dataclass, field

from rootguard_filters.decide.scp import decide_root_scp, document_denies_root
from rootguard_filters.logic.iam_policy import (
    PRINCIPAL_ARN_KEY, PolicyDocumentError, parse_policy, split_operator, strict_json_loads)
from rootguard_filters.verdict import COMPLIANT, NOT_APPLICABLE

DEFAULT_POLICY_NAME = "rootguard-deny-root-user"
# Tag on the policy the pack creates; the remediation role may attach only policies carrying it.
MANAGED_TAG = {"Key": "rootguard:managed", "Value": "attach-root-scp"}

# A principal ARN pattern that can only match root users: arn:<partition>:iam::<account>:root where
# the account part is 12 digits or wildcards and holds no ':' or '/'. IAM user, role and
# assumed-role names cannot contain ':', so nothing else ends in ":root" after "iam::<account>".
_ROOT_ONLY_PATTERN = re.compile(r"arn:(\*|aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):iam::[0-9?*]{1,12}:root")
# Positive comparisons of aws:PrincipalArn (no IfExists, no set qualifier, no negation).
_ROOT_SCOPING_OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")


def _clause_scopes_to_root(clause):
    operator = split_operator(clause.operator)
    return (clause.key == PRINCIPAL_ARN_KEY and operator is not None
            and operator.base in _ROOT_SCOPING_OPERATORS
            and not operator.if_exists and operator.qualifier is None
            and all(_ROOT_ONLY_PATTERN.fullmatch(value) for value in clause.values))


def root_scoped_deny(content):
    """``(True, why)`` when every statement is a Deny that applies only to root users, else
    ``(False, the first reason it is not)``.

    A statement applies only to root when one of its (ANDed) condition clauses requires
    ``aws:PrincipalArn`` to be a root ARN (positive operator, every value root-only). Further
    clauses only narrow it further. Allow statements, Principal/NotPrincipal and unparseable
    content are rejected: when in doubt, the policy is not reused.
    """
    try:
        document = parse_policy(content)
    except PolicyDocumentError as error:
        return False, f"malformed policy document: {error}"
    if not document.statements:
        return False, "policy has no statements"
    for statement in document.statements:
        label = statement.label
        if statement.effect != "Deny":
            return False, f"{label}: Effect is {statement.effect!r}; only Deny statements can be reused"
        if statement.principal is not None or statement.not_principal is not None:
            return False, f"{label}: names a Principal/NotPrincipal"
        if not any(_clause_scopes_to_root(c) for c in statement.conditions):
            return False, (f"{label}: denies without a condition limiting it to root users "
                           f"(aws:PrincipalArn = arn:<partition>:iam::<account>:root), so it can "
                           f"deny other principals")
    return True, "every statement is a Deny limited to root users by aws:PrincipalArn"

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
    rejected: dict = field(default_factory=dict)   # policy id -> why it is not reused (it covers)
    pack_edited: str = None         # why the pack's own policy cannot be created (its name is taken
                                    # by an edited copy), else None
    blocked: str = None             # pack_edited, when no existing policy is reused either
    skipped: dict = field(default_factory=dict)    # account -> reason
    targets: dict = field(default_factory=dict)    # account -> target id to attach to
    attached: dict = field(default_factory=dict)   # account -> target the policy is already on


def covering_policy(snapshot, account_ids, rejected=None, prefer_name=DEFAULT_POLICY_NAME):
    """Id of an existing SCP whose content denies the root user of every account and denies
    nothing to anyone else (:func:`root_scoped_deny`), the pack's own (``prefer_name``) first;
    policies that cover but are not root-scoped are put in ``rejected`` (id -> reason)."""
    def order(policy_id):
        name = snapshot.policies[policy_id].get("Name") or ""
        return (name != prefer_name, name, policy_id)
    for policy_id in sorted(snapshot.policies, key=order):
        content = snapshot.policies[policy_id].get("Content")
        if content is None or not all(
                document_denies_root(content, a, snapshot.partition)[0] for a in account_ids):
            continue
        scoped, reason = root_scoped_deny(content)
        if scoped:
            return policy_id
        if rejected is not None:
            rejected[policy_id] = reason
    return None


def pack_policy_edited(snapshot, name):
    """``(policy id, reason)`` when a policy with the pack's name exists but is not the reference
    policy the pack creates (someone edited it), else ``(None, None)``."""
    for policy_id, policy in snapshot.policies.items():
        if policy.get("Name") != name:
            continue
        try:
            same = strict_json_loads(policy.get("Content") or "null") == json.loads(
                reference_deny_root_scp(snapshot.partition))
        except PolicyDocumentError:  # not JSON, or a repeated key that could hide an edit
            same = False
        if not same:
            return policy_id, (f"SCP {policy_id} ({name}) exists but its content is not the pack's "
                               f"deny-root policy (edited?): not re-created or attached; review it, "
                               f"or set policy-name to create another")
    return None, None


def target_for(snapshot, account_id, target):
    """Where the SCP goes for an account: the organization root, its parent (OU or root), or itself."""
    if target == "root":
        return snapshot.root_id
    if target == "ou":
        return snapshot.parent_of.get(account_id)
    return account_id


def plan_root_scp(snapshot, account_ids, target="root", policy_name=DEFAULT_POLICY_NAME):
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
    plan.policy_id = covering_policy(snapshot, todo, plan.rejected, policy_name)
    _, plan.pack_edited = pack_policy_edited(snapshot, policy_name)
    if plan.policy_id:
        plan.policy_name = snapshot.policies[plan.policy_id].get("Name")
    else:
        plan.policy_name = policy_name
        plan.blocked = plan.pack_edited
    on = set(snapshot.targets_of.get(plan.policy_id, ())) if plan.policy_id else set()
    for account_id in todo:
        where = target_for(snapshot, account_id, target)
        (plan.attached if where in on else plan.targets)[account_id] = where
    return plan
