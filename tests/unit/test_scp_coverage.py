"""Does an SCP in effect deny the root user of a member account?"""
import json

import pytest

from rootguard_filters.decide.scp import (
    OrgSnapshot,
    decide_root_scp,
    document_denies_root,
    root_arn,
    statement_denies_root,
)
from rootguard_filters.verdict import (
    COMPLIANT,
    COULD_NOT_EVALUATE,
    NON_COMPLIANT,
    NOT_APPLICABLE,
)

MEMBER = "111111111111"
OTHER = "222222222222"
MANAGEMENT = "999999999999"
ROOT_ID = "r-abcd"


def deny_root(condition=None, action="*", resource="*", effect="Deny", **extra):
    """A statement shaped like AWS's reference root-deny SCP, with overrides."""
    statement = {"Effect": effect, "Action": action, "Resource": resource, **extra}
    statement["Condition"] = (condition if condition is not None
                              else {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}})
    return statement


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


REFERENCE_SCP = policy(deny_root({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}))
REFERENCE_SCP_WITH_EXEMPTION = policy(deny_root({
    "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
    "Null": {"aws:AssumedRoot": "true"}}))
FULL_ACCESS = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})


def snapshot(attach=None, contents=None, scp_enabled=True, accounts=None, partition="aws"):
    """Org: root -> ou-top (Workloads) -> ou-mid (Prod) -> MEMBER; OTHER directly under root.

    ``attach`` maps policy id -> targets, ``contents`` policy id -> Content; FullAWSAccess is
    always attached at the root, as in a real organization.
    """
    contents = {"p-FullAWSAccess": FULL_ACCESS, **(contents or {})}
    attach = {"p-FullAWSAccess": [ROOT_ID], **(attach or {})}
    return OrgSnapshot(
        management_account_id=MANAGEMENT,
        root_id=ROOT_ID,
        scp_enabled=scp_enabled,
        parent_of={MEMBER: "ou-mid", "ou-mid": "ou-top", "ou-top": ROOT_ID,
                   OTHER: ROOT_ID, MANAGEMENT: ROOT_ID},
        accounts=accounts if accounts is not None else {
            MEMBER: {"Status": "ACTIVE", "Name": "member"},
            OTHER: {"Status": "ACTIVE", "Name": "other"},
            MANAGEMENT: {"Status": "ACTIVE", "Name": "mgmt"}},
        policies={pid: {"Name": f"name-{pid}", "Arn": f"arn:aws:organizations::p/{pid}",
                        "Content": content} for pid, content in contents.items()},
        targets_of=attach,
        ou_names={"ou-top": "Workloads", "ou-mid": "Prod"},
        partition=partition,
    )


def covers(statement, account=MEMBER, **kwargs):
    result, reason = statement_denies_root(statement, account, **kwargs)
    assert isinstance(reason, str) and reason
    return result


# --------------------------------------------------------------------------- statements

def test_reference_scp_with_string_like_covers():
    assert covers(deny_root({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}))


def test_reference_scp_with_arn_like_and_assumed_root_exemption_covers():
    assert covers(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                             "Null": {"aws:AssumedRoot": "true"}}))


@pytest.mark.parametrize("operator", ["StringLike", "ArnLike", "StringEquals", "ArnEquals"])
def test_exact_root_arn_covers_with_every_operator(operator):
    assert covers(deny_root({operator: {"aws:PrincipalArn": root_arn(MEMBER)}}))


@pytest.mark.parametrize("operator", ["StringLike", "ArnLike", "StringEquals", "ArnEquals"])
def test_list_of_values_covers_when_one_matches(operator):
    assert covers(deny_root({operator: {"aws:PrincipalArn": [root_arn(OTHER), root_arn(MEMBER)]}}))


@pytest.mark.parametrize("pattern", ["arn:aws:iam::*:root", "arn:*:iam::*:root",
                                     "arn:aws:iam::1111111111??:root"])
@pytest.mark.parametrize("operator", ["StringLike", "ArnLike"])
def test_wildcard_patterns_cover(operator, pattern):
    assert covers(deny_root({operator: {"aws:PrincipalArn": pattern}}))


