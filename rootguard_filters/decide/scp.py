"""Decide whether an SCP in effect denies the root user of a member account.

Pure: works only on an :class:`OrgSnapshot` (one walk of the organization); no API calls here.

A statement *covers* (denies root) when it is ``Effect: Deny``, its ``Action`` covers every
required action (default ``"*"``), its ``Resource`` includes ``"*"``, it names no Principal other
than ``*``, and its Condition holds for ``arn:<partition>:iam::<account>:root`` using only
``aws:PrincipalArn`` (any string/ARN operator, wildcards evaluated) plus exemptions for AssumeRoot
sessions such as ``"Null": {"aws:AssumedRoot": "true"}``. ``NotAction``/``NotResource``, ``Allow``,
conditions on other keys (they narrow the deny) and principal patterns that miss this account's
root do not cover. A Deny with no Condition at all denies every principal, root included, so it
covers.

Malformed policies: a policy whose Content cannot be parsed cannot cover. If nothing else covers
an account and a malformed policy applies to it, the verdict is could-not-evaluate naming that
policy — it might have been the guardrail, so "non-compliant" would be a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rootguard_filters.logic.iam_policy import (
    PolicyDocumentError,
    Statement,
    check_principal_condition,
    parse_policy,
    parse_statement,
    pattern_covers,
)
from rootguard_filters.verdict import (
    Verdict,
    compliant,
    could_not_evaluate,
    non_compliant,
    not_applicable,
)

ALL_ACTIONS = ("*",)


def root_arn(account_id: str, partition: str = "aws") -> str:
    """The root user's ARN, e.g. ``arn:aws:iam::123456789012:root``."""
    return f"arn:{partition}:iam::{account_id}:root"


def _normalize_required(required_actions) -> tuple[str, ...]:
    if isinstance(required_actions, str):
        required_actions = (required_actions,)
    required = tuple(required_actions or ())
    return required or ALL_ACTIONS


def _uncovered_actions(statement: Statement, required: tuple[str, ...]) -> list[str]:
    """Required actions that no Action pattern of the statement covers."""
    patterns = statement.actions or ()
    if required == ALL_ACTIONS:
        # "deny everything" needs a literal "*": "iam:*" + "s3:*" never adds up to all services
        return [] if "*" in patterns else ["*"]
    return [r for r in required if not any(pattern_covers(p, r) for p in patterns)]


def _principal_is_everyone(principal) -> bool:
    if principal is None or principal == "*":
        return True
    return isinstance(principal, dict) and set(principal) == {"AWS"} and principal["AWS"] in ("*", ["*"])


def statement_denies_root(statement, account_id: str, partition: str = "aws",
                          required_actions=ALL_ACTIONS) -> tuple[bool, str]:
    """Does this statement deny the required actions on every resource to the account's root?

    ``statement`` is a raw statement dict or a parsed :class:`Statement`. A malformed raw statement
    returns ``(False, reason)``.
    """
    if not isinstance(statement, Statement):
        try:
            statement = parse_statement(statement)
        except PolicyDocumentError as error:
            return False, f"malformed statement: {error}"
    required = _normalize_required(required_actions)
    label = statement.label
    arn = root_arn(account_id, partition)
    if statement.effect != "Deny":
        return False, f"{label}: Effect is {statement.effect!r}, not 'Deny'"
    if statement.not_actions is not None:
        return False, f"{label}: uses NotAction, so some actions stay allowed"
    missing = _uncovered_actions(statement, required)
    if missing:
        return False, (f"{label}: Action {list(statement.actions)} does not cover "
                       f"required action(s) {missing}")
    if statement.not_resources is not None:
        return False, f"{label}: uses NotResource, so some resources stay allowed"
    if statement.resources is None or "*" not in statement.resources:
        return False, f"{label}: Resource is {list(statement.resources or [])}, not '*'"
    if statement.not_principal is not None:
        return False, f"{label}: uses NotPrincipal"
    if not _principal_is_everyone(statement.principal):
        return False, f"{label}: Principal {statement.principal!r} is not everyone"
    check = check_principal_condition(statement.conditions, arn)
    if check.other:
        return False, f"{label}: condition narrows the deny: {'; '.join(check.other)}"
    if check.failed:
        return False, f"{label}: condition does not match {arn}: {'; '.join(check.failed)}"
    actions = "all actions" if required == ALL_ACTIONS else f"actions {list(required)}"
    if not statement.conditions:
        return True, f"{label}: denies {actions} to every principal, {arn} included"
    return True, f"{label}: denies {actions} to {arn}"


