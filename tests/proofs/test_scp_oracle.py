"""The SCP coverage decision against an independent SMT encoding (:mod:`scp_smt`).

For every generated set of Deny statements and required actions: the pack says "covered" exactly when
z3 finds no request that escapes; every witness the pack gives is a request z3 agrees escapes; every
counterexample z3 finds is a request the pack's own evaluation (``request_denied``) does not deny.
The sets lean on the corners that went wrong before: Resource lists and ARN wildcards, NotResource,
NotAction, many ``!=`` values, Like patterns, Bool/Null keys, IfExists, keys that may be absent.
``ROOTGUARD_PROOF_STATS=<file>`` keeps the run's figures in that file (cases, covered, holes,
undecided), rewritten every 500 cases and at the end, so a run cut short still says how far it got;
any disagreement fails the test at once.
"""
import collections
import json
import os

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import proof_profile
from rootguard_filters.decide.scp_coverage import (
    COVERED, HOLE, decide_coverage, deny_statements, request_denied)
from rootguard_filters.logic.iam_policy import parse_policy, root_request_context
from scp_smt import ACCOUNT, Escape

ACTIONS = ["*", "iam:*", "s3:*", "kms:*", "iam:Create*", "kms:Decrypt", "s3:Get*", "*:Describe*",
           "ec2:?un*", "iam:CreateAccessKey", "lambda:*", "*:*", "iam:*Key*"]
RESOURCES = ["*", "arn:aws:*", "arn:*", "arn:aws:iam::*", "arn:aws:s3:::*", "arn:aws:ec2:*",
             "arn:aws:kms:us-east-1:*", "arn:aws:s3:::b*x", "arn:aws:*:*:*:*", "arn:aws:s3:::?*",
             "arn:aws:kms:*:*:key/*", f"arn:aws:iam::{ACCOUNT}:user/*", "arn:aws:*:us-*", "arn:aws:?3:::*"]
REQUIRED = [("*",), ("iam:*",), ("kms:Decrypt", "s3:*"), ("*:Describe*",), ("iam:CreateAccessKey",)]
REGIONS = ["us-east-1", "eu-west-1", "us-*", "*-1", "ap-?outh-1", "eu-*", "US-EAST-1", "*"]
TAGS = ["a", "a*", "*b", "", "x?y", "A", "*"]
ROOT_SCOPES = [
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
    {"StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:root"}},
    {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::222222222222:root"}},   # another account: never root here
    {"Null": {"aws:AssumedRoot": "true"}},
]

STATS = collections.Counter()


def _values(pool, most=6):
    return st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True)


string_clause = st.tuples(
    st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"]),
    st.booleans(),
    st.sampled_from(["aws:RequestedRegion", "aws:ResourceTag/team"]),
).flatmap(lambda t: st.tuples(
    st.just(t[0] + ("IfExists" if t[1] else "")), st.just(t[2]),
    _values(REGIONS if t[2] == "aws:RequestedRegion" else TAGS)))
bool_clause = st.tuples(st.sampled_from(["Bool", "BoolIfExists"]),
                        st.sampled_from(["aws:MultiFactorAuthPresent", "aws:SecureTransport"]),
                        _values(["true", "false"], 2))
null_clause = st.tuples(st.just("Null"),
                        st.sampled_from(["aws:ResourceTag/team", "aws:MultiFactorAuthPresent", "aws:AssumedRoot"]),
                        st.sampled_from([["true"], ["false"]]))


@st.composite
def conditions(draw):
    condition = {}
    if draw(st.booleans()):
        for operator, block in draw(st.sampled_from(ROOT_SCOPES)).items():
            condition.setdefault(operator, {}).update(block)
    for operator, key, values in draw(st.lists(st.one_of(string_clause, string_clause, bool_clause, null_clause),
                                               max_size=3)):
        condition.setdefault(operator, {})[key] = values
    return condition


@st.composite
def statements(draw):
    statement = {"Effect": "Deny"}
    statement["NotAction" if draw(st.integers(0, 3)) == 0 else "Action"] = draw(_values(ACTIONS, 3))
    statement["NotResource" if draw(st.integers(0, 3)) == 0 else "Resource"] = draw(_values(RESOURCES, 3))
    condition = draw(conditions())
    if condition:
        statement["Condition"] = condition
    return statement