def test_string_equals_does_not_expand_wildcards():
    assert not covers(deny_root({"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}))


def test_arn_like_does_not_let_a_star_cross_arn_parts():
    assert covers(deny_root({"StringLike": {"aws:PrincipalArn": "arn:*:root"}}))
    assert not covers(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:*:root"}}))


def test_pattern_for_another_account_only_does_not_cover():
    statement = deny_root({"ArnLike": {"aws:PrincipalArn": root_arn(OTHER)}})
    assert not covers(statement)
    assert covers(statement, account=OTHER)


def test_condition_keys_are_case_insensitive_but_operators_are_not():
    assert covers(deny_root({"ArnLike": {"AWS:PRINCIPALARN": "arn:aws:iam::*:root"}}))
    result, reason = statement_denies_root(
        deny_root({"arnlike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}), MEMBER)
    assert not result and "unsupported condition operator 'arnlike'" in reason


def test_condition_values_are_case_sensitive():
    assert not covers(deny_root({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:ROOT"}}))


def test_not_action_does_not_cover():
    statement = deny_root()
    statement["NotAction"] = statement.pop("Action")
    result, reason = statement_denies_root(statement, MEMBER)
    assert not result and "NotAction" in reason


def test_not_resource_does_not_cover():
    statement = deny_root()
    statement["NotResource"] = statement.pop("Resource")
    result, reason = statement_denies_root(statement, MEMBER)
    assert not result and "NotResource" in reason


def test_resource_other_than_star_does_not_cover():
    assert not covers(deny_root(resource="arn:aws:s3:::*"))
    assert covers(deny_root(resource=["arn:aws:s3:::*", "*"]))


def test_extra_narrowing_condition_does_not_cover():
    result, reason = statement_denies_root(deny_root({
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}}), MEMBER)
    assert not result and "narrows" in reason and "aws:requestedregion" in reason


def test_allow_statement_does_not_cover():
    result, reason = statement_denies_root(deny_root(effect="Allow"), MEMBER)
    assert not result and "Allow" in reason


def test_condition_on_another_principal_does_not_cover():
    result, reason = statement_denies_root(
        deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}), MEMBER)
    assert not result and "does not match" in reason


def test_negated_principal_condition_that_excludes_only_a_role_still_denies_root():
    assert covers(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                             "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}))


def test_exemption_that_targets_plain_root_does_not_cover():
    # Null false means "only AssumeRoot sessions": root signing in with a password is let through
    assert not covers(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                                 "Null": {"aws:AssumedRoot": "false"}}))


def test_action_list_containing_star_covers():
    assert covers(deny_root(action=["s3:*", "*"]))


def test_action_list_of_services_does_not_cover_all_actions():
    result, reason = statement_denies_root(deny_root(action=["iam:*", "s3:*"]), MEMBER)
    assert not result and "does not cover" in reason


@pytest.mark.parametrize("action", ["*", "iam:*", "IAM:Create*", "iam:CreateAccessKey",
                                    ["s3:*", "iam:CreateAccessKey"]])
def test_required_action_is_covered_by_matching_patterns(action):
    assert covers(deny_root(action=action), required_actions=["iam:CreateAccessKey"])


def test_required_actions_must_all_be_covered_by_the_statement():
    statement = deny_root(action="iam:*")
    assert covers(statement, required_actions=["iam:CreateAccessKey", "iam:CreateLoginProfile"])
    assert not covers(statement, required_actions=["iam:CreateAccessKey", "s3:PutObject"])
    assert not covers(deny_root(action="iam:Delete*"), required_actions=["iam:CreateAccessKey"])


def test_required_all_actions_needs_a_literal_star():
    assert not covers(deny_root(action="iam:*"))
    assert not covers(deny_root(action="iam:*"), required_actions=("*",))


def test_deny_without_condition_denies_everyone_including_root():
    statement = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    result, reason = statement_denies_root(statement, MEMBER)
    assert result and "every principal" in reason


def test_partition_aws_us_gov_uses_its_root_arn():
    gov_exact = deny_root({"ArnEquals": {"aws:PrincipalArn": f"arn:aws-us-gov:iam::{MEMBER}:root"}})
    assert covers(gov_exact, partition="aws-us-gov")
    assert not covers(gov_exact)  # commercial root ARN differs
    assert not covers(deny_root(), partition="aws-us-gov")  # pattern pins partition aws
    assert covers(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}}),
                  partition="aws-us-gov")


def test_malformed_statement_is_a_reason_not_a_crash():
    result, reason = statement_denies_root({"Action": "*"}, MEMBER)
    assert not result and "malformed" in reason


# --------------------------------------------------------------------------- documents

def test_document_covers_when_any_statement_covers():
    content = policy({"Effect": "Allow", "Action": "*", "Resource": "*"}, deny_root())
    result, reason = document_denies_root(content, MEMBER)
    assert result and "#1" in reason


def test_document_reason_lists_each_rejected_statement():
    content = policy(deny_root(effect="Allow"), deny_root(resource="arn:aws:s3:::x"))
    result, reason = document_denies_root(content, MEMBER)
    assert not result and "#0" in reason and "#1" in reason


@pytest.mark.parametrize("content", ["not json", "[]", '{"Version": "2012-10-17"}',
                                     '{"Statement": "oops"}', None])
def test_malformed_document_returns_reason(content):
    result, reason = document_denies_root(content, MEMBER)
    assert not result and "malformed policy document" in reason


# --------------------------------------------------------------------------- organization

def test_policy_attached_at_root_covers_every_member():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP_WITH_EXEMPTION})
    for account in (MEMBER, OTHER):
        verdict = decide_root_scp(snap, account)
        assert verdict.status == COMPLIANT
        assert verdict.details["covering_policy"]["id"] == "p-root"
        assert verdict.details["attached_to"] == {"type": "root", "id": ROOT_ID, "name": None}
        assert "organization root" in verdict.reason and "name-p-root" in verdict.reason


def test_policy_attached_to_ou_two_levels_up_covers():
    snap = snapshot({"p-ou": ["ou-top"]}, {"p-ou": REFERENCE_SCP})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COMPLIANT
    assert verdict.details["attached_to"] == {"type": "ou", "id": "ou-top", "name": "Workloads"}
    assert verdict.details["path"] == [MEMBER, "ou-mid", "ou-top", ROOT_ID]
    assert "OU ou-top (Workloads)" in verdict.reason
    # the account outside that OU is not covered
    assert decide_root_scp(snap, OTHER).status == NON_COMPLIANT


def test_policy_attached_to_the_account_covers():
    snap = snapshot({"p-acct": [MEMBER]}, {"p-acct": REFERENCE_SCP})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COMPLIANT
    assert verdict.details["attached_to"] == {"type": "account", "id": MEMBER, "name": "member"}


def test_policy_not_attached_anywhere_does_not_cover():
    snap = snapshot({"p-loose": []}, {"p-loose": REFERENCE_SCP})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["covering_policy"] is None
    assert "p-FullAWSAccess" in verdict.reason  # says what was checked
    assert "p-loose" not in verdict.details["rejections"]


def test_no_policy_attached_on_the_path_at_all():
    snap = snapshot()
    snap.targets_of = {}
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT and "no SCP is attached" in verdict.reason


def test_policy_type_disabled_is_non_compliant_even_with_a_good_policy():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP}, scp_enabled=False)
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT
    assert "SERVICE_CONTROL_POLICY" in verdict.reason and "not enabled" in verdict.reason


