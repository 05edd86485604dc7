"""Decide whether the SCPs in effect deny the root user of a member account.

Pure: works only on an :class:`OrgSnapshot` (one walk of the organization); no API calls here.

The actions denied to an account's root user are the union over every Deny statement of every SCP
attached to the account, its ancestor OUs and the root, each counted where its conditions hold for
the root user's requests (``NotAction`` is a complement; ``Resource`` other than ``*`` and
conditions on keys other than the root-identifying ones narrow it). Root is covered when that
union holds every required action (default ``*``) for every request; see
:mod:`rootguard_filters.decide.scp_coverage` for how this is decided and how the witness of a hole
(an action, condition values, a resource root can still use) is found. AssumeRoot sessions are
exempt when the statements say so (AWS's reference SCP does), and the verdict says it.

Malformed policies: a policy whose Content cannot be parsed cannot cover. If the rest does not
cover an account and a malformed policy applies to it, the verdict is could-not-evaluate naming
that policy — it might have been the guardrail, so "non-compliant" would be a guess.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rootguard_filters.decide.scp_coverage import (
    COVERED,
    DECISION_SECONDS,
    HOLE,
    Coverage,
    decide_coverage,
    deny_statements,
    witness_text,
)
from rootguard_filters.logic.action_globs import ActionSearchTooLarge, uncovered_action
from rootguard_filters.logic.iam_policy import (
    PolicyDocument,
    PolicyDocumentError,
    Statement,
    parse_policy,
    parse_statement,
)
from rootguard_filters.verdict import (
    Verdict,
    compliant,
    could_not_evaluate,
    non_compliant,
    not_applicable,
)

ALL_ACTIONS = ("*",)
ASSUMED_ROOT_NOTE = ("AssumeRoot sessions (aws:AssumedRoot present) are exempt, as in AWS's "
                     "reference SCP; root sign-ins are denied")


def root_arn(account_id: str, partition: str = "aws") -> str:
    """The root user's ARN, e.g. ``arn:aws:iam::123456789012:root``."""
    return f"arn:{partition}:iam::{account_id}:root"


def _normalize_required(required_actions) -> tuple[str, ...]:
    if isinstance(required_actions, str):
        required_actions = (required_actions,)
    required = tuple(required_actions or ())
    return required or ALL_ACTIONS


def _actions_text(required) -> str:
    return "all actions" if tuple(required) == ALL_ACTIONS else f"actions {list(required)}"


def _coverage_text(coverage: Coverage, account_id: str, partition: str, required) -> str:
    """One sentence for a document-level answer (statement/document helpers, attach planning)."""
    arn = root_arn(account_id, partition)
    notes = " | ".join(f"{label}: {note}" for label, note in coverage.notes.items())
    if coverage.status == COVERED:
        labels = ", ".join(d.label for d in coverage.contributing)
        whom = (f"every principal, {arn} included"
                if all(not d.clauses for d in coverage.contributing) else arn)
        verb = "together deny" if len(coverage.contributing) > 1 else "denies"
        text = f"{labels}: {verb} {_actions_text(required)} to {whom}"
        return text + (f" ({ASSUMED_ROOT_NOTE})" if coverage.assumed_root_exempt else "")
    if coverage.status == HOLE:
        text = (f"the union of the deny statements that apply does not cover "
                f"{witness_text(coverage.witness)}: {arn} can still do it")
    else:
        text = f"coverage of {arn} cannot be decided: {coverage.reason}"
    return text + (f" [{notes}]" if notes else "")


def _document_coverage(document: PolicyDocument, account_id, partition, required) -> Coverage:
    denies, notes = deny_statements(document)
    coverage = decide_coverage(denies, account_id, partition, required)
    coverage.notes = {**notes, **coverage.notes}
    return coverage


def statement_denies_root(statement, account_id: str, partition: str = "aws",
                          required_actions=ALL_ACTIONS) -> tuple[bool, str]:
    """Does this one statement deny the required actions to the account's root on every request?

    ``statement`` is a raw statement dict or a parsed :class:`Statement`. A malformed raw statement
    returns ``(False, reason)``.
    """
    if not isinstance(statement, Statement):
        try:
            statement = parse_statement(statement)
        except PolicyDocumentError as error:
            return False, f"malformed statement: {error}"
    return _document_answer(PolicyDocument(None, (statement,)), str(account_id), partition,
                            required_actions)


