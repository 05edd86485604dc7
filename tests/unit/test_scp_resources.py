"""The request's resource is decided, not sampled: Resource lists, ARN wildcards, ``*`` for actions
without a resource type; repeated JSON keys; the time limit of one decision (issue 21)."""
import json
import time

import pytest

from rootguard_filters.decide.scp import decide_root_scp, document_denies_root
from rootguard_filters.decide.scp_coverage import (
    COVERED,
    HOLE,
    UNDECIDED,
    decide_coverage,
    deny_statements,
    witness_text,
)
from rootguard_filters.decide.scp_plan import covering_policy, pack_policy_edited, plan_root_scp
from rootguard_filters.logic.action_globs import (
    RESOURCE_GLOB, DecisionTimeout, check_deadline, distinguishing_values, time_limit)
from rootguard_filters.logic.iam_policy import (
    PolicyDocumentError, parse_policy, resource_like, strict_json_loads)
from rootguard_filters.verdict import COULD_NOT_EVALUATE, NON_COMPLIANT
from tests.unit.test_scp_coverage import MEMBER, ROOT_ID, policy, snapshot
from tests.unit.test_scp_union import ROOT_ONLY, assert_witness_allowed, coverage, deny

SERVICE_ARNS = ["arn:aws:iam::*", "arn:aws:s3:::*", "arn:aws:ec2:*"]


# --------------------------------------------------------------------------- Resource matching

@pytest.mark.parametrize("pattern, resource, expected", [
    ("arn:aws:*", "arn:aws:kms:us-east-1:111111111111:key/abc", True),   # a segment-ending * expands
    ("arn:*", "arn:aws:lambda:us-east-1:111111111111:function:f", True),
    ("arn:aws:*", "*", False),                                           # no ARN: an action without one
    ("*", "*", True),
    ("arn:aws:iam::*", "arn:aws:iam::111111111111:user/a", True),
    ("arn:aws:s3:::b*x", "arn:aws:s3:::b:x", False),                     # a mid-segment * stays in it
    ("arn:aws:s3:::b?x", "arn:aws:s3:::b:x", False),
    ("arn:aws:s3:::b?x", "arn:aws:s3:::bax", True),
    ("arn:aws:iam::*:user/Bob", "arn:aws:iam::1:user/bob", False),       # case-sensitive
])
def test_resource_patterns_follow_the_resource_element_rules(pattern, resource, expected):
    assert resource_like(pattern, resource) is expected


def test_resource_classes_hold_one_value_for_every_match_combination():
    atoms = (("arn:aws:iam::*", RESOURCE_GLOB, False), ("arn:aws:s3:::b*x", RESOURCE_GLOB, False))
    values = distinguishing_values(atoms, nonempty=True)
    vectors = {tuple(resource_like(p, v) for p, _, _ in atoms) for v in values}
    assert vectors == {(False, False), (True, False), (False, True)}
    assert "" not in values


def test_nonempty_classes_keep_a_class_whose_strings_return_to_the_start():
    # "*" matches every string: the only class of non-empty strings is "matches"
    assert distinguishing_values((("*", True, False),), nonempty=True) == ("x",)


# --------------------------------------------------------------------------- the reported holes

def test_deny_all_on_three_services_leaves_kms_decrypt_on_a_key():
    result, denies = coverage(deny(resource=SERVICE_ARNS, condition=ROOT_ONLY))
    assert result.status == HOLE
    assert result.witness["action"] == "kms:Decrypt"
    assert result.witness["resource"].startswith("arn:aws:kms:us-east-1:111111111111:key/")
    assert_witness_allowed(result, denies)


@pytest.mark.parametrize("resource", ["arn:aws:*", "arn:*", ["arn:aws:*", "arn:aws:iam::*"]])
def test_every_arn_is_not_every_request_actions_without_a_resource_escape(resource):
    result, denies = coverage(deny(resource=resource, condition=ROOT_ONLY))
    assert result.status == HOLE
    assert result.witness["resource"] == "*"
    assert result.witness["action"] == "iam:UpdateAccountPasswordPolicy"
    assert_witness_allowed(result, denies)
    assert "iam:UpdateAccountPasswordPolicy on resource *" in witness_text(result.witness)


def test_arns_plus_a_star_statement_cover():
    result, _ = coverage(deny(resource="arn:aws:*", condition=ROOT_ONLY),
                         deny(resource="*", condition=ROOT_ONLY))
    assert result.status == COVERED


def test_resource_list_with_star_covers():
    result, _ = coverage(deny(resource=["arn:aws:s3:::*", "*"], condition=ROOT_ONLY))
    assert result.status == COVERED


