"""CloudWatch Logs JSON filter patterns: parsing, CloudWatch matching semantics, and malformed input."""
import random

import pytest

from rootguard_filters.logic.filter_pattern import (
    MAX_PATTERN_LENGTH, And, Check, Comparison, FilterPatternError, NumberValue, Or, RegexValue, StringValue,
    evaluate, matches, parse,
)
from rootguard_filters.logic.text_pattern import DelimitedPattern, TermPattern

CIS_SPELLINGS = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    '{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }',
)

# The JSON events of the CloudWatch Logs guide's examples.
GUIDE_EVENT = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
}
COMPOUND_EVENT = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}


class TestParse:
    def test_cis_pattern_parses_into_a_conjunction_of_three_conditions(self):
        ast = parse(CIS_SPELLINGS[0])
        assert isinstance(ast, And)
        type_check, invoked_by, event_type = ast.terms
        assert type_check == Comparison(type_check.selector, "=", StringValue("Root"))
        assert type_check.selector.path == ("userIdentity", "type")
        assert invoked_by == Check(invoked_by.selector, "NOT EXISTS")
        assert event_type.operator == "!=" and event_type.value == StringValue("AwsServiceEvent")

    def test_quoted_bare_and_unspaced_spellings_give_the_same_ast(self):
        assert parse(CIS_SPELLINGS[0]) == parse(CIS_SPELLINGS[1]) == parse(CIS_SPELLINGS[2])

    def test_redundant_parentheses_and_whitespace_do_not_change_the_ast(self):
        plain = parse('{ $.a = 1 && $.b = "x" }')
        assert parse('{((( $.a = 1 )) && ( ($.b = "x") ))}') == plain
        assert parse('\n\t{\t$.a\n=\n1\t&&\t$.b="x"\n}\n') == plain

    def test_and_binds_tighter_than_or(self):
        ast = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }")
        assert isinstance(ast, Or)
        assert isinstance(ast.terms[1], And)

    def test_parentheses_override_precedence(self):
        ast = parse("{ ($.a = 1 || $.b = 2) && $.c = 3 }")
        assert isinstance(ast, And)
        assert isinstance(ast.terms[0], Or)

    def test_selector_with_array_indexes_keeps_ints_in_path(self):
        ast = parse("{ $.coordinates[0][1] = 1 && $.objectList[1].id = 2 }")
        assert ast.terms[0].selector.path == ("coordinates", 0, 1)
        assert ast.terms[1].selector.path == ("objectList", 1, "id")

    def test_only_unquoted_numeric_literals_are_numbers(self):
        assert parse("{ $.a = -1.5e3 }").value == NumberValue(-1500.0, "-1.5e3")
        assert parse('{ $.a = "400" }').value == StringValue("400")
        assert parse("{ $.a != 123.123.* }").value == StringValue("123.123.*")

    def test_escaped_quote_inside_quoted_value(self):
        assert parse(r'{ $.a = "say \"hi\"" }').value == StringValue('say "hi"')

    def test_filter_pattern_error_is_a_value_error_with_position(self):
        with pytest.raises(ValueError) as raised:
            parse("{ $.a = }")
        assert isinstance(raised.value, FilterPatternError)
        assert raised.value.position == 8


MALFORMED = [
    ("{}", "empty"),
    ("{ $.a = 1", "missing closing"),
    ("{ $.a = 1 } trailing", "after the closing"),
    ("{ ($.a = 1 }", "missing ')'"),
    ("{ $.a = 1) }", "unexpected ')'"),
    ("{ $.a = }", "missing value"),
    ("{ = 1 }", "expected a selector"),
    ("{ $.a = 1 && }", "expected a condition"),
    ("{ $.a = 1 || || $.b = 2 }", "expected a selector"),
    ("{ $.a ~ 1 }", "unknown operator"),
    ("{ $.a == 1 }", "missing value"),
    ("{ $.a ! 1 }", "'!' must be followed by '='"),
    ("{ $.a IS MAYBE }", "unknown operator"),
    ("{ $.a is null }", "unknown operator"),
    ("{ $.a EXISTS }", "unknown operator"),
    ('{ $.a = "unterminated }', "unterminated"),
    ("{ $.a > abc }", "needs a number"),
    ('{ $.a >= "5" }', "needs a number"),
    ("{ $.a = 1 & $.b = 2 }", "unexpected '&'"),
    ("{ $ = 1 }", "names no property"),
    ("{ $.a..b = 1 }", "malformed selector"),
    ("{ $[0] = 1 }", "malformed selector"),
    ("{ $.a[x] = 1 }", "malformed selector"),
    ("{ $.a = 1 $.b = 2 }", "unexpected"),
    ("{ { $.a = 1 } }", "unexpected '{'"),
]


