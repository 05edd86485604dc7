"""The pack's pattern decision against an independent SMT encoding (``pattern_smt``, z3).

Three families of JSON filter patterns without %regex%, generated from the grammar and biased toward
the corners issue 21 found (fields with only exclusions, many ``!=`` values, the five filler
characters in values, overlapping selectors ``$.a`` / ``$.a.b`` / ``$.a[1]``, numbers beside strings):
- satisfiability: does any JSON event match P?
- containment: does any JSON event match A and not B?
- root coverage: does any CloudTrail root-usage record escape P (the pack's root-usage question)?
For every case the pack's answer equals the solver's (SAT ⇔ sat), the pack never answers UNKNOWN,
each pack witness satisfies the formula in z3, and each z3 model satisfies it in the pack's evaluator.
Example counts: 2,000 per family (CI), 100,000 with ROOTGUARD_PROOF_PROFILE=prove (``make prove``);
with ROOTGUARD_ORACLE_STATS=<file> each family appends its tallies there (the note's figures).
"""
import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

z3 = pytest.importorskip("z3")   # the test extra only; the pack never imports it

try:   # beside this file; a package once tests/proofs has an __init__.py
    from tests.proofs import pattern_smt as smt  # noqa: E402
except ImportError:
    import pattern_smt as smt  # noqa: E402
All, Any, Atom, Check, Neg = smt.All, smt.Any, smt.Atom, smt.Check, smt.Neg

from rootguard_filters.logic.filter_pattern import And, Not, evaluate, parse  # noqa: E402
from rootguard_filters.logic.pattern_coverage import SAT, UNKNOWN, UNSAT, find_event  # noqa: E402
from rootguard_filters.logic.root_usage import (  # noqa: E402
    COVERS, DOES_NOT_COVER, judge_root_usage_pattern, record_formula, record_kinds, root_usage_formula,
)

PROVE = os.environ.get("ROOTGUARD_PROOF_PROFILE") == "prove"
CASES = 100_000 if PROVE else 2_000
SETTINGS = settings(max_examples=CASES, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))

PATHS = (("a",), ("a", "b"), ("a", 0), ("a", 1), ("b",), ("eventName",), ("eventType",), ("awsRegion",),
         ("userIdentity",), ("userIdentity", "type"), ("userIdentity", "invokedBy"), ("userIdentity", "arn"),
         ("userIdentity", "sessionContext", "assumedRoot"), ("recipientAccountId",), ("eventSource",))
# String cores: CloudTrail words, the five fillers, letters no number's text holds.
CORES = ("", "R", "Root", "x", "xy", "AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn", "~", "^", "`", "!",
         "|", "~^`!|", ":root", "arn:aws", ".amazonaws.com", "us-", "-west", "Ro")
NUMBERS = ("0", "1", "2", "5", "-2.5", "0.5", "1e1")
CHECKS = ("IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE")


@st.composite
def string_literal(draw):
    core = draw(st.sampled_from(CORES))
    shape = draw(st.sampled_from(("exact", "exact", "prefix", "suffix", "infix", "star")))
    return {"exact": core, "prefix": core + "*", "suffix": "*" + core, "infix": "*" + core + "*",
            "star": "*"}[shape]


@st.composite
def atoms(draw, paths=PATHS):
    path = draw(st.sampled_from(paths))
    kind = draw(st.sampled_from(("string", "string", "string", "ne-string", "number", "relation", "check")))
    if kind == "check":
        return Check(path, draw(st.sampled_from(CHECKS)))
    if kind == "relation":
        return Atom(path, draw(st.sampled_from(("<", "<=", ">", ">="))), draw(st.sampled_from(NUMBERS)), False)
    if kind == "number":
        return Atom(path, draw(st.sampled_from(("=", "!="))), draw(st.sampled_from(NUMBERS)), False)
    op = "!=" if kind == "ne-string" else draw(st.sampled_from(("=", "!=")))
    return Atom(path, op, draw(string_literal()), True)


@st.composite
def exclusions(draw):
    """A field with only exclusions, many of them (fillers and CloudTrail values among them)."""
    path = draw(st.sampled_from(PATHS))
    count = draw(st.integers(1, 8))
    return All(tuple(Atom(path, "!=", draw(string_literal()), True) for _ in range(count)))


def trees(depth=3):
    leaf = st.one_of(atoms(), atoms(), exclusions())
    if depth == 0:
        return leaf
    inner = trees(depth - 1)
    return st.one_of(
        leaf,
        st.lists(inner, min_size=2, max_size=4).map(lambda terms: All(tuple(terms))),
        st.lists(inner, min_size=2, max_size=4).map(lambda terms: Any(tuple(terms))))