def test_scp_enabled_is_read_from_list_roots_policy_types():
    enabled = {"Id": ROOT_ID, "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}
    pending = {"Id": ROOT_ID, "PolicyTypes": [
        {"Type": "SERVICE_CONTROL_POLICY", "Status": "PENDING_ENABLE"},
        {"Type": "TAG_POLICY", "Status": "ENABLED"}]}
    assert OrgSnapshot.scp_enabled_from_root(enabled) is True
    assert OrgSnapshot.scp_enabled_from_root(pending) is False
    assert OrgSnapshot.scp_enabled_from_root({"Id": ROOT_ID}) is False


def test_uncovered_reason_lists_rejections_per_policy():
    snap = snapshot({"p-region": ["ou-mid"], "p-role": [MEMBER]}, {
        "p-region": policy(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                                      "StringEquals": {"aws:RequestedRegion": "us-east-1"}})),
        "p-role": policy(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}))})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NON_COMPLIANT
    rejections = verdict.details["rejections"]
    assert set(rejections) == {"p-region", "p-role", "p-FullAWSAccess"}
    assert "narrows" in rejections["p-region"] and "does not match" in rejections["p-role"]
    assert "p-region" in verdict.reason and "OU ou-mid (Prod)" in verdict.reason


def test_required_actions_option_flows_to_the_decision():
    snap = snapshot({"p-iam": [ROOT_ID]}, {"p-iam": policy(deny_root(action="iam:*"))})
    assert decide_root_scp(snap, MEMBER).status == NON_COMPLIANT
    verdict = decide_root_scp(snap, MEMBER, required_actions=["iam:CreateAccessKey"])
    assert verdict.status == COMPLIANT
    assert verdict.details["required_actions"] == ["iam:CreateAccessKey"]


def test_pattern_for_another_account_covers_only_that_account():
    snap = snapshot({"p-other": [ROOT_ID]},
                    {"p-other": policy(deny_root({"StringEquals": {"aws:PrincipalArn": root_arn(OTHER)}}))})
    assert decide_root_scp(snap, OTHER).status == COMPLIANT
    assert decide_root_scp(snap, MEMBER).status == NON_COMPLIANT