class TestMalformedPatterns:
    @pytest.mark.parametrize("pattern, message", MALFORMED)
    def test_malformed_pattern_raises_filter_pattern_error_naming_the_problem(self, pattern, message):
        with pytest.raises(FilterPatternError) as raised:
            parse(pattern)
        assert message in raised.value.message
        assert 0 <= raised.value.position <= len(pattern)

    @pytest.mark.parametrize("pattern, kind", [
        ("ERROR", TermPattern), ('"Failed to process"', TermPattern), ("?ERROR ?WARN", TermPattern),
        ("ERROR -Exiting", TermPattern), ("", TermPattern), ("   ", TermPattern), ("%AUTHORIZED%", TermPattern),
        ("[ip, user, status_code = 4*, bytes]", DelimitedPattern),
        ("[w1=ERROR || w1=WARN, ...]", DelimitedPattern),
    ])
    def test_term_and_space_delimited_patterns_are_valid_syntax(self, pattern, kind):
        assert isinstance(parse(pattern), kind)

    @pytest.mark.parametrize("pattern, message", [
        ("{ $.a = %something!% }", "not supported"),
        ("{ $.a = %(ab)% }", "parentheses are not supported"),
        ("{ $.a = %abc }", "unterminated"),
        ("{ $.a = %a% || $.b = %b% || $.c = %c% }", "more than 2 regular expressions"),
        ("{ $.a > %1% }", "needs a number"),
        ("%[% ", "invalid %regex%"),
        ("ERROR ?", "must be followed by a term"),
        ('"unterminated', "unterminated"),
        ("[a, b = ]", "missing value"),
        ("[a, , b]", "empty field"),
        ("[a, b", "missing closing ']'"),
        ("[a = %x%, b = %y%, c = %z%]", "more than 2 regular expressions"),
    ])
    def test_syntax_cloudwatch_rejects_is_malformed(self, pattern, message):
        with pytest.raises(FilterPatternError) as raised:
            parse(pattern)
        assert message in raised.value.message

    def test_deep_nesting_raises_filter_pattern_error_not_recursion_error(self):
        with pytest.raises(FilterPatternError, match="nested too deeply"):
            parse("{" + "(" * 400 + "$.a = 1" + ")" * 400 + "}")

    def test_pattern_longer_than_cloudwatch_limit_is_rejected(self):
        with pytest.raises(FilterPatternError, match="longer than"):
            parse("{ $.a = " + "x" * MAX_PATTERN_LENGTH + " }")

    def test_non_string_pattern_raises_filter_pattern_error(self):
        with pytest.raises(FilterPatternError):
            parse(None)

    def test_fuzzed_and_truncated_input_only_ever_raises_filter_pattern_error(self):
        rng = random.Random(20250305)
        alphabet = list('{}()[]$."=!<>&|*\\ \t\n-_+eE0123456789abcRoot') + [
            "$.a", "&&", "||", "IS", "NULL", "NOT", "EXISTS", "TRUE", "FALSE", "!=", "<=", ">="]
        seeds = list(CIS_SPELLINGS) + ["{ ($.user.id = 2 && $.users[0].email = \"x\") || $.actions[2] = GET }"]
        candidates = [seed[:cut] for seed in seeds for cut in range(len(seed) + 1)]
        candidates += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
        for seed in seeds:
            for _ in range(500):
                chars = list(seed)
                for _ in range(rng.randint(1, 4)):
                    chars[rng.randrange(len(chars))] = rng.choice(alphabet)
                candidates.append("".join(chars))
        parsed = 0
        for candidate in candidates:
            try:
                ast = parse(candidate)
            except FilterPatternError:
                continue
            parsed += 1
            assert evaluate(ast, COMPOUND_EVENT) in (True, False)
        assert parsed > 0  # the fuzz must also reach the evaluator


class TestGuideExamples:
    @pytest.mark.parametrize("pattern", [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
    ])
    def test_documented_json_examples_match(self, pattern):
        assert matches(pattern, GUIDE_EVENT)

    @pytest.mark.parametrize("pattern, expected", [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
         True),
        ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
         False),
    ])
    def test_documented_compound_examples_follow_precedence(self, pattern, expected):
        assert matches(pattern, COMPOUND_EVENT) is expected