def fits(tree):
    """CloudWatch's limits: 1,024 characters (and the pack's parser accepts it)."""
    return len(smt.render(tree)) <= 1024


def compare(pack_formula, oracle_formula, required, stats, pack_required=None):
    """One case: the pack's find_event against z3; every witness checked by the other side."""
    outcome = find_event(pack_formula, pack_required)
    answer, found = smt.solve(oracle_formula, required)
    stats["cases"] += 1
    if answer == "unknown":
        stats["solver-unknown"] += 1
        return
    assert outcome.status != UNKNOWN, outcome.reason
    stats[f"pack-{outcome.status}"] += 1
    assert (outcome.status == SAT) == (answer == "sat"), (outcome, answer, found)
    if outcome.status == SAT:
        assert smt.holds(oracle_formula, outcome.event, required), outcome.event
        assert evaluate(pack_formula, found), found
        stats["witnesses-checked"] += 2


def report(family, stats):
    path = os.environ.get("ROOTGUARD_ORACLE_STATS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"family": family, "profile": "prove" if PROVE else "ci", **stats}) + "\n")


def test_satisfiability_agrees_with_the_solver():
    stats = Counter()

    @SETTINGS
    @given(trees().filter(fits))
    def case(tree):
        compare(parse(smt.render(tree)), tree, None, stats)
    case()
    report("satisfiability", stats)
    assert stats["cases"] >= CASES and stats["pack-sat"] and stats["pack-unsat"]


def test_containment_agrees_with_the_solver():
    stats = Counter()

    @SETTINGS
    @given(trees(2).filter(fits), trees(2).filter(fits))
    def case(first, second):
        pack = And((parse(smt.render(first)), Not(parse(smt.render(second)))))
        compare(pack, All((first, Neg(second))), None, stats)
    case()
    report("containment", stats)
    assert stats["cases"] >= CASES and stats["pack-sat"] and stats["pack-unsat"]


CIS_TREE = smt.root_usage(False)


@st.composite
def root_patterns(draw):
    """Patterns around CIS's clauses (so covering ones come up), or free."""
    body = draw(trees(2))
    shape = draw(st.sampled_from(("free", "and", "or", "and")))
    if shape == "and":
        return All(CIS_TREE.terms + (body,))
    if shape == "or":
        return Any((CIS_TREE, body))
    return body


def test_root_coverage_agrees_with_the_solver():
    stats = Counter()

    @SETTINGS
    @given(root_patterns().filter(fits), st.booleans())
    def case(tree, exclude_ok):
        pattern = smt.render(tree)
        pack = And((root_usage_formula(exclude_ok), record_formula(True), Not(parse(pattern))))
        oracle = All((smt.root_usage(exclude_ok), smt.record_model(), Neg(tree)))
        compare(pack, oracle, smt.record_required(), stats, record_kinds(True))
        # the judgement rests on the same search: covers only when the solver finds no escape
        judgement = judge_root_usage_pattern(pattern, exclude_ok)
        if judgement.status == COVERS:
            stats["judged-covers"] += 1
            assert smt.solve(oracle, smt.record_required())[0] == "unsat"
        elif judgement.status == DOES_NOT_COVER:
            stats["judged-does-not-cover"] += 1
            assert smt.holds(oracle, judgement.counterexample, smt.record_required())
        else:
            stats["judged-undecided"] += 1
    case()
    report("root-coverage", stats)
    assert stats["cases"] >= CASES and stats["pack-sat"] and stats["pack-unsat"]


def test_the_oracle_knows_the_corners_it_is_there_for():
    """The encoding itself, on cases whose answers are known by hand."""
    fillers = All(tuple(Atom(("a",), "!=", f"*{c}*", True) for c in "~^`!|") + (Atom(("a",), "=", "*", True),))
    assert smt.solve(fillers)[0] == "sat"
    cis_and_name = All(CIS_TREE.terms + (Atom(("eventName",), "=", "*", True),))
    oracle = All((smt.root_usage(True), smt.record_model(), Neg(cis_and_name)))
    assert smt.solve(oracle, smt.record_required())[0] == "unsat"
    assert smt.solve(All((Check(("a",), "NOT EXISTS"), Atom(("a", "b"), "=", "x", True))))[0] == "unsat"
    assert smt.solve(All((Atom(("a", 1), "=", "1", False), Check(("a", 0), "NOT EXISTS"))))[0] == "unsat"
    assert smt.solve(All((Atom(("a",), "=", "1", False), Atom(("a",), "!=", "x", True))))[0] == "sat"
