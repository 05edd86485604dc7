"""Sets of IAM actions described by glob patterns: is a union of denies a superset of what is required?

Pure. Action names match case-insensitively with ``*`` (any run) and ``?`` (one character). Each
pattern is a small automaton; :func:`uncovered_action` explores their product breadth-first over the
characters an action name can hold (``service-prefix:Name``), so "no action left" is decided exactly, not sampled, and when one is left the
shortest such action name is the counterexample. Familiar real actions are tried first so the
counterexample reads like something a person would run.
"""
from __future__ import annotations

import contextvars
import re
import time
from collections import deque
from contextlib import contextmanager
from functools import lru_cache

from rootguard_filters.logic.iam_policy import action_matches

# Tried before the search, in this order, so a witness is a real action where one fits.
FAMILIAR_ACTIONS = (
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:DeactivateMFADevice",
    "iam:UpdateAccountPasswordPolicy", "organizations:LeaveOrganization", "account:PutAlternateContact",
    "ec2:RunInstances", "s3:DeleteBucket", "s3:GetObject", "kms:ScheduleKeyDeletion",
    "cloudtrail:StopLogging", "sts:GetCallerIdentity", "lambda:InvokeFunction", "support:CreateCase",
)
# Every IAM action is ``<service prefix>:<name>``: prefixes use lower-case letters, digits and
# hyphens, names letters and digits (matched case-insensitively).
_ACTION_SHAPE = re.compile(r"[a-z0-9-]+:[a-z0-9]+", re.IGNORECASE)
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
STATE_LIMIT = 200_000


class ActionSearchTooLarge(RuntimeError):
    """The patterns' product automaton is too large to explore within :data:`STATE_LIMIT` states."""


class DecisionTimeout(ActionSearchTooLarge):
    """The decision did not end before the deadline set by :func:`time_limit`."""


_DEADLINE = contextvars.ContextVar("rootguard_decision_deadline", default=None)


