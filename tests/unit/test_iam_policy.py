"""IAM policy grammar: parsing, wildcard matching and condition evaluation."""
import json

import pytest

from rootguard_filters.logic.iam_policy import (
    ABSENT,
    ConditionClause,
    PolicyDocumentError,
    action_matches,
    arn_like,
    condition_satisfied,
    evaluate_clause,
    parse_condition,
    parse_policy,
    pattern_covers,
    split_operator,
    string_like,
)

ROOT = "arn:aws:iam::111111111111:root"


# --------------------------------------------------------------------------- parsing

def test_parse_accepts_json_text_and_normalizes_strings_to_tuples():
    doc = parse_policy(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "S", "Effect": "Deny", "Action": "*", "Resource": "*"}]}))
    statement = doc.statements[0]
    assert doc.version == "2012-10-17"
    assert statement.actions == ("*",) and statement.resources == ("*",)
    assert statement.not_actions is None and statement.conditions == ()
    assert statement.label == "statement 'S'"


def test_parse_accepts_a_dict_and_a_single_statement_object():
    doc = parse_policy({"Statement": {"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"}})
    assert len(doc.statements) == 1
    assert doc.statements[0].not_actions == ("s3:*",)
    assert doc.statements[0].label == "statement #0"


def test_parse_lowercases_condition_keys_but_keeps_operator_names():
    clauses = parse_condition({"StringLike": {"AWS:PrincipalARN": ["a", "b"]},
                               "Null": {"aws:AssumedRoot": True}})
    assert ConditionClause("StringLike", "aws:principalarn", ("a", "b")) in clauses
    # JSON booleans compare as their text
    assert ConditionClause("Null", "aws:assumedroot", ("true",)) in clauses


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"text"', "must be a JSON object"),
    ("{}", "no Statement"),
    ('{"Statement": "Deny"}', "Statement must be"),
    ('{"Statement": 5}', "Statement must be"),
    ('{"Statement": ["x"]}', "must be an object"),
    ('{"Statement": [{"Action": "*", "Resource": "*"}]}', "Effect"),
    ('{"Statement": [{"Effect": "Deny", "Resource": "*"}]}', "exactly one of Action or NotAction"),
    ('{"Statement": [{"Effect": "Deny", "Action": 7}]}', "Action must be"),
    ('{"Statement": [{"Effect": "Deny", "Action": "*", "Condition": []}]}', "Condition must be"),
    ('{"Statement": [{"Effect": "Deny", "Action": "*", "Condition": {"StringLike": "x"}}]}',
     "must be an object"),
])
def test_parse_rejects_malformed_documents_with_a_reason(content, fragment):
    with pytest.raises(PolicyDocumentError) as error:
        parse_policy(content)
    assert fragment in str(error.value)


def test_policy_document_error_is_a_value_error():
    assert issubclass(PolicyDocumentError, ValueError)


# --------------------------------------------------------------------------- matching