def test_management_account_is_not_applicable():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP})
    verdict = decide_root_scp(snap, MANAGEMENT)
    assert verdict.status == NOT_APPLICABLE and "management account" in verdict.reason
    assert not verdict.flagged


@pytest.mark.parametrize("status", ["SUSPENDED", "PENDING_CLOSURE"])
def test_inactive_account_is_not_applicable(status):
    snap = snapshot()
    snap.accounts[MEMBER] = {"Status": status, "Name": "member"}
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == NOT_APPLICABLE and status in verdict.reason


def test_unknown_account_could_not_be_evaluated():
    verdict = decide_root_scp(snapshot(), "333333333333")
    assert verdict.status == COULD_NOT_EVALUATE and "333333333333" in verdict.reason
    assert verdict.flagged


def test_malformed_policy_alone_gives_could_not_evaluate_naming_it():
    snap = snapshot({"p-bad": ["ou-mid"]}, {"p-bad": "{not json"})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE
    assert "p-bad (name-p-bad)" in verdict.reason
    assert "not valid JSON" in verdict.details["malformed"]["p-bad"]


def test_malformed_policy_beside_a_covering_one_is_still_compliant():
    snap = snapshot({"p-bad": [MEMBER], "p-good": [ROOT_ID]},
                    {"p-bad": '{"Statement": 3}', "p-good": REFERENCE_SCP})
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COMPLIANT
    assert verdict.details["covering_policy"]["id"] == "p-good"
    assert "p-bad" in verdict.details["malformed"]


def test_policy_content_missing_from_snapshot_is_treated_as_unreadable():
    snap = snapshot()
    snap.targets_of["p-ghost"] = [MEMBER]
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE and "p-ghost" in verdict.reason


def test_partition_aws_us_gov_snapshot():
    gov_scp = policy(deny_root({"ArnLike": {"aws:PrincipalArn": "arn:aws-us-gov:iam::*:root"}}))
    snap = snapshot({"p-gov": [ROOT_ID]}, {"p-gov": gov_scp}, partition="aws-us-gov")
    assert decide_root_scp(snap, MEMBER).status == COMPLIANT
    commercial = snapshot({"p-aws": [ROOT_ID]}, {"p-aws": REFERENCE_SCP}, partition="aws-us-gov")
    assert decide_root_scp(commercial, MEMBER).status == NON_COMPLIANT


def test_broken_ancestry_without_coverage_could_not_be_evaluated():
    snap = snapshot()
    del snap.parent_of["ou-top"]
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE and "incomplete" in verdict.reason
    assert verdict.details["path"] == [MEMBER, "ou-mid", "ou-top", ROOT_ID]


def test_broken_ancestry_still_sees_root_attached_policies():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP})
    del snap.parent_of["ou-top"]
    assert decide_root_scp(snap, MEMBER).status == COMPLIANT


def test_parent_cycle_does_not_hang():
    snap = snapshot()
    snap.parent_of["ou-top"] = "ou-mid"
    verdict = decide_root_scp(snap, MEMBER)
    assert verdict.status == COULD_NOT_EVALUATE


def test_accounts_as_int_ids_are_matched_as_strings():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP})
    assert decide_root_scp(snap, int(MEMBER)).status == COMPLIANT


def test_thousand_accounts_share_memoized_paths_and_parsed_policies(monkeypatch):
    from rootguard_filters.decide import scp as scp_module
    parses = []
    real_parse = scp_module.parse_policy
    monkeypatch.setattr(scp_module, "parse_policy", lambda c: parses.append(1) or real_parse(c))
    snap = snapshot({"p-ou": ["ou-top"]}, {"p-ou": REFERENCE_SCP})
    for n in range(1000):
        account = f"{500000000000 + n}"
        snap.accounts[account] = {"Status": "ACTIVE", "Name": account}
        snap.parent_of[account] = "ou-mid"
    verdicts = [decide_root_scp(snap, f"{500000000000 + n}") for n in range(1000)]
    assert all(v.status == COMPLIANT for v in verdicts)
    # p-ou covers at ou-top before the walk reaches FullAWSAccess at the root: one parse in all
    assert len(parses) == 1
    assert snap.path_to_root("ou-mid") == (["ou-mid", "ou-top", ROOT_ID], True)


def test_verdict_details_shape():
    snap = snapshot({"p-root": [ROOT_ID]}, {"p-root": REFERENCE_SCP})
    details = decide_root_scp(snap, MEMBER).details
    assert {"covering_policy", "attached_to", "path", "rejections", "checked",
            "malformed", "required_actions"} <= set(details)
    assert details["covering_policy"] == {"id": "p-root", "name": "name-p-root",
                                          "arn": "arn:aws:organizations::p/p-root"}