@contextmanager
def time_limit(seconds):
    """Searches inside this block raise :class:`DecisionTimeout` once ``seconds`` have passed.

    A nested limit never extends an outer one.
    """
    outer = _DEADLINE.get()
    deadline = time.monotonic() + float(seconds)
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline():
    """Raise :class:`DecisionTimeout` when the current :func:`time_limit` has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise DecisionTimeout("the decision did not end within its time limit")


def _closure(pattern: str, positions) -> frozenset:
    """Positions reachable without reading a character (a ``*`` may match nothing)."""
    seen, todo = set(), list(positions)
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        if i < len(pattern) and pattern[i] == "*":
            todo.append(i + 1)
    return frozenset(seen)


def _step(pattern: str, positions: frozenset, char: str) -> frozenset:
    nxt = set()
    for i in positions:
        if i < len(pattern):
            head = pattern[i]
            if head == "*":
                nxt.add(i)
            elif head == "?" or head == char:
                nxt.add(i + 1)
    return _closure(pattern, nxt)


class _Union:
    """An NFA for a union of glob patterns: state is a frozenset of (pattern index, position)."""

    def __init__(self, patterns):
        self.patterns = tuple(p.lower() for p in patterns)

    def start(self):
        return frozenset((n, i) for n, p in enumerate(self.patterns) for i in _closure(p, {0}))

    def step(self, state, char):
        out = set()
        for n, p in enumerate(self.patterns):
            positions = frozenset(i for m, i in state if m == n)
            if positions:
                out.update((n, i) for i in _step(p, positions, char))
        return frozenset(out)

    def accepts(self, state):
        return any(i == len(self.patterns[n]) for n, i in state)

    def universal(self, state):
        return any(i < len(self.patterns[n]) and set(self.patterns[n][i:]) <= {"*"}
                   for n, i in state)


def _is_uncovered(action: str, required, denied, kept_groups) -> bool:
    return (any(action_matches(r, action) for r in required)
            and not any(action_matches(d, action) for d in denied)
            and all(any(action_matches(k, action) for k in group) for group in kept_groups))


def _familiar_candidates(required, denied, kept_groups):
    yield from FAMILIAR_ACTIONS
    for pattern in (*required, *denied, *(k for g in kept_groups for k in g)):
        for filler in ("", "x"):
            yield pattern.replace("*", filler).replace("?", "x")


@lru_cache(maxsize=4096)
def uncovered_action(required: tuple, denied: tuple, kept_groups: tuple = ()) -> str | None:
    """An action name matched by some ``required`` pattern that no deny reaches, or ``None``.

    ``denied`` are Action patterns of statements that apply; ``kept_groups`` has one tuple of
    patterns per applying ``NotAction`` statement (it denies every action outside its group). An
    action escapes when it matches a required pattern, no denied pattern, and a pattern in every
    group. ``None`` is a proof that no action-shaped name (``service:Name``) escapes. Raises
    :class:`ActionSearchTooLarge` rather than guess.
    """
    for candidate in _familiar_candidates(required, denied, kept_groups):
        if _ACTION_SHAPE.fullmatch(candidate) and _is_uncovered(candidate, required, denied, kept_groups):
            return candidate
    alphabet = _NAME_CHARS + "-:"
    want, deny = _Union(required), _Union(denied)
    keeps = tuple(_Union(g) for g in kept_groups)
    # shape: 0 = nothing read, 1 = in the service prefix, 2 = right after ':', 3 = in the name
    start = (want.start(), deny.start(), tuple(k.start() for k in keeps), 0)
    parents = {start: None}
    queue = deque([start])
    while queue:
        check_deadline()  # once per state: a state's successors cost a few milliseconds at most
        state = queue.popleft()
        w, d, ks, shape = state
        if shape == 3 and want.accepts(w) and not deny.accepts(d) and all(
                k.accepts(s) for k, s in zip(keeps, ks)):
            return _spell(parents, state)
        for char in alphabet:
            if char == ":":
                if shape != 1:
                    continue
                nshape = 2
            elif char == "-" and shape != 1:
                continue
            else:
                nshape = 1 if shape in (0, 1) else 3
            nw = want.step(w, char)
            if not nw:
                continue
            nd = deny.step(d, char)
            if deny.universal(nd):
                continue
            nks = tuple(k.step(s, char) for k, s in zip(keeps, ks))
            if any(not s for s in nks):
                continue
            nxt = (nw, nd, nks, nshape)
            if nxt not in parents:
                parents[nxt] = (state, char)
                if len(parents) > STATE_LIMIT:
                    raise ActionSearchTooLarge(
                        f"more than {STATE_LIMIT} states comparing {len(denied)} Action and "
                        f"{len(kept_groups)} NotAction pattern group(s)")
                queue.append(nxt)
    return None


def _spell(parents, state) -> str:
    chars = []
    while parents[state] is not None:
        state, char = parents[state]
        chars.append(char)
    return "".join(reversed(chars))


# --------------------------------------------------------------------------- condition values

RESOURCE_GLOB = "resource"   # ``wildcards`` value of an atom matched like a Resource element
_SEGMENT_STAR, _SEGMENT_ONE = "*:", "?:"   # wildcards that do not match ':'


class _Tokens:
    """A condition value as an automaton: ``*``/``?`` wildcards (``Like`` operators) or literal text,
    case-sensitive or not (``IgnoreCase``); with ``wildcards=RESOURCE_GLOB`` the wildcards of a
    ``Resource`` element (:func:`rootguard_filters.logic.iam_policy.resource_like`)."""

    def __init__(self, pattern: str, wildcards, ignore_case: bool):
        tokens = []
        for n, c in enumerate(pattern):
            if wildcards == RESOURCE_GLOB and c in "*?":
                segment_end = n + 1 == len(pattern) or pattern[n + 1] == ":"
                tokens.append("*" if c == "*" and segment_end else
                              _SEGMENT_STAR if c == "*" else _SEGMENT_ONE)
            elif wildcards and c in "*?":
                tokens.append(c)
            else:
                tokens.append(frozenset({c, c.lower(), c.upper()} if ignore_case else {c}))
        self.tokens = tuple(tokens)

    def start(self):
        return self._closure({0})

    def _closure(self, positions):
        seen, todo = set(), list(positions)
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            if i < len(self.tokens) and self.tokens[i] in ("*", _SEGMENT_STAR):
                todo.append(i + 1)
        return frozenset(seen)

    def step(self, positions, char):
        nxt = set()
        for i in positions:
            if i < len(self.tokens):
                token = self.tokens[i]
                if token == "*" or (token == _SEGMENT_STAR and char != ":"):
                    nxt.add(i)
                elif token == "?" or (token == _SEGMENT_ONE and char != ":"):
                    nxt.add(i + 1)
                elif isinstance(token, frozenset) and char in token:
                    nxt.add(i + 1)
        return self._closure(nxt)

    def accepts(self, positions):
        return len(self.tokens) in positions


@lru_cache(maxsize=1024)
def distinguishing_values(atoms: tuple, limit: int = STATE_LIMIT,
                          nonempty: bool = False) -> tuple[str, ...]:
    """One shortest string for every combination of matches the ``atoms`` can show.

    ``atoms`` are ``(pattern, wildcards, ignore_case)``. Any string matches exactly the same atoms as
    one of the returned strings, so trying these values decides every string condition on the key.
    With ``nonempty`` the same holds for every non-empty string, and no value is empty (for keys
    IAM never sends empty). Raises :class:`ActionSearchTooLarge` past ``limit`` states.
    """
    automata = [_Tokens(p, w, i) for p, w, i in atoms]
    mentioned = {c for p, w, _ in atoms for c in p if not (w and c in "*?")}
    if any(w == RESOURCE_GLOB for _, w, _ in atoms):
        mentioned.add(":")  # the segment wildcards tell ':' from other characters
    alphabet = sorted(mentioned | {c.lower() for c in mentioned} | {c.upper() for c in mentioned})
    # every unmentioned character behaves like this one; tried first, so values read as plain text
    alphabet.insert(0, next(c for c in "xqz0123456789" + "".join(map(chr, range(0x3b1, 0x3ca)))
                            if c not in alphabet))
    # A search state is the automata's positions and, with ``nonempty``, whether a character was
    # read: a non-empty string may come back to the start positions and still be a new value.
    start = (tuple(a.start() for a in automata), not nonempty)
    seen, queue, found = {start: ""}, deque([start]), {}
    while queue:
        check_deadline()
        state = queue.popleft()
        positions, counts = state
        text = seen[state]
        if counts:
            found.setdefault(tuple(a.accepts(s) for a, s in zip(automata, positions)), text)
        for char in alphabet:
            nxt = (tuple(a.step(s, char) for a, s in zip(automata, positions)), True)
            if nxt not in seen:
                seen[nxt] = text + char
                if len(seen) > limit:
                    raise ActionSearchTooLarge(f"more than {limit} states comparing {len(atoms)} values")
                queue.append(nxt)
    return tuple(found.values())