class TestEvaluate:
    def test_equality_on_missing_property_does_not_match(self):
        assert not matches('{ $.nope = "x" }', GUIDE_EVENT)

    def test_inequality_on_missing_property_does_not_match(self):
        # Real AWS: a '!=' on an absent field is false, so it never widens a pattern.
        assert not matches('{ $.nope != "x" }', GUIDE_EVENT)
        assert not matches('{ $.user.nope != "x" }', COMPOUND_EVENT)

    @pytest.mark.parametrize("operator", ["=", "!="])
    def test_comparison_on_object_or_array_does_not_match_either_way(self, operator):
        assert not matches(f"{{ $.user {operator} 1 }}", COMPOUND_EVENT)
        assert not matches(f"{{ $.actions {operator} GET }}", COMPOUND_EVENT)

    @pytest.mark.parametrize("operator", ["=", "!="])
    def test_comparison_on_null_or_boolean_does_not_match_either_way(self, operator):
        assert not matches(f"{{ $.SomeObject {operator} x }}", GUIDE_EVENT)
        assert not matches(f"{{ $.ThisFlag {operator} true }}", GUIDE_EVENT)

    def test_string_equality_is_exact_and_case_sensitive(self):
        assert matches("{ $.eventType = UpdateTrail }", GUIDE_EVENT)
        assert not matches("{ $.eventType = updatetrail }", GUIDE_EVENT)
        assert not matches("{ $.eventType = Update }", GUIDE_EVENT)
        assert matches("{ $.eventType != Update }", GUIDE_EVENT)

    @pytest.mark.parametrize("value, expected", [
        ("*Trail", True), ("Update*", True), ("*dateTr*", True), ("*", True),
        ("*Update", False), ("Trail*", False), ("*nothere*", False),
    ])
    def test_leading_and_trailing_wildcards(self, value, expected):
        assert matches(f'{{ $.eventType = "{value}" }}', GUIDE_EVENT) is expected

    def test_inner_wildcard_is_literal_as_the_guide_says(self):
        # Guide: "Ev*ent will only match the actual string Ev*ent".
        assert not matches('{ $.name = "Ev*ent" }', {"name": "Event"})
        assert matches('{ $.name = "Ev*ent" }', {"name": "Ev*ent"})
        assert not matches('{ $.arn = "arn:aws:iam::*:root" }', {"arn": "arn:aws:iam::111122223333:root"})

    def test_star_matches_any_number_but_not_a_missing_property(self):
        assert matches("{ $.latency = * }", {"latency": 50})
        assert not matches("{ $.latency = * }", {})

    def test_unquoted_number_matches_string_field_with_the_same_text(self):
        event = {"recipientAccountId": "123456789012"}
        assert matches("{ $.recipientAccountId = 123456789012 }", event)
        assert not matches("{ $.recipientAccountId != 123456789012 }", event)

    @pytest.mark.parametrize("pattern, expected", [
        ("{ $.latency >= 500 }", True), ("{ $.latency > 500 }", False), ("{ $.latency <= 500 }", True),
        ("{ $.latency < 10e3 }", True), ("{ $.latency < 10e-3 }", False), ("{ $.latency > +499.5 }", True),
        ("{ $.latency = 500 }", True), ("{ $.latency = 500.0 }", True), ("{ $.latency != 500 }", False),
    ])
    def test_numeric_comparisons(self, pattern, expected):
        assert matches(pattern, {"latency": 500}) is expected

    def test_relational_operator_ignores_numeric_looking_strings_and_booleans(self):
        assert not matches("{ $.latency > 1 }", {"latency": "500"})
        assert not matches("{ $.latency > 0 }", {"latency": True})

    def test_array_index_out_of_range_or_on_non_array_does_not_match(self):
        assert not matches('{ $.arrayKey[5] = "value" }', GUIDE_EVENT)
        assert not matches('{ $.eventType[0] = "U*" }', GUIDE_EVENT)
        assert matches("{ $.arrayKey[5] NOT EXISTS }", GUIDE_EVENT)

    def test_is_null_only_matches_explicit_null(self):
        assert matches("{ $.SomeObject IS NULL }", GUIDE_EVENT)
        assert not matches("{ $.Missing IS NULL }", GUIDE_EVENT)
        assert not matches("{ $.eventType IS NULL }", GUIDE_EVENT)

    def test_not_exists_is_false_for_null_and_true_below_a_null(self):
        assert not matches("{ $.SomeObject NOT EXISTS }", GUIDE_EVENT)
        assert matches("{ $.SomeObject.child NOT EXISTS }", GUIDE_EVENT)

    def test_is_true_and_is_false_need_real_booleans(self):
        assert matches("{ $.ThisFlag IS TRUE }", GUIDE_EVENT)
        assert not matches("{ $.ThisFlag IS FALSE }", GUIDE_EVENT)
        assert matches("{ $.flag IS FALSE }", {"flag": False})
        assert not matches("{ $.flag IS TRUE }", {"flag": "true"})
        assert not matches("{ $.flag IS FALSE }", {"flag": 0})

    def test_cis_spellings_agree_on_root_and_service_events(self):
        root_call = {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"}
        service_event = {"userIdentity": {"type": "Root"}, "eventType": "AwsServiceEvent"}
        invoked = {"userIdentity": {"type": "Root", "invokedBy": "signin.amazonaws.com"}, "eventType": "AwsApiCall"}
        for pattern in CIS_SPELLINGS:
            assert matches(pattern, root_call)
            assert not matches(pattern, service_event)
            assert not matches(pattern, invoked)


class TestRegexValues:
    def test_regex_value_parses_with_operators_the_tokenizer_would_otherwise_split(self):
        ast = parse("{ $.eventName = %^Create[A-Z]{2,}|Delete% }")
        assert ast.value == RegexValue("^Create[A-Z]{2,}|Delete")

    @pytest.mark.parametrize("pattern, event, expected", [
        ("{ $.eventName = %^Con% }", {"eventName": "ConsoleLogin"}, True),
        ("{ $.eventName = %^Con% }", {"eventName": "ReConsole"}, False),
        ("{ $.eventName = %sole% }", {"eventName": "ConsoleLogin"}, True),
        ("{ $.eventName = %Login$% }", {"eventName": "ConsoleLogin"}, True),
        ("{ $.eventName != %Login$% }", {"eventName": "ConsoleLogin"}, False),
        ("{ $.region = %us-[a-z]+-1% }", {"region": "us-west-1"}, True),
        ("{ $.n = %^4\\d\\d% }", {"n": 404}, True),
        ("{ $.eventName = %Con% }", {}, False),
        ("{ $.eventName != %Con% }", {}, False),
    ])
    def test_regex_is_a_search_not_literal_text(self, pattern, event, expected):
        assert matches(pattern, event) is expected


class TestTextPatterns:
    EVENT = {"userIdentity": {"type": "Root"}, "eventName": "ConsoleLogin", "userAgent": "Mozilla 5.0"}

    @pytest.mark.parametrize("pattern, expected", [
        ("", True), ("Root", True), ("Root ConsoleLogin", True), ("Root RunInstances", False),
        ('"Mozilla 5.0"', True), ('"Mozilla 6"', False), ("?RunInstances ?ConsoleLogin", True),
        ("?RunInstances ?CreateUser", False), ("Root -ConsoleLogin", False), ("Root -RunInstances", True),
        ("%Con[a-z]+Login%", True), ("-%Run%", True),
    ])
    def test_term_patterns_match_the_event_text(self, pattern, expected):
        assert matches(pattern, self.EVENT) is expected

    def test_term_semantics_differ_only_on_partial_words(self):
        ast = parse("Console")
        text = '{"eventName":"ConsoleLogin"}'
        assert ast.matches_text(text, "substring") and not ast.matches_text(text, "word")

    @pytest.mark.parametrize("pattern, text, expected", [
        ("[ip, user, status = 4*, bytes]", "1.2.3.4 bob 404 100", True),
        ("[ip, user, status = 4*, bytes]", "1.2.3.4 bob 200 100", False),
        ("[ip, user, status = 4*, bytes]", "1.2.3.4 bob 404", False),
        ("[ip, ..., bytes > 50]", "1.2.3.4 a b c 100", True),
        ("[ip, ..., bytes > 50]", "1.2.3.4 a b c 10", False),
        ("[w1 = ERROR || w1 = WARN, ...]", "WARN disk full", True),
        ("[w1 = ERROR || w1 = WARN, ...]", "INFO disk full", False),
        ('[a, b = "x y", c]', 'one "x y" three', True),
        ("[a, b = %^ab%]", "z abc", True),
        ("[...]", "anything at all", True),
    ])
    def test_space_delimited_patterns_split_on_spaces(self, pattern, text, expected):
        assert parse(pattern).matches_text(text) is expected