def document_denies_root(content, account_id: str, partition: str = "aws",
                         required_actions=ALL_ACTIONS) -> tuple[bool, str]:
    """Do the statements of this policy (DescribePolicy ``Content``) together deny root?

    Malformed content returns ``(False, "malformed policy document: ...")``; it never raises.
    """
    try:
        document = parse_policy(content)
    except PolicyDocumentError as error:
        return False, f"malformed policy document: {error}"
    if not document.statements:
        return False, "policy has no statements"
    return _document_answer(document, str(account_id), partition, required_actions)


def _document_answer(document, account_id, partition, required_actions):
    required = _normalize_required(required_actions)
    coverage = _document_coverage(document, account_id, partition, required)
    return coverage.status == COVERED, _coverage_text(coverage, account_id, partition, required)


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
    organization_id: str | None = None   # aws:PrincipalOrgID of every member's root
    # memos: ancestor paths, policies per target, parsed documents
    _paths: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _attached: dict | None = field(default=None, init=False, repr=False, compare=False)
    _parsed: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _denies: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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

    def deny_statements_of(self, policy_id: str):
        """``(deny statements, notes)`` of a policy, or the :class:`PolicyDocumentError`; memoized."""
        if policy_id not in self._denies:
            parsed = self.parsed_policy(policy_id)
            self._denies[policy_id] = (parsed if isinstance(parsed, PolicyDocumentError)
                                       else deny_statements(parsed, policy_id))
        return self._denies[policy_id]

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


def _first_action(required) -> str:
    """Any required action, spelled like a real one (the witness when nothing at all denies root)."""
    try:
        return uncovered_action(tuple(required), ()) or required[0]
    except ActionSearchTooLarge:
        return required[0]


def decide_root_scp(snapshot: OrgSnapshot, account_id: str,
                    required_actions=ALL_ACTIONS, seconds: float = DECISION_SECONDS) -> Verdict:
    """Verdict for one account: do the SCPs in effect together deny its root user?

    The whole decision gets ``seconds``; past them it is could-not-evaluate, saying so.
    """
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
                    "covering_policy": None, "attached_to": None, "covering_statements": [],
                    "witness": None}

    if not snapshot.scp_enabled:
        witness = {"action": _first_action(required), "conditions": {}, "resource": None}
        return non_compliant(
            f"the SERVICE_CONTROL_POLICY policy type is not enabled on root {snapshot.root_id}: "
            f"no SCP applies to account {account_id}, so nothing denies its root user "
            f"(it can still perform {witness_text(witness)})",
            **{**base_details, "witness": witness}, checked=[], rejections={}, malformed={})

    checked, malformed, denies, notes, where_attached = [], {}, [], {}, {}
    coverage = None
    deadline = time.monotonic() + seconds

    def remaining():  # the union is re-decided as policies are added: one budget for them all
        return max(deadline - time.monotonic(), 0.0)

    for target_id in path:
        target = snapshot.describe_target(target_id)
        for policy_id in snapshot.policies_attached_to(target_id):
            checked.append({"policy": policy_id, "attached_to": target})
            where_attached.setdefault(policy_id, target)
            parsed = snapshot.deny_statements_of(policy_id)
            if isinstance(parsed, PolicyDocumentError):
                malformed[policy_id] = f"malformed policy document: {parsed}"
                continue
            policy_denies, policy_notes = parsed
            notes.update(policy_notes)
            if policy_denies:
                denies.extend(policy_denies)
                coverage = decide_coverage(denies, account_id, snapshot.partition, required,
                                           _org_context(snapshot), seconds=remaining())
                if coverage.status == COVERED:
                    break
        if coverage is not None and coverage.status == COVERED:
            break
    if coverage is None:
        coverage = decide_coverage([], account_id, snapshot.partition, required)
    notes.update(coverage.notes)
    rejections = _rejections(checked, malformed, notes, coverage)
    details = dict(base_details, checked=checked, rejections=rejections, malformed=malformed)
    if coverage.status == COVERED:
        return _compliant(snapshot, account_id, coverage, where_attached, details)

    where = " -> ".join(path)
    if coverage.status == HOLE:
        details["witness"] = coverage.witness
    hole = (f"its root user can still perform {witness_text(coverage.witness)}"
            if coverage.status == HOLE else coverage.reason)
    if malformed:
        names = ", ".join(_policy_text(p, snapshot) for p in malformed)
        return could_not_evaluate(
            f"the readable SCPs on {where} do not deny the root user of {account_id} ({hole}), "
            f"and malformed SCP(s) {names} apply, so coverage cannot be decided", **details)
    if not reaches_root:
        return could_not_evaluate(
            f"the ancestry of account {account_id} is incomplete in the snapshot "
            f"(walked {where}); the SCPs found do not deny its root user ({hole})", **details)
    if coverage.status != HOLE:
        return could_not_evaluate(
            f"cannot decide whether the SCPs on {where} deny the root user of {account_id}: {hole}",
            **details)
    if not checked:
        return non_compliant(
            f"no SCP is attached anywhere on {where}; nothing denies the root user of {account_id}: "
            f"{hole}", **details)
    summary = "; ".join(f"{_policy_text(c['policy'], snapshot)} on {_target_text(c['attached_to'])}"
                        for c in checked)
    return non_compliant(
        f"the SCPs on {where} do not deny the root user of {account_id} everything required: "
        f"{hole} (checked {summary})", **details)


