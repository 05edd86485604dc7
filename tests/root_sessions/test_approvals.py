"""The approvals register (parsing, bad rows with line numbers) and every approval rule of root-sessions."""
from datetime import datetime, timedelta, timezone

import pytest

from rootguard_filters.decide.approvals import (
    MISSING_REGISTER, RegisterError, approval_for, decide_root_sessions, parse_register)
from rootguard_filters.decide.root_sessions import group_sessions
from rootguard_filters.sandbox import history as h

ACCT, MGMT = "444455556666", "111122223333"
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)

YAML_REGISTER = """\
approvals:
  - account: '444455556666'
    start: 2026-03-04T08:30:00Z
    end: 2026-03-04T10:00:00Z
    ticket: CHG-1
    justification: rotate MFA
    approvers: [alice, bob]
  - account: 444455556666
    start: not a time
    end: 2026-03-04T10:00:00Z
  - account: '12345'
    start: 2026-03-04T08:30:00Z
    end: 2026-03-04T10:00:00Z
  - account: '444455556666'
    start: 2026-03-05T10:00:00Z
    end: 2026-03-05T09:00:00Z
    ticket: CHG-2
    approvers: alice; bob
    colour: blue
"""

CSV_REGISTER = """\
account,start,end,ticket,justification,approvers,task
444455556666,2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-1,rotate MFA,alice;bob,
444455556666,2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,,no ticket here,alice;Alice,
,2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-3,x,a;b,
444455556666,2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-4,x,a;b,IAMDoEverything
"""


def console(start=T0, minutes=10, account=ACCT):
    records = [h.console_login(account, start, "198.51.100.1"),
               h.root_call(account, start + timedelta(minutes=minutes), "GetUser", console_login_at=start)]
    return group_sessions(records, account).sessions[0]


def register(*entries, source="register.yml"):
    import yaml
    return parse_register(yaml.safe_dump(list(entries)), source)


def entry(**over):
    base = {"account": ACCT, "start": "2026-03-04T08:30:00Z", "end": "2026-03-04T10:00:00Z",
            "ticket": "CHG-1", "justification": "rotate MFA", "approvers": ["alice", "bob"]}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_yaml_register_bad_rows_are_reported_with_line_numbers():
    reg = parse_register(YAML_REGISTER, "approvals.yml")
    assert [a.ticket for a in reg.approvals] == ["CHG-1"]
    problems = {p["line"]: p["error"] for p in reg.problems}
    assert "start 'not a time' is not an ISO 8601 time" in problems[8]
    assert "not a 12-digit account id" in problems[11]
    assert "end is not after start" in problems[14] and "unknown field(s) colour" in problems[14]


def test_csv_register_rows_and_shortfalls_with_line_numbers():
    reg = parse_register(CSV_REGISTER, "approvals.csv")
    assert [a.line for a in reg.approvals] == [2, 3]
    assert reg.approvals[1].shortfalls == ("no ticket", "1 distinct approver(s), dual control needs 2")
    problems = {p["line"]: p["error"] for p in reg.problems}
    assert "missing account" in problems[4]
    assert "is not a root task" in problems[5]
    assert problems[3] in ("no ticket", "1 distinct approver(s), dual control needs 2")


@pytest.mark.parametrize("text, source", [
    ("approvals: [unclosed", "r.yml"), ("just a string", "r.yml"), ("", "r.csv"), ("who,when\n1,2\n", "r.csv"),
    (b"\xff\xfe\x00", "r.yml")])
def test_unreadable_registers_raise(text, source):
    with pytest.raises(RegisterError):
        parse_register(text, source)


def test_unquoted_account_id_in_yaml_is_a_problem_naming_the_row_never_coerced():
    reg = register(entry(account=12345678901))
    assert reg.approvals == []
    assert "YAML read it as the number 12345678901" in reg.problems[0]["error"]


def test_covered_session_is_approved_with_its_ticket():
    result = approval_for(console(), ACCT, register(entry()))
    assert result["status"] == "approved" and "CHG-1" in result["reason"]


def test_no_register_means_unapproved_saying_the_register_is_missing():
    result = approval_for(console(), ACCT, None)
    assert result["status"] == "unapproved" and result["reason"] == MISSING_REGISTER


