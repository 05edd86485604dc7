"""root-scp decides on the union of every applying deny statement, and names a witness for a hole."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rootguard_filters.decide.scp import decide_root_scp, document_denies_root
from rootguard_filters.decide.scp_coverage import (
    COVERED,
    HOLE,
    UNDECIDED,
    decide_coverage,
    deny_statements,
    request_denied,
)
from rootguard_filters.logic.action_globs import uncovered_action
from rootguard_filters.logic.iam_policy import ABSENT, parse_policy, root_request_context
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT
from tests.unit.test_scp_coverage import MEMBER, OTHER, ROOT_ID, policy, snapshot

ROOT_ONLY = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}


def deny(action="*", condition=None, resource="*", not_action=None, **extra):
    statement = {"Effect": "Deny", "Resource": resource, **extra}
    if not_action is not None:
        statement["NotAction"] = not_action
    else:
        statement["Action"] = action
    if condition is not None:
        statement["Condition"] = condition
    return statement


def coverage(*statements, account=MEMBER, required=("*",)):
    denies, _ = deny_statements(parse_policy(policy(*statements)))
    return decide_coverage(denies, account, "aws", required), denies


def assert_witness_allowed(result, denies, account=MEMBER):
    """The witness is checked by evaluating that one request against every statement."""
    assert result.status == HOLE and result.witness
    w = result.witness
    context = {**root_request_context(account), **w["conditions"]}
    assert request_denied(denies, w["action"], context, w["resource"]) is False


# --------------------------------------------------------------------------- actions

def test_action_and_not_action_statements_together_deny_everything():
    result, _ = coverage(deny(["iam:*"], ROOT_ONLY), deny(not_action=["iam:*"], condition=ROOT_ONLY))
    assert result.status == COVERED and len(result.contributing) == 2


def test_not_action_alone_leaves_its_actions_as_the_witness():
    result, denies = coverage(deny(not_action=["iam:*", "sts:*"], condition=ROOT_ONLY))
    assert_witness_allowed(result, denies)
    assert result.witness["action"].lower().startswith(("iam:", "sts:"))


def test_service_lists_shared_between_two_statements_cover_a_required_service():
    result, _ = coverage(deny(["iam:Create*", "iam:Delete*"]), deny(["iam:*"], ROOT_ONLY),
                         required=("iam:*",))
    assert result.status == COVERED


def test_action_search_decides_exactly_and_finds_the_gap():
    # every action starting with a letter or digit is denied: that is every action there is
    every_start = tuple(f"{c}*" for c in "abcdefghijklmnopqrstuvwxyz0123456789")
    assert uncovered_action(("*",), every_start) is None
    assert uncovered_action(("*",), every_start[:-1]).startswith("9")
    assert uncovered_action(("iam:*",), ("iam:c*", "iam:d*", "iam:u*")) == "iam:AddClientIDToOpenIDConnectProvider" \
        or uncovered_action(("iam:*",), ("iam:c*", "iam:d*", "iam:u*")).lower().startswith("iam:")


# --------------------------------------------------------------------------- conditions

@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalType": "Account"}},
    {"StringEqualsIgnoreCase": {"AWS:PRINCIPALTYPE": "account"}},
    {"StringEquals": {"aws:userid": MEMBER}},
    {"StringNotEquals": {"aws:PrincipalType": ["AssumedRole", "User", "FederatedUser"]}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"StringEqualsIfExists": {"aws:userid": MEMBER}},
    {"Null": {"aws:PrincipalTag/team": "true"}},
    {"Null": {"aws:AssumedRoot": "true"}},
])
def test_root_identifying_keys_in_positive_and_negated_forms_cover(condition):
    assert coverage(deny("*", condition))[0].status == COVERED


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalType": "User"}},
    {"StringNotEquals": {"aws:userid": MEMBER}},
    {"Null": {"aws:userid": "true"}},
    {"StringEquals": {"aws:userid": OTHER}},
    {"Null": {"aws:AssumedRoot": "false"}},
])
def test_conditions_false_for_root_sign_ins_leave_everything_open(condition):
    result, denies = coverage(deny("*", condition))
    assert_witness_allowed(result, denies)
    assert "does not match the root user" in " ".join(result.notes.values())


def test_complementary_region_conditions_in_two_statements_cover():
    result, _ = coverage(
        deny("*", {**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}),
        deny("*", {**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}))
    assert result.status == COVERED


def test_region_condition_hole_names_a_region_root_can_still_use():
    result, denies = coverage(
        deny("*", {**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": ["us-east-1", "ap-south-1"]}}))
    assert_witness_allowed(result, denies)
    region = result.witness["conditions"]["aws:requestedregion"]
    assert region not in ("us-east-1", "ap-south-1") and region  # a real region, not absent


def test_case_only_differences_are_tried_for_case_sensitive_operators():
    result, denies = coverage(
        deny("*", {**ROOT_ONLY, "StringEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"}}),
        deny("*", {**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))
    assert result.status == COVERED
    result, denies = coverage(
        deny("*", {**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": "US-EAST-1"}}),
        deny("*", {**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))
    assert_witness_allowed(result, denies)


def test_if_exists_and_absent_keys_are_both_requests_root_can_make():
    # MFA false, or MFA true/absent: every case is denied
    result, _ = coverage(deny("*", {"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
                         deny("*", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}))
    assert result.status == COVERED
    result, denies = coverage(deny("*", {"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    assert_witness_allowed(result, denies)
    assert result.witness["conditions"]["aws:multifactorauthpresent"] in (ABSENT, "true")


def test_numeric_conditions_split_at_a_threshold_cover():
    result, _ = coverage(deny("*", {"NumericLessThan": {"s3:max-keys": "10"}}),
                         deny("*", {"NumericGreaterThanEqualsIfExists": {"s3:max-keys": "10"}}))
    assert result.status == COVERED


def test_service_specific_key_narrows_the_deny_to_requests_that_carry_it():
    result, denies = coverage(deny("*", {**ROOT_ONLY, "StringEquals": {"ec2:InstanceType": "t3.micro"}}))
    assert_witness_allowed(result, denies)


def test_unknown_operator_is_undecided_not_covering():
    result, _ = coverage(deny("*", {"StringFuzzyMatch": {"aws:PrincipalArn": "root"}}))
    assert result.status == UNDECIDED and "unsupported condition operator" in result.reason


def test_undecidable_statement_beside_a_covering_one_is_irrelevant():
    result, _ = coverage(deny("*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
                         deny("*", ROOT_ONLY))
    assert result.status == COVERED


def test_undecidable_statement_does_not_hide_a_hole_it_cannot_fill():
    result, denies = coverage(deny("s3:*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))
    assert_witness_allowed(result, denies)
    assert not result.witness["action"].lower().startswith("s3:")


def test_complementary_wildcard_conditions_are_decided_exactly():
    result, _ = coverage(deny("*", {"StringLike": {"aws:RequestedRegion": "us-*"}}),
                         deny("*", {"StringNotLike": {"aws:RequestedRegion": "us-*"}}))
    assert result.status == COVERED
    result, denies = coverage(deny("*", {"StringLike": {"aws:RequestedRegion": "us-*"}}),
                              deny("*", {"StringNotLike": {"aws:RequestedRegion": ["*-*-?", "us-*"]}}))
    assert_witness_allowed(result, denies)  # e.g. eu-west-1: matches neither statement


def test_ip_conditions_without_a_hole_are_undecided_never_covered():
    result, _ = coverage(deny("*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                         deny("*", {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert result.status == UNDECIDED and "not proven" in result.reason


def test_policy_variable_is_undecided():
    result, _ = coverage(deny("*", {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:root"}}))
    assert result.status == UNDECIDED and "policy variable" in result.reason


# --------------------------------------------------------------------------- resources

def test_resource_other_than_star_leaves_other_resources_open():
    result, denies = coverage(deny("*", ROOT_ONLY, resource=["arn:aws:s3:::*", "arn:aws:iam::*:user/*"]))
    assert_witness_allowed(result, denies)
    assert result.witness["resource"]


def test_resource_and_not_resource_of_the_same_arn_together_cover():
    result, _ = coverage(deny("*", ROOT_ONLY, resource="arn:aws:s3:::vault"),
                         {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::vault",
                          "Condition": ROOT_ONLY})
    assert result.status == COVERED


# --------------------------------------------------------------------------- organization

def test_two_policies_at_different_levels_share_the_work():
    snap = snapshot({"p-iam": ["ou-top"], "p-rest": [ROOT_ID]},
                    {"p-iam": policy(deny("iam:*", ROOT_ONLY)),
                     "p-rest": policy(deny(not_action="iam:*", condition=ROOT_ONLY))})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COMPLIANT and "together deny" in verdict.reason
    assert verdict.details["covering_policy"] is None
    assert {s["policy"] for s in verdict.details["covering_statements"]} == {"p-iam", "p-rest"}
    other = decide_root_scp(snap, OTHER)  # outside ou-top only p-rest applies
    assert other.status == NON_COMPLIANT
    assert other.details["witness"]["action"].lower().startswith("iam:")
    assert other.details["witness"]["action"] in other.reason


def test_non_compliant_verdict_names_region_witness():
    snap = snapshot({"p-region": [ROOT_ID]}, {"p-region": policy(
        deny("*", {**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": "us-east-1"}}))})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT
    region = verdict.details["witness"]["conditions"]["aws:requestedregion"]
    assert region != "us-east-1" and region in verdict.reason


def test_reference_scp_verdict_says_assume_root_sessions_are_exempt():
    snap = snapshot({"p-ref": [ROOT_ID]}, {"p-ref": policy(
        deny("*", {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                   "Null": {"aws:AssumedRoot": "true"}}))})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COMPLIANT
    assert "AssumeRoot sessions" in verdict.details["assumed_root_sessions"]
    assert "exempt" in verdict.reason


def test_unknown_operator_in_the_only_deny_is_could_not_evaluate():
    snap = snapshot({"p-odd": [ROOT_ID]}, {"p-odd": policy(deny("*", {"StringFuzzy": {"aws:userid": MEMBER}}))})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE and "StringFuzzy" in verdict.reason


def test_document_helper_credits_statements_that_share_the_work():
    ok, reason = document_denies_root(policy(deny(["iam:*"], ROOT_ONLY),
                                             deny(not_action=["iam:*"], condition=ROOT_ONLY)), MEMBER)
    assert ok and "together deny" in reason


# --------------------------------------------------------------------------- properties

ACTION_PATTERNS = ["*", "iam:*", "iam:Create*", "s3:*", "s3:Get*", "ec2:RunInstances", "?am:*",
                   "iam:CreateAccessKey", "*:Get*", "sts:*"]
CONCRETE_ACTIONS = ["iam:CreateAccessKey", "iam:DeleteUser", "s3:GetObject", "s3:PutObject",
                    "ec2:RunInstances", "ec2:GetConsoleOutput", "sts:GetCallerIdentity",
                    "kms:Decrypt", "ram:CreateResourceShare", "organizations:LeaveOrganization"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "us-west-2", "ca-west-1"]
RESOURCES = ["arn:aws:s3:::vault", "arn:aws:s3:::other", "arn:aws:iam::111111111111:user/u",
             "arn:aws:ec2:us-east-1:111111111111:instance/i-1"]

clauses = st.sampled_from([
    ("ArnLike", "aws:PrincipalArn", ("arn:aws:iam::*:root",)),
    ("StringEquals", "aws:PrincipalType", ("Account",)),
    ("StringNotEquals", "aws:userid", (MEMBER,)),
    ("Null", "aws:AssumedRoot", ("true",)),
    ("Null", "aws:AssumedRoot", ("false",)),
    ("StringEquals", "aws:RequestedRegion", ("us-east-1",)),
    ("StringNotEquals", "aws:RequestedRegion", ("us-east-1", "eu-west-1")),
    ("StringEqualsIfExists", "aws:RequestedRegion", ("ap-south-1",)),
    ("Bool", "aws:MultiFactorAuthPresent", ("true",)),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", ("false",)),
    ("Null", "aws:MultiFactorAuthPresent", ("true",)),
    ("StringLike", "aws:RequestedRegion", ("us-*",)),
    ("StringNotLike", "aws:RequestedRegion", ("*-west-?",)),
    ("StringEqualsIgnoreCase", "aws:RequestedRegion", ("EU-WEST-1",)),
])


@st.composite
def statements(draw):
    statement = {"Effect": draw(st.sampled_from(["Deny", "Deny", "Deny", "Allow"]))}
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    statement["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = actions
    resource = draw(st.sampled_from(["*", "*", "*", "arn:aws:s3:::vault", "not:arn:aws:s3:::vault",
                                     "arn:aws:s3:::*", "not:arn:aws:iam::*"]))
    if resource.startswith("not:"):
        statement["NotResource"] = resource[4:]
    else:
        statement["Resource"] = resource
    condition = {}
    for operator, key, values in draw(st.lists(clauses, max_size=3, unique=True)):
        if key not in condition.setdefault(operator, {}):
            condition[operator][key] = list(values)
    if condition:
        statement["Condition"] = condition
    return statement


requests = st.fixed_dictionaries({
    "action": st.sampled_from(CONCRETE_ACTIONS),
    "region": st.sampled_from(REGIONS),
    "mfa": st.sampled_from(["true", "false", ABSENT]),
    "resource": st.sampled_from(RESOURCES),
})


def _request_context(request):
    return {**root_request_context(MEMBER), "aws:requestedregion": request["region"],
            "aws:multifactorauthpresent": request["mfa"]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statements(), min_size=1, max_size=4), st.lists(requests, min_size=1, max_size=8))
def test_covered_means_no_request_escapes_and_every_witness_is_allowed(raw, samples):
    result, denies = coverage(*raw)
    assert result.status in (COVERED, HOLE)  # every construct here is decidable exactly
    if result.status == COVERED:
        assert result.witness is None
        for request in samples:
            assert request_denied(denies, request["action"], _request_context(request),
                                  request["resource"]) is True, request
    else:
        assert_witness_allowed(result, denies)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ACTION_PATTERNS), max_size=4),
       st.lists(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3), max_size=2),
       st.sampled_from(["*", "iam:*", "s3:Get*", "iam:CreateAccessKey"]),
       st.sampled_from(CONCRETE_ACTIONS))
def test_action_gap_is_exact(denied, kept, required, action):
    from rootguard_filters.logic.iam_policy import action_matches
    gap = uncovered_action((required,), tuple(denied), tuple(tuple(g) for g in kept))

    def escapes(name):
        return (action_matches(required, name) and not any(action_matches(d, name) for d in denied)
                and all(any(action_matches(k, name) for k in g) for g in kept))

    if gap is None:
        assert not escapes(action)
    else:
        assert escapes(gap)


def test_organization_id_is_known_for_every_member_root():
    snap = snapshot({"p-org": [ROOT_ID]}, {"p-org": policy(
        deny("*", {**ROOT_ONLY, "StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))})
    assert decide_root_scp(snap, MEMBER).status == NON_COMPLIANT  # org id unknown: a hole is possible
    snap.organization_id = "o-abc123"
    snap._denies.clear()
    assert decide_root_scp(snap, MEMBER).status == COMPLIANT



def test_wildcard_resource_and_not_resource_together_cover():
    result, _ = coverage(deny("*", ROOT_ONLY, resource="arn:aws:s3:::*"),
                         {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::*", "Condition": ROOT_ONLY})
    assert result.status == COVERED


def test_distinguishing_values_cover_every_class_of_strings():
    from rootguard_filters.logic.action_globs import distinguishing_values
    from rootguard_filters.logic.iam_policy import string_like
    atoms = (("us-*", True, False), ("*-west-?", True, False), ("EU-WEST-1", False, True))
    values = distinguishing_values(atoms)

    def vector(v):
        return (string_like("us-*", v), string_like("*-west-?", v), v.casefold() == "eu-west-1")

    classes = {vector(v) for v in values}
    for probe in ["us-west-2", "eu-west-1", "EU-West-1", "ap-south-1", "us-", "", "-west-x", "eu-west-10"]:
        assert vector(probe) in classes, probe


def test_a_deny_that_has_expired_or_will_expire_is_judged_from_now_on():
    started = coverage(deny("*", {**ROOT_ONLY, "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))[0]
    assert started.status == COVERED  # every request from now on is after 2020
    result, denies = coverage(deny("*", {**ROOT_ONLY, "DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}))
    assert_witness_allowed(result, denies)
    assert result.witness["conditions"]["aws:currenttime"].startswith("2999-01-01")


def test_a_deny_without_any_resource_element_is_not_relied_on():
    ok, reason = document_denies_root(policy({"Effect": "Deny", "Action": "*", "Condition": ROOT_ONLY}), MEMBER)
    assert not ok and "no Resource or NotResource" in reason