def document_denies_root(content, account_id: str, partition: str = "aws",
                         required_actions=ALL_ACTIONS) -> tuple[bool, str]:
    """Does any statement of this policy (DescribePolicy ``Content``) deny root?

    Malformed content returns ``(False, "malformed policy document: ...")``; it never raises.
    """
    try:
        document = parse_policy(content)
    except PolicyDocumentError as error:
        return False, f"malformed policy document: {error}"
    return _parsed_document_denies_root(document, account_id, partition, required_actions)


def _parsed_document_denies_root(document, account_id, partition, required_actions):
    rejections = []
    for statement in document.statements:
        covers, reason = statement_denies_root(statement, account_id, partition, required_actions)
        if covers:
            return True, reason
        rejections.append(reason)
    if not rejections:
        return False, "policy has no statements"
    return False, "no statement denies root: " + " | ".join(rejections)


# --------------------------------------------------------------------------- organization snapshot

@dataclass
class OrgSnapshot:
    """What one walk of the organization yields; every decision reads only this.

    ``parent_of`` maps accounts and OUs to their parent (OU or root id). ``accounts`` maps account
    ids to ``{"Status": ..., "Name": ...}``; ``policies`` maps SCP ids to
    ``{"Name", "Arn", "Content"}``; ``targets_of`` maps SCP ids to the ids they are attached to.
    """
    management_account_id: str | None
    root_id: str
    scp_enabled: bool
    parent_of: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    policies: dict = field(default_factory=dict)
    targets_of: dict = field(default_factory=dict)
    ou_names: dict = field(default_factory=dict)
    partition: str = "aws"
    # memos: ancestor paths, policies per target, parsed documents
    _paths: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _attached: dict | None = field(default=None, init=False, repr=False, compare=False)
    _parsed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @staticmethod
    def scp_enabled_from_root(root: dict) -> bool:
        """Read a ListRoots entry: is SERVICE_CONTROL_POLICY listed with Status ENABLED?"""
        return any(t.get("Type") == "SERVICE_CONTROL_POLICY" and t.get("Status") == "ENABLED"
                   for t in root.get("PolicyTypes") or ())

    def path_to_root(self, node_id: str) -> tuple[list[str], bool]:
        """Ids from ``node_id`` up through its OUs; ``(path, reaches_root)``.

        Memoized per node, so 1,000 accounts under shared OUs cost one walk per OU. A parent link
        that is missing or loops leaves ``reaches_root`` False.
        """
        if node_id in self._paths:
            return self._paths[node_id]
        trail, seen, current = [], set(), node_id
        while True:
            if current in self._paths:  # reuse an ancestor's walk
                rest, reaches = self._paths[current]
                break
            if current == self.root_id:
                rest, reaches = [current], True
                break
            if current in seen or current not in self.parent_of:
                rest, reaches = ([] if current in seen else [current]), False
                break
            seen.add(current)
            trail.append(current)
            current = self.parent_of[current]
        # record the answer for every node we walked through
        for depth in range(len(trail) - 1, -1, -1):
            rest = [trail[depth]] + rest
            self._paths[trail[depth]] = (rest, reaches)
        if not trail:
            self._paths[node_id] = (rest, reaches)
        return self._paths[node_id]

    def policies_attached_to(self, target_id: str) -> list[str]:
        """SCP ids attached directly to ``target_id`` (inverted ``targets_of``, built once)."""
        if self._attached is None:
            attached = {}
            for policy_id, targets in self.targets_of.items():
                for target in targets or ():
                    attached.setdefault(target, []).append(policy_id)
            self._attached = attached
        return self._attached.get(target_id, [])

    def parsed_policy(self, policy_id: str):
        """Parsed document, or the :class:`PolicyDocumentError` explaining why it is not usable."""
        if policy_id not in self._parsed:
            policy = self.policies.get(policy_id)
            if policy is None or policy.get("Content") is None:
                result = PolicyDocumentError("policy content not in the snapshot")
            else:
                try:
                    result = parse_policy(policy["Content"])
                except PolicyDocumentError as error:
                    result = error
            self._parsed[policy_id] = result
        return self._parsed[policy_id]

    def describe_target(self, target_id: str) -> dict:
        """``{"type": account|ou|root, "id", "name"}`` for an attachment point."""
        if target_id == self.root_id:
            return {"type": "root", "id": target_id, "name": None}
        if target_id in self.accounts:
            return {"type": "account", "id": target_id,
                    "name": (self.accounts[target_id] or {}).get("Name")}
        return {"type": "ou", "id": target_id, "name": self.ou_names.get(target_id)}