@pytest.mark.parametrize("over, why", [
    ({"account": "999999999999"}, "no approval for account 444455556666"),
    ({"start": "2026-03-04T09:05:00Z"}, "no approval for account"),          # starts before the window
    ({"end": "2026-03-04T09:05:00Z"}, "outlasted"),                          # ends after the window
    ({"ticket": None}, "no ticket"),
    ({"approvers": ["alice"]}, "dual control needs 2"),
    ({"approvers": ["alice", " ALICE "]}, "dual control needs 2"),         # the same person twice
    ({"justification": ""}, "no justification"),
    ({"task": "IAMDeleteRootUserCredentials"}, "approves task"),             # a task approval is not a sign-in
])
def test_each_way_an_approval_fails(over, why):
    result = approval_for(console(), ACCT, register(entry(**over)))
    assert result["status"] == "unapproved" and why in result["reason"]


def test_sound_approval_wins_over_a_deficient_one_covering_the_same_time():
    reg = register(entry(ticket=None), entry(ticket="CHG-9"))
    assert approval_for(console(), ACCT, reg)["approval"]["ticket"] == "CHG-9"


def assume_root_member(names):
    key = "ASIAQXZ7EXAMPLEAR00T"
    records = [h.assume_root_action(ACCT, T0 + timedelta(seconds=10 * n), name, key, T0)
               for n, name in enumerate(names)]
    return group_sessions(records, ACCT).sessions[0]


def test_member_assume_root_session_within_the_approved_tasks_actions_is_approved():
    session = assume_root_member(["ListAccessKeys", "DeleteAccessKey"])
    reg = register(entry(task="IAMDeleteRootUserCredentials"))
    assert approval_for(session, ACCT, reg)["status"] == "approved"


def test_member_assume_root_session_beyond_the_approved_task_is_unapproved():
    session = assume_root_member(["ListAccessKeys", "DeleteAccessKey"])
    result = approval_for(session, ACCT, register(entry(task="IAMAuditRootUserCredentials")))
    assert result["status"] == "unapproved" and "iam:DeleteAccessKey" in result["reason"]


def test_caller_side_assume_root_is_matched_on_the_target_account_and_task():
    call = h.assume_root_call(MGMT, T0, ACCT, "IAMDeleteRootUserCredentials", "ASIAQXZ7EXAMPLEAR00T")
    session = group_sessions([call], MGMT).sessions[0]
    assert approval_for(session, MGMT, register(entry(task="IAMDeleteRootUserCredentials")))["status"] == "approved"
    assert approval_for(session, MGMT, register(entry(task="IAMCreateRootUserPassword")))["status"] == "unapproved"
    assert approval_for(session, MGMT, register(entry(account=MGMT)))["status"] == "unapproved"


def verdict(sessions, reg, failed=None, register_error=None, signins=(), match="unapproved"):
    from rootguard_filters.decide.root_sessions import History
    return decide_root_sessions(ACCT, History(list(sessions), list(signins)), reg, 90, ["us-east-1"],
                                failed or {}, register_error=register_error, match=match)


def test_verdict_states():
    assert verdict([], register(entry())).status == "compliant"
    assert verdict([console()], register(entry())).status == "compliant"
    bad = verdict([console()], None)
    assert bad.status == "non-compliant" and "register" in bad.reason
    assert bad.details["sessions"][0]["approval"]["status"] == "unapproved"


def test_unreadable_register_is_could_not_evaluate():
    v = verdict([console()], None, register_error="s3:GetObject s3://b/k failed: AccessDenied")
    assert v.status == "could-not-evaluate" and "AccessDenied" in v.reason
    assert verdict([], None, register_error="gone").status == "could-not-evaluate"


def test_unread_region_is_could_not_evaluate_naming_it_unless_a_session_is_unapproved():
    failed = {"eu-west-1": "cloudtrail:LookupEvents (eu-west-1) failed: ThrottlingException: Rate exceeded"}
    v = verdict([], register(entry()), failed=failed)
    assert v.status == "could-not-evaluate" and "eu-west-1" in v.reason and "Throttling" in v.reason
    v = verdict([console()], None, failed=failed)
    assert v.status == "non-compliant" and "eu-west-1" in v.reason


def test_match_any_flags_failed_sign_ins_alone():
    signin = {"event": "ConsoleLogin", "time": "2026-03-04T09:00:00Z", "result": "Failure"}
    assert verdict([], None, signins=[signin], match="any").status == "non-compliant"
    assert verdict([], None, match="any").status == "compliant"
    assert verdict([], None, signins=[signin]).status == "compliant"