@pytest.mark.parametrize("pattern, action, expected", [
    ("*", "iam:CreateAccessKey", True),
    ("iam:*", "iam:CreateAccessKey", True),
    ("IAM:create*", "iam:CreateAccessKey", True),
    ("iam:Create?ccessKey", "iam:CreateAccessKey", True),
    ("iam:Create?", "iam:CreateAccessKey", False),
    ("s3:*", "iam:CreateAccessKey", False),
    ("iam:CreateAccessKey", "iam:createaccesskey", True),
    ("iam:Create.*", "iam:CreateX", False),  # regex characters are literal
])
def test_action_matches_is_case_insensitive_with_wildcards(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_string_like_is_case_sensitive_and_wildcards_cross_colons():
    assert string_like("arn:aws:iam::*:root", ROOT)
    assert string_like("arn:*:root", ROOT)
    assert string_like("arn:aws:iam::11111111111?:root", ROOT)
    assert not string_like("arn:aws:iam::*:ROOT", ROOT)
    assert not string_like("arn:aws:iam::*:root", ROOT + "x")


def test_arn_like_matches_the_six_parts_one_by_one():
    assert arn_like("arn:aws:iam::*:root", ROOT)
    assert arn_like("arn:*:iam::*:root", "arn:aws-us-gov:iam::111111111111:root")
    assert arn_like(ROOT, ROOT)
    # a * in one part cannot swallow the colons of the others
    assert not arn_like("arn:*:root", ROOT)
    assert not arn_like("arn:aws:iam::*", ROOT)
    assert not arn_like("arn:aws:iam::*:ROOT", ROOT)
    assert not arn_like("arn:aws:iam::222222222222:root", ROOT)


def test_arn_like_resource_part_keeps_its_colons():
    assert arn_like("arn:aws:logs:*:*:log-group:*", "arn:aws:logs:us-east-1:1:log-group:a:b")


@pytest.mark.parametrize("pattern, required, expected", [
    ("*", "*", True),
    ("*", "iam:*", True),
    ("iam:*", "iam:CreateAccessKey", True),
    ("IAM:*", "iam:createaccesskey", True),
    ("iam:Create*", "iam:*", False),
    ("iam:*", "*", False),
    ("iam:?", "iam:*", False),
    ("iam:CreateAccessKey", "iam:CreateAccessKey", True),
    ("iam:DeleteAccessKey", "iam:CreateAccessKey", False),
])
def test_pattern_covers_is_glob_containment(pattern, required, expected):
    assert pattern_covers(pattern, required) is expected


# --------------------------------------------------------------------------- operators and conditions

def test_split_operator_understands_qualifiers_and_if_exists():
    op = split_operator("ForAnyValue:StringLikeIfExists")
    assert (op.base, op.qualifier, op.if_exists) == ("StringLike", "ForAnyValue", True)
    assert split_operator("Null").base == "Null"
    # operator names are case-sensitive; Null takes no IfExists
    assert split_operator("stringlike") is None
    assert split_operator("NullIfExists") is None
    assert split_operator("MadeUp") is None


def clause(operator, key, *values):
    return ConditionClause(operator, key.lower(), tuple(values))


def test_positive_operators_or_their_values():
    context = {"aws:principalarn": ROOT}
    assert evaluate_clause(clause("StringEquals", "aws:PrincipalArn", "x", ROOT), context)[0] is True
    assert evaluate_clause(clause("StringEquals", "aws:PrincipalArn", "arn:aws:iam::*:root"),
                           context)[0] is False  # Equals does not expand wildcards
    assert evaluate_clause(clause("StringEqualsIgnoreCase", "aws:PrincipalArn", ROOT.upper()),
                           context)[0] is True
    assert evaluate_clause(clause("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::*:root"),
                           context)[0] is True  # ArnEquals behaves like ArnLike


def test_negated_operators_require_no_value_to_match():
    context = {"aws:principalarn": ROOT}
    assert evaluate_clause(clause("StringNotLike", "aws:PrincipalArn", "*:role/*"), context)[0] is True
    assert evaluate_clause(clause("StringNotLike", "aws:PrincipalArn", "*:role/*", "*:root"),
                           context)[0] is False


def test_absent_keys_follow_iam_rules():
    context = {"aws:assumedroot": ABSENT}
    assert evaluate_clause(clause("Null", "aws:AssumedRoot", "true"), context)[0] is True
    assert evaluate_clause(clause("Null", "aws:AssumedRoot", "false"), context)[0] is False
    assert evaluate_clause(clause("Bool", "aws:AssumedRoot", "true"), context)[0] is False
    assert evaluate_clause(clause("BoolIfExists", "aws:AssumedRoot", "true"), context)[0] is True
    assert evaluate_clause(clause("StringNotEquals", "aws:AssumedRoot", "true"), context)[0] is True
    assert evaluate_clause(clause("ForAllValues:StringLike", "aws:AssumedRoot", "x"), context)[0] is True
    assert evaluate_clause(clause("ForAnyValue:StringLike", "aws:AssumedRoot", "x"), context)[0] is False


def test_null_on_a_present_key():
    context = {"aws:principalarn": ROOT}
    assert evaluate_clause(clause("Null", "aws:PrincipalArn", "false"), context)[0] is True
    assert evaluate_clause(clause("Null", "aws:PrincipalArn", "true"), context)[0] is False


def test_set_qualifiers_on_multivalued_keys():
    context = {"aws:tagkeys": ["a", "b"]}
    assert evaluate_clause(clause("ForAnyValue:StringEquals", "aws:TagKeys", "a"), context)[0] is True
    assert evaluate_clause(clause("ForAllValues:StringEquals", "aws:TagKeys", "a"), context)[0] is False
    assert evaluate_clause(clause("ForAllValues:StringEquals", "aws:TagKeys", "a", "b"),
                           context)[0] is True


def test_unknown_keys_unknown_operators_and_variables_are_undecidable():
    context = {"aws:principalarn": ROOT}
    assert evaluate_clause(clause("StringEquals", "aws:RequestedRegion", "us-east-1"), context)[0] is None
    assert evaluate_clause(clause("stringlike", "aws:PrincipalArn", "*"), context)[0] is None
    assert evaluate_clause(clause("StringLike", "aws:PrincipalArn",
                                  "arn:aws:iam::${aws:PrincipalAccount}:root"), context)[0] is None


def test_condition_satisfied_ands_clauses_and_prefers_false_over_unknown():
    context = {"aws:principalarn": ROOT}
    true = clause("StringLike", "aws:PrincipalArn", "*")
    false = clause("StringLike", "aws:PrincipalArn", "nope")
    unknown = clause("StringEquals", "aws:RequestedRegion", "us-east-1")
    assert condition_satisfied([], context) is True
    assert condition_satisfied([true, true], context) is True
    assert condition_satisfied([true, unknown], context) is None
    assert condition_satisfied([unknown, false], context) is False


def test_root_request_context_identifies_root_and_leaves_request_keys_unknown():
    from rootguard_filters.logic.iam_policy import root_request_context
    context = root_request_context("123456789012", "aws-us-gov")
    assert context["aws:principalarn"] == "arn:aws-us-gov:iam::123456789012:root"
    assert (context["aws:principaltype"], context["aws:userid"]) == ("Account", "123456789012")
    assert context["aws:assumedroot"] is None  # absent: a sign-in, not an AssumeRoot session
    assert "aws:requestedregion" not in context
    assert evaluate_clause(clause("Null", "aws:AssumedRoot", "true"), context)[0] is True
    assert evaluate_clause(clause("StringNotEquals", "aws:PrincipalType", "Account"), context)[0] is False


def test_bool_numeric_date_and_ip_operators_are_evaluated():
    context = {"aws:multifactorauthpresent": "true", "s3:max-keys": "10", "aws:sourceip": "203.0.113.7"}
    assert evaluate_clause(clause("Bool", "aws:MultiFactorAuthPresent", "TRUE"), context)[0] is True
    assert evaluate_clause(clause("NumericLessThan", "s3:max-keys", "10"), context)[0] is False
    assert evaluate_clause(clause("NumericGreaterThanEquals", "s3:max-keys", "10"), context)[0] is True
    assert evaluate_clause(clause("IpAddress", "aws:SourceIp", "203.0.113.0/24"), context)[0] is True
    assert evaluate_clause(clause("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"), context)[0] is False
    assert evaluate_clause(clause("NumericEquals", "s3:max-keys", "ten"), context)[0] is None
    assert evaluate_clause(clause("DateGreaterThan", "s3:max-keys", "2020-01-01"), context)[0] is False
    dated = {"aws:currenttime": "2026-11-27T12:00:00Z", "aws:tokenissuetime": "yesterday"}
    assert evaluate_clause(clause("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z"), dated)[0] is True
    assert evaluate_clause(clause("DateLessThan", "aws:CurrentTime", "1800000000"), dated)[0] is True
    assert evaluate_clause(clause("DateLessThan", "aws:TokenIssueTime", "2026-01-01"), dated)[0] is None