def _target_text(target: dict) -> str:
    kind = {"root": "organization root", "account": "account", "ou": "OU"}[target["type"]]
    name = f" ({target['name']})" if target.get("name") else ""
    return f"{kind} {target['id']}{name}"


def _policy_text(policy_id: str, snapshot: OrgSnapshot) -> str:
    name = (snapshot.policies.get(policy_id) or {}).get("Name")
    return f"{policy_id} ({name})" if name else policy_id


def _inactive_status(account: dict) -> str | None:
    """The status that makes an account out of scope (SUSPENDED, PENDING_CLOSURE, CLOSED)."""
    for key in ("Status", "State"):
        status = (account or {}).get(key)
        if status and str(status).upper() != "ACTIVE":
            return str(status).upper()
    return None


def decide_root_scp(snapshot: OrgSnapshot, account_id: str,
                    required_actions=ALL_ACTIONS) -> Verdict:
    """Verdict for one account: does an SCP in effect deny its root user?"""
    account_id = str(account_id)
    required = _normalize_required(required_actions)
    if snapshot.management_account_id and account_id == snapshot.management_account_id:
        return not_applicable(
            f"{account_id} is the management account; SCPs never apply to it",
            path=[], required_actions=list(required))
    if account_id not in snapshot.accounts:
        return could_not_evaluate(
            f"account {account_id} is not in the organization snapshot",
            path=[], required_actions=list(required))
    inactive = _inactive_status(snapshot.accounts[account_id])
    if inactive:
        return not_applicable(f"account {account_id} is {inactive}, not active",
                              path=[], required_actions=list(required))

    path, reaches_root = snapshot.path_to_root(account_id)
    path = list(path)  # the memoized list is shared; callers may mutate details
    if not reaches_root:
        # policies at the root apply to every account, even if an OU link is missing
        path = path + [snapshot.root_id]
    base_details = {"path": path, "required_actions": list(required),
                    "covering_policy": None, "attached_to": None}

    if not snapshot.scp_enabled:
        return non_compliant(
            f"the SERVICE_CONTROL_POLICY policy type is not enabled on root {snapshot.root_id}: "
            f"no SCP applies to account {account_id}, so nothing denies its root user",
            **base_details, checked=[], rejections={}, malformed={})

    checked, rejections, malformed = [], {}, {}
    for target_id in path:
        target = snapshot.describe_target(target_id)
        for policy_id in snapshot.policies_attached_to(target_id):
            checked.append({"policy": policy_id, "attached_to": target})
            parsed = snapshot.parsed_policy(policy_id)
            if isinstance(parsed, PolicyDocumentError):
                malformed[policy_id] = f"malformed policy document: {parsed}"
                rejections[policy_id] = malformed[policy_id]
                continue
            covers, reason = _parsed_document_denies_root(
                parsed, account_id, snapshot.partition, required)
            if covers:
                policy = snapshot.policies.get(policy_id) or {}
                return compliant(
                    f"SCP {_policy_text(policy_id, snapshot)} attached to {_target_text(target)} "
                    f"denies the root user of {account_id}: {reason}",
                    **{**base_details,
                       "covering_policy": {"id": policy_id, "name": policy.get("Name"),
                                           "arn": policy.get("Arn")},
                       "attached_to": target},
                    checked=checked, rejections=rejections, malformed=malformed)
            rejections[policy_id] = reason

    details = dict(base_details, checked=checked, rejections=rejections, malformed=malformed)
    where = " -> ".join(path)
    if malformed:
        names = ", ".join(_policy_text(p, snapshot) for p in malformed)
        return could_not_evaluate(
            f"no readable SCP on {where} denies the root user of {account_id}, and "
            f"malformed SCP(s) {names} apply, so coverage cannot be decided", **details)
    if not reaches_root:
        return could_not_evaluate(
            f"the ancestry of account {account_id} is incomplete in the snapshot "
            f"(walked {where}); no SCP found that denies its root user", **details)
    if not checked:
        return non_compliant(
            f"no SCP is attached anywhere on {where}; nothing denies the root user of {account_id}",
            **details)
    summary = "; ".join(f"{_policy_text(c['policy'], snapshot)} on {_target_text(c['attached_to'])}"
                        for c in checked)
    return non_compliant(
        f"no SCP on {where} denies the root user of {account_id} (checked {summary})", **details)