def test_not_resource_and_resource_statements_together_cover():
    result, _ = coverage(deny(resource="arn:aws:kms:*", condition=ROOT_ONLY),
                         {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:kms:*",
                          "Condition": ROOT_ONLY})
    assert result.status == COVERED


def test_not_resource_star_denies_nothing():
    result, denies = coverage({"Effect": "Deny", "Action": "*", "NotResource": "*",
                               "Condition": ROOT_ONLY})
    assert result.status == HOLE
    assert_witness_allowed(result, denies)


def test_service_arns_with_matching_actions_leave_the_service_actions_without_a_resource():
    # kms:* on key ARNs only: kms:CreateKey (no resource type) still escapes
    result, denies = coverage(deny(action="kms:*", resource="arn:aws:kms:*", condition=ROOT_ONLY),
                              required=("kms:*",))
    assert result.status == HOLE
    assert (result.witness["action"], result.witness["resource"]) == ("kms:CreateKey", "*")
    assert_witness_allowed(result, denies)


def test_resource_hole_in_one_region_names_that_region_in_the_arn():
    result, denies = coverage(
        deny(action="kms:*", resource="arn:aws:kms:us-east-1:*", condition=ROOT_ONLY),
        deny(action="kms:*", resource="*",
             condition={**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        required=("kms:*",))
    assert result.status == HOLE
    assert result.witness["conditions"] == {"aws:requestedregion": "eu-west-1"}
    assert result.witness["action"] == "kms:Decrypt"
    assert result.witness["resource"].startswith("arn:aws:kms:eu-west-1:111111111111:key/")
    assert_witness_allowed(result, denies)


def test_policy_variable_in_resource_is_undecided_not_covered():
    result, _ = coverage(deny(resource="arn:aws:iam::*:user/${aws:username}", condition=ROOT_ONLY))
    assert result.status == UNDECIDED
    assert "policy variable" in result.reason


def test_member_verdict_names_the_witness_and_reuse_is_refused():
    content = policy(deny(resource=SERVICE_ARNS, condition=ROOT_ONLY))
    snap = snapshot(attach={"p-svc": [ROOT_ID]}, contents={"p-svc": content})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT
    assert "kms:Decrypt on resource arn:aws:kms:us-east-1:" in verdict.reason
    assert document_denies_root(content, MEMBER)[0] is False
    assert covering_policy(snap, [MEMBER]) is None
    plan = plan_root_scp(snap, [MEMBER])
    assert plan.policy_id is None  # the pack creates its own policy instead


# --------------------------------------------------------------------------- repeated keys

REFERENCE_STATEMENT = ('{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": '
                       '{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}')


@pytest.mark.parametrize("text", [
    # the first Statement is lost to Python's last-key-wins
    '{"Version": "2012-10-17", "Statement": [], "Statement": [' + REFERENCE_STATEMENT + ']}',
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "*", '
    '"Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]}',
    '{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": '
    '{"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root", "aws:PrincipalArn": "x"}}}]}',
])
def test_repeated_json_key_is_malformed_never_covering_never_reused(text):
    with pytest.raises(PolicyDocumentError, match="repeats the JSON key"):
        parse_policy(text)
    covers, reason = document_denies_root(text, MEMBER)
    assert covers is False and "repeats the JSON key" in reason
    snap = snapshot(attach={"p-dup": [ROOT_ID]}, contents={"p-dup": text})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE
    assert "p-dup" in verdict.reason
    assert covering_policy(snap, [MEMBER]) is None


def test_pack_named_policy_with_a_repeated_key_counts_as_edited():
    text = '{"Version": "2012-10-17", "Statement": [], "Statement": [' + REFERENCE_STATEMENT + ']}'
    snap = snapshot(contents={"p-pack": text})
    snap.policies["p-pack"]["Name"] = "rootguard-deny-root-user"
    policy_id, reason = pack_policy_edited(snap, "rootguard-deny-root-user")
    assert policy_id == "p-pack" and "edited" in reason


def test_strict_json_accepts_ordinary_documents():
    assert strict_json_loads('{"a": {"b": 1}, "c": [{"b": 2}, {"b": 3}]}') == {
        "a": {"b": 1}, "c": [{"b": 2}, {"b": 3}]}


# --------------------------------------------------------------------------- time limit

def test_time_limit_raises_after_its_deadline_and_nests_inward():
    with time_limit(60):
        with time_limit(0):
            time.sleep(0.001)
            with pytest.raises(DecisionTimeout):
                check_deadline()
        check_deadline()  # the outer limit is untouched


def test_decision_past_its_time_limit_is_undecided_saying_so():
    statements = [deny(condition={**ROOT_ONLY, "StringNotLike": {
        "aws:RequestedRegion": [f"*{a}?{b}*" for b in "mnop"]}}) for a in "abcdefgh"]
    denies, _ = deny_statements(parse_policy(policy(*statements)))
    result = decide_coverage(denies, MEMBER, seconds=0)
    assert result.status == UNDECIDED
    assert "time limit" in result.reason and "decision-seconds" in result.reason


def test_member_verdict_past_the_time_limit_is_could_not_evaluate():
    content = policy(deny(condition={**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))
    snap = snapshot(attach={"p-r": [ROOT_ID]}, contents={"p-r": content})
    verdict = decide_root_scp(snap, MEMBER, seconds=0)
    assert verdict.status == COULD_NOT_EVALUATE
    assert "time limit" in verdict.reason
    assert json.dumps(verdict.details)  # the report can carry it


# --------------------------------------------------------------------------- candidate values (mutation run)

def test_region_is_never_empty_so_a_deny_of_every_non_empty_region_covers():
    result, _ = coverage(deny(condition={**ROOT_ONLY, "StringLike": {"aws:RequestedRegion": "?*"}}))
    assert result.status == COVERED


def test_presence_test_beside_string_patterns_keeps_the_classes_exact():
    result, denies = coverage(deny(condition={"Null": {"aws:ResourceTag/team": "true"}}),
                              deny(condition={"StringLike": {"aws:ResourceTag/team": "x*"}}),
                              deny(condition={"StringNotLike": {"aws:ResourceTag/team": "??y"}}))
    assert result.status == HOLE
    value = result.witness["conditions"]["aws:resourcetag/team"]
    assert len(value) == 3 and value.endswith("y") and not value.startswith("x")
    assert_witness_allowed(result, denies)


def test_every_numeric_threshold_is_tried_not_only_the_last():
    result, denies = coverage(deny(condition={"NumericLessThan": {"aws:EpochTime": "5"}}),
                              deny(condition={"NumericGreaterThan": {"aws:EpochTime": "5"}}),
                              deny(condition={"NumericEquals": {"aws:EpochTime": "10"}}))
    assert result.status == HOLE and result.witness["conditions"] == {"aws:epochtime": "5"}
    assert_witness_allowed(result, denies)


def test_every_date_boundary_is_tried_not_only_the_last():
    first, second = "2100-01-01T00:00:00Z", "2200-01-01T00:00:00Z"
    result, denies = coverage(deny(condition={"DateLessThan": {"aws:CurrentTime": first}}),
                              deny(condition={"DateGreaterThan": {"aws:CurrentTime": first}}),
                              deny(condition={"DateEquals": {"aws:CurrentTime": second}}))
    assert result.status == HOLE and result.witness["conditions"] == {"aws:currenttime": first}
    assert_witness_allowed(result, denies)


def test_witness_text_spells_absent_keys_and_joins_conditions():
    text = witness_text({"action": "iam:CreateAccessKey", "resource": "*",
                         "conditions": {"aws:requestedregion": "ap-south-1", "aws:resourcetag/team": None}})
    assert text == ("iam:CreateAccessKey where aws:requestedregion = 'ap-south-1' and aws:resourcetag/team "
                    "absent on resource *")


@pytest.mark.parametrize("atoms", [
    (("a*:b", RESOURCE_GLOB, False), ("*:?", RESOURCE_GLOB, False), ("a?", RESOURCE_GLOB, False)),
    (("a*", True, False), ("*b?", True, False), ("ab", False, False), ("A", False, True)),
    (("x*", RESOURCE_GLOB, False), ("x", False, False), ("?b", RESOURCE_GLOB, False)),
])
def test_every_short_string_falls_in_a_class_the_values_stand_for(atoms):
    """Exhaustive over every string of up to 4 characters from the patterns' alphabet and a filler."""
    import itertools

    from rootguard_filters.logic.iam_policy import string_like

    def vector(text):
        out = []
        for pattern, wildcards, ignore_case in atoms:
            if wildcards == RESOURCE_GLOB:
                out.append(resource_like(pattern, text))
            elif wildcards:
                out.append(string_like(pattern, text))
            else:
                out.append(pattern.casefold() == text.casefold() if ignore_case else pattern == text)
        return tuple(out)

    represented = {vector(v) for v in distinguishing_values(atoms)}
    alphabet = "ab:Axz"
    for size in range(5):
        for chars in itertools.product(alphabet, repeat=size):
            assert vector("".join(chars)) in represented, "".join(chars)