def _org_context(snapshot) -> dict:
    """Keys the organization fixes for every member's root (its organization id)."""
    return {"aws:principalorgid": snapshot.organization_id} if snapshot.organization_id else {}


def _rejections(checked, malformed, notes, coverage) -> dict:
    """Per policy that did not take part in a covering union: why, statement by statement."""
    contributing = {d.policy_id for d in coverage.contributing} if coverage.status == COVERED else set()
    rejections = {}
    for entry in checked:
        policy_id = entry["policy"]
        if policy_id in contributing or policy_id in rejections:
            continue
        if policy_id in malformed:
            rejections[policy_id] = malformed[policy_id]
            continue
        own = [f"{label.split(' ', 1)[1]}: {note}" for label, note in notes.items()
               if label.split(" ", 1)[0] == policy_id]
        rejections[policy_id] = (" | ".join(own) if own else
                                 "its deny statements apply but do not cover the required actions alone")
    return rejections


def _compliant(snapshot, account_id, coverage, where_attached, details) -> Verdict:
    statements = [{"policy": d.policy_id, "statement": d.statement.sid or d.statement.index,
                   "attached_to": where_attached.get(d.policy_id)} for d in coverage.contributing]
    policy_ids = list(dict.fromkeys(d.policy_id for d in coverage.contributing))
    sources = "; ".join(f"SCP {_policy_text(p, snapshot)} attached to {_target_text(where_attached[p])}"
                        for p in policy_ids)
    arn = root_arn(account_id, snapshot.partition)
    whom = (f"every principal, {arn} included" if all(not d.clauses for d in coverage.contributing)
            else arn)
    details["covering_statements"] = statements
    if len(policy_ids) == 1:
        policy = snapshot.policies.get(policy_ids[0]) or {}
        details["covering_policy"] = {"id": policy_ids[0], "name": policy.get("Name"),
                                      "arn": policy.get("Arn")}
        details["attached_to"] = where_attached[policy_ids[0]]
    labels = ", ".join(d.label for d in coverage.contributing)
    reason = (f"{sources} {'denies' if len(policy_ids) == 1 else 'together deny'} "
              f"{_actions_text(details['required_actions'])} to the root user of {account_id} "
              f"({labels}: deny to {whom})")
    if coverage.assumed_root_exempt:
        details["assumed_root_sessions"] = ASSUMED_ROOT_NOTE
        reason += f"; {ASSUMED_ROOT_NOTE}"
    return compliant(reason, **details)