def _check(statement_list, required):
    denies, _ = deny_statements(parse_policy({"Version": "2012-10-17", "Statement": statement_list}), "p")
    coverage = decide_coverage(denies, ACCOUNT, "aws", required, seconds=120)
    escape = Escape(statement_list, required)
    result, counterexample = escape.counterexample()
    case = json.dumps({"statements": statement_list, "required": required, "pack": coverage.status,
                       "reason": coverage.reason, "witness": coverage.witness, "z3": str(result),
                       "counterexample": counterexample})
    STATS["cases"] += 1
    if STATS["cases"] % 500 == 0:
        _write_stats()
    if counterexample is not None:
        context = {**root_request_context(ACCOUNT), **counterexample["conditions"]}
        assert request_denied(denies, counterexample["action"], context, counterexample["resource"]) is False, (
            f"z3's counterexample is denied by the pack's own evaluation: {case}")
    if coverage.status == COVERED:
        STATS["covered"] += 1
        assert result == z3.unsat, f"pack says covered, z3 finds a request that escapes: {case}"
    elif coverage.status == HOLE:
        STATS["holes"] += 1
        assert result == z3.sat, f"pack finds a hole, z3 proves there is none: {case}"
        assert escape.admits(coverage.witness) == z3.sat, f"z3 says the pack's witness is denied: {case}"
    else:
        STATS["undecided"] += 1
        assert result == z3.sat or "combinations" in coverage.reason, (
            f"pack undecided where z3 proves coverage: {case}")


_NEGATION = {"StringEquals": "StringNotEquals", "StringNotEquals": "StringEquals",
             "StringLike": "StringNotLike", "StringNotLike": "StringLike"}


@st.composite
def complementary_pair(draw):
    """Two statements that split the requests between them — covering, or nearly (absent keys,
    IfExists on one side only, Bool keys left out): where a wrong answer would hide."""
    base = {"Effect": "Deny", "Action": draw(st.sampled_from(["*", "*", "*:*", "iam:*"])), "Resource": "*"}
    scope = draw(st.sampled_from([{}, {}] + ROOT_SCOPES))
    kind = draw(st.sampled_from(["resource", "string", "bool", "null"]))
    first, second = dict(base), dict(base)
    if kind == "resource":
        patterns = draw(_values(RESOURCES, 3))
        first["Resource"] = patterns
        del second["Resource"]
        second["NotResource"] = draw(st.sampled_from([patterns, patterns[:1]]))
        clauses = ({}, {})
    elif kind == "string":
        operator, key, values = draw(string_clause)
        plain = operator.replace("IfExists", "")
        other = _NEGATION[plain] + ("IfExists" if draw(st.booleans()) else "")
        clauses = ({operator: {key: values}}, {other: {key: draw(st.sampled_from([values, values[:1]]))}})
    elif kind == "bool":
        key = draw(st.sampled_from(["aws:MultiFactorAuthPresent", "aws:SecureTransport"]))
        clauses = ({draw(st.sampled_from(["Bool", "BoolIfExists"])): {key: "true"}},
                   {draw(st.sampled_from(["Bool", "BoolIfExists"])): {key: "false"}})
    else:
        key = draw(st.sampled_from(["aws:ResourceTag/team", "aws:MultiFactorAuthPresent"]))
        clauses = ({"Null": {key: "true"}}, {"Null": {key: "false"}})
    for statement, clause in zip((first, second), clauses):
        condition = {op: dict(block) for op, block in scope.items()}
        for op, block in clause.items():
            condition.setdefault(op, {}).update(block)
        if condition:
            statement["Condition"] = condition
    return [first, second]


scp_sets = st.one_of(
    st.lists(statements(), min_size=1, max_size=3),
    st.tuples(complementary_pair(), st.lists(statements(), max_size=1)).map(lambda t: t[0] + t[1]),
    st.tuples(complementary_pair(), complementary_pair()).map(lambda t: t[0] + t[1]),
)


@settings(settings.get_profile(proof_profile()))
@given(statement_list=scp_sets, required=st.sampled_from(REQUIRED))
def test_scp_union_equals_the_smt_oracle(statement_list, required):
    try:
        _check(statement_list, required)
    except AssertionError:
        STATS["disagreements"] += 1   # counted (shrinking repeats the same one), then reported
        _write_stats()
        raise


@pytest.mark.parametrize("statement_list, required, expected", [
    ([{"Effect": "Deny", "Action": "*", "Resource": ["arn:aws:iam::*", "arn:aws:s3:::*", "arn:aws:ec2:*"]}],
     ("*",), HOLE),
    ([{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:*"}], ("*",), HOLE),
    ([{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:*"},
      {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:*"}], ("*",), COVERED),
    ([{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
      {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}],
     ("*",), HOLE),     # absent: neither applies
    ([{"Effect": "Deny", "Action": "*", "Resource": "*",
       "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}},
      {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}],
     ("*",), COVERED),
])
def test_the_reported_corners_agree_with_the_oracle(statement_list, required, expected):
    denies, _ = deny_statements(parse_policy({"Statement": statement_list}), "p")
    assert decide_coverage(denies, ACCOUNT, "aws", required).status == expected
    _check(statement_list, required)


def _write_stats():
    path = os.environ.get("ROOTGUARD_PROOF_STATS")
    if path:
        with open(path, "w") as out:
            out.write(json.dumps({"family": "scp-union", "profile": proof_profile(),
                                  "disagreements": STATS["disagreements"], **STATS}) + "\n")


def teardown_module(module):
    _write_stats()
