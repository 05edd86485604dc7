"""Is there an administrator other than root? (pure: ``iam:GetAccountAuthorizationDetails`` in, Verdict out)

A principal can administer the account when its identity policies — attached managed (the AWS
managed ``AdministratorAccess`` or a customer managed policy's default version), inline, or, for a
user, those of its groups — hold an ``Allow`` of every action (``*`` or ``*:*``) on every resource
(``*``), and no ``Deny`` of every action on every resource without a condition, and its permissions
boundary (if any) is ``AdministratorAccess`` or itself such an allow.

Counted: IAM users, and roles that people or other accounts can assume (trust policy naming an
``AWS`` or ``Federated`` principal: cross-account and break-glass roles, IAM Identity Center's
``AWSReservedSSO_*`` roles, which it creates from a permission set when assigned). Not counted:
service-linked roles and roles only AWS services assume (an instance role is no way in for a person).

Blind spots (not visible to these reads): SCPs and RCPs that deny the allow; conditions on the allow
(it still counts); resource policies; escalation paths short of ``*:*`` (e.g. ``iam:*``); Identity
Center permission sets not yet assigned to the account; whether a counted user can actually sign in.
"""
import json
from urllib.parse import unquote

from rootguard_filters.logic.iam_policy import PolicyDocumentError, parse_policy
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

ADMIN_POLICY_SUFFIX = ":policy/AdministratorAccess"
EVERYTHING = ("*", "*:*")


def _document(raw):
    if isinstance(raw, str):
        text = raw if raw.lstrip().startswith("{") else unquote(raw)
        return json.loads(text)
    return raw


def grants_everything(document):
    """(allows *:* on *, denies *:* on * unconditionally) for one policy document."""
    allows = denies = False
    for statement in parse_policy(_document(document)).statements:
        every_action = statement.actions is not None and any(a in EVERYTHING for a in statement.actions)
        every_resource = statement.resources is not None and "*" in statement.resources
        if not (every_action and every_resource):
            continue
        if statement.effect == "Allow":
            allows = True
        elif statement.effect == "Deny" and not statement.conditions:
            denies = True
    return allows, denies


def _default_version(policy):
    for version in policy.get("PolicyVersionList") or []:
        if version.get("IsDefaultVersion"):
            return version.get("Document")
    return None


def _trusted_by_people(role):
    try:
        trust = parse_policy(_document(role.get("AssumeRolePolicyDocument") or {"Statement": []}))
    except (PolicyDocumentError, ValueError):
        return False
    for statement in trust.statements:
        principal = statement.principal
        if statement.effect != "Allow" or principal is None:
            continue
        if principal == "*" or (isinstance(principal, dict) and ("AWS" in principal or "Federated" in principal)):
            return True
    return False


class _Judge:
    def __init__(self, details):
        self.local = {p["Arn"]: p for p in details.get("Policies") or []}
        self.groups = {g["GroupName"]: g for g in details.get("GroupDetailList") or []}
        self.problems = []

    def policy_grants(self, arn):
        """(allows, denies, label) of a managed policy by ARN."""
        if arn.endswith(ADMIN_POLICY_SUFFIX) and ":aws:policy/" in arn:
            return True, False, "AdministratorAccess"
        policy = self.local.get(arn)
        if policy is None:
            return False, False, None          # another AWS managed policy: not *:* (documented)
        try:
            allows, denies = grants_everything(_default_version(policy) or {"Statement": []})
        except (PolicyDocumentError, ValueError) as error:
            self.problems.append(f"{arn}: {error}")
            return False, False, None
        return allows, denies, policy.get("PolicyName")

    def entity(self, entry, inline_key):
        """(is admin, [what grants it]) of a user, group or role entry."""
        allows, denies, why = False, False, []
        for attached in entry.get("AttachedManagedPolicies") or []:
            a, d, label = self.policy_grants(attached.get("PolicyArn", ""))
            allows, denies = allows or a, denies or d
            if a:
                why.append(label)
        for inline in entry.get(inline_key) or []:
            try:
                a, d = grants_everything(inline.get("PolicyDocument") or {"Statement": []})
            except (PolicyDocumentError, ValueError) as error:
                self.problems.append(f"inline {inline.get('PolicyName')}: {error}")
                continue
            allows, denies = allows or a, denies or d
            if a:
                why.append(f"inline {inline.get('PolicyName')}")
        return allows, denies, why

    def boundary_allows(self, entry):
        boundary = (entry.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if not boundary:
            return True
        return self.policy_grants(boundary)[0]


def decide_admin_path(details, account_id, min_admins=1):
    """compliant when at least ``min_admins`` principals other than root can administer the account."""
    judge = _Judge(details)
    admins = []
    for user in details.get("UserDetailList") or []:
        allows, denies, why = judge.entity(user, "UserPolicyList")
        for group_name in user.get("GroupList") or []:
            group = judge.groups.get(group_name)
            if group:
                a, d, w = judge.entity(group, "GroupPolicyList")
                allows, denies = allows or a, denies or d
                why += [f"{x} (group {group_name})" for x in w]
        if allows and not denies and judge.boundary_allows(user):
            admins.append({"type": "user", "arn": user.get("Arn"), "name": user.get("UserName"), "via": why})
    for role in details.get("RoleDetailList") or []:
        if str(role.get("Path", "")).startswith("/aws-service-role/") or not _trusted_by_people(role):
            continue
        allows, denies, why = judge.entity(role, "RolePolicyList")
        if allows and not denies and judge.boundary_allows(role):
            kind = "identity-center-role" if str(role.get("RoleName", "")).startswith("AWSReservedSSO_") else "role"
            admins.append({"type": kind, "arn": role.get("Arn"), "name": role.get("RoleName"), "via": why})
    evidence = {"administrators": admins, "unreadable_policies": judge.problems,
                "checked": "IAM users and roles people or other accounts can assume; AdministratorAccess or "
                           "an Allow of * on *; SCPs, resource policies and escalation paths not seen"}
    names = ", ".join(f"{a['type']} {a['name']}" for a in admins[:5]) + (" …" if len(admins) > 5 else "")
    if len(admins) >= min_admins:
        return compliant(f"{len(admins)} principal(s) other than root can administer the account: {names}",
                         **evidence)
    if judge.problems:     # an unreadable document may be the one that grants administration
        return could_not_evaluate(f"{len(admins)} administrator(s) found, {min_admins} wanted, and "
                                  f"{len(judge.problems)} policy document(s) unreadable: {judge.problems[0]}",
                                  **evidence)
    unreadable = ""
    if admins:
        return non_compliant(f"only {len(admins)} principal(s) other than root can administer the account "
                             f"({names}); {min_admins} wanted{unreadable}", **evidence)
    return non_compliant("no IAM user or person-assumable role holds AdministratorAccess or an Allow of * on *: "
                         f"root is the only administrator of account {account_id}{unreadable}", **evidence)
