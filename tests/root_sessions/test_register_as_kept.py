"""Registers as people keep them (spreadsheet and ticket-system exports) and the edges of the event
history: one person written two ways, invisible characters, YAML-number account ids, UTF-16 and
';'-delimited CSV, a session whose sign-in lies before the history window, AssumeRoot targets as ARNs."""
import codecs
from datetime import datetime, timedelta, timezone

import pytest

from rootguard_filters.decide.approvals import (
    RegisterError, approval_for, approver_identity, decide_root_sessions, parse_register)
from rootguard_filters.decide.root_sessions import (
    NOT_CALLER, START_CALL, START_CREATED, START_SIGNIN, History, caller_lookup, group_sessions, target_account)
from rootguard_filters.sandbox import history as h

ACCT, MGMT = "444455556666", "111122223333"
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
HEADER = "account,start,end,ticket,justification,approvers"
WINDOW = "2026-03-04T08:30:00Z,2026-03-04T10:00:00Z"


def console(start=T0, minutes=10):
    records = [h.console_login(ACCT, start, "198.51.100.1"),
               h.root_call(ACCT, start + timedelta(minutes=minutes), "GetUser", console_login_at=start)]
    return group_sessions(records, ACCT).sessions[0]


def csv_register(*rows, header=HEADER, delimiter=","):
    text = "\n".join([header, *rows]) + "\n"
    return parse_register(text.replace(",", delimiter) if delimiter != "," else text, "approvals.csv")


# ---- one person is one approver ---------------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    '"alice@x.com; Alice@x.com "',                 # case and a trailing space
    '"Alice <alice@x.com>; alice@x.com"',          # display name
    '"mailto:alice@x.com; ALICE@X.COM"',           # mailto: link pasted from a ticket
    '"\'alice@x.com\' | alice@x.com"',             # quoted
    '"alice@x.com\nAlice@X.com"',                  # a line break inside the cell
])
def test_one_person_written_two_ways_is_one_approver(cell):
    reg = csv_register(f"{ACCT},{WINDOW},CHG-1,rotate MFA,{cell}")
    (approval,) = reg.approvals
    assert approval.approvers == ("alice@x.com",)
    result = approval_for(console(), ACCT, reg)
    assert result["status"] == "unapproved" and "1 distinct approver(s), dual control needs 2" in result["reason"]


def test_yaml_comma_separated_same_address_is_one_approver():
    reg = parse_register(f"- {{account: '{ACCT}', start: 2026-03-04T08:30:00Z, end: 2026-03-04T10:00:00Z, "
                         "ticket: CHG-1, justification: x, approvers: 'alice@x.com, alice@x.com'}\n", "r.yml")
    assert reg.approvals[0].approvers == ("alice@x.com",) and reg.approvals[0].shortfalls


def test_two_different_people_however_written_are_two_approvers():
    reg = csv_register(f'{ACCT},{WINDOW},CHG-1,rotate MFA,"Alice Doe <alice@x.com>; mailto:Bob@X.com"')
    assert reg.approvals[0].approvers == ("alice@x.com", "bob@x.com")
    assert approval_for(console(), ACCT, reg)["status"] == "approved"


@pytest.mark.parametrize("text, identity", [
    (" Alice <Alice@X.com> ", "alice@x.com"), ("mailto:bob@x.com?subject=ok", "bob@x.com"),
    ("Carol   Smith", "carol smith"), ('"dave@x.com"', "dave@x.com")])
def test_approver_identity(text, identity):
    assert approver_identity(text) == identity


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u00ad"])
def test_invisible_character_in_an_approver_falls_short_naming_the_row(hidden):
    reg = csv_register(f"{ACCT},{WINDOW},CHG-1,rotate MFA,alice@x.com;alice@x.com{hidden}")
    (problem,) = [p for p in reg.problems if "invisible" in p["error"]]
    assert problem["line"] == 2 and f"U+{ord(hidden):04X}" in problem["error"]
    result = approval_for(console(), ACCT, reg)
    assert result["status"] == "unapproved" and "line 2" in result["reason"] and "invisible" in result["reason"]


def test_invisible_character_in_a_ticket_falls_short():
    reg = csv_register(f"{ACCT},{WINDOW},CHG-\u200b1,rotate MFA,alice;bob")
    assert approval_for(console(), ACCT, reg)["status"] == "unapproved"
    assert "ticket 'CHG-\\u200b1' contains an invisible character" in reg.problems[0]["error"]


@pytest.mark.parametrize("ticket, justification, why", [
    ("   ", "rotate", "no ticket"), ("CHG-1", " \u200b ", "no justification"), ("\t", "\u00a0", "no ticket")])
def test_blank_after_trimming_is_missing(ticket, justification, why):
    reg = csv_register(f"{ACCT},{WINDOW},{ticket},{justification},alice;bob")
    result = approval_for(console(), ACCT, reg)
    assert result["status"] == "unapproved" and why in result["reason"]


# ---- account ids: 12-digit strings, never coerced ----------------------------------------------------

@pytest.mark.parametrize("written, shown", [("012345670123", "012345670123"), ("444455556666", "444455556666"),
                                            ("0x1F", "0x1F"), ("4.4445e+11", "4.4445e+11"), ("true", "true")])
def test_yaml_account_read_as_a_number_is_a_problem_naming_the_row(written, shown):
    text = (f"approvals:\n  - ticket: CHG-1\n    account: {written}\n    start: 2026-03-04T08:30:00Z\n"
            "    end: 2026-03-04T10:00:00Z\n")
    reg = parse_register(text, "approvals.yml")
    assert reg.approvals == []
    (problem,) = reg.problems
    assert problem["line"] == 2 and f"account {shown} is not a string" in problem["error"]
    assert f"quote it ('{shown}')" in problem["error"]


def test_octal_reading_never_approves_another_account():
    # YAML 1.1 reads 012345670123 as octal 1402433619: neither that account nor the intended one matches
    text = ("- {account: 012345670123, start: 2026-03-04T08:30:00Z, end: 2026-03-04T10:00:00Z, ticket: T, "
            "justification: j, approvers: [a, b]}\n")
    reg = parse_register(text, "r.yml")
    assert not reg.approvals and "1402433619" in reg.problems[0]["error"]


@pytest.mark.parametrize("cell", ["12345670123", "1.23457E+11", "0123-4567-0123", "01234567012\u200b"])
def test_csv_account_that_is_not_twelve_digits_is_a_problem(cell):
    reg = csv_register(f"{cell},{WINDOW},CHG-1,x,a;b")
    assert not reg.approvals and "is not a 12-digit account id" in reg.problems[0]["error"]
    assert reg.problems[0]["line"] == 2


def test_quoted_yaml_account_with_leading_zero_is_kept_as_written():
    text = ("- {account: '012345670123', start: 2026-03-04T08:30:00Z, end: 2026-03-04T10:00:00Z, "
            "ticket: T, justification: j, approvers: [a, b]}\n")
    assert parse_register(text, "r.yml").approvals[0].account == "012345670123"


# ---- CSV as spreadsheets export it -------------------------------------------------------------------

ROW = f"{ACCT},{WINDOW},CHG-1,rotate MFA,alice;bob"


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),                      # BOM, platform order
    lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    lambda t: t.encode("utf-16-le"),                   # no BOM
    lambda t: t.encode("utf-16-be"),
], ids=["utf8", "utf8-bom", "utf16", "utf16be-bom", "utf16le", "utf16be"])
def test_csv_encodings(encode):
    reg = parse_register(encode(f"{HEADER}\r\n{ROW}\r\n"), "approvals.csv")
    assert [a.ticket for a in reg.approvals] == ["CHG-1"] and not reg.problems
    assert approval_for(console(), ACCT, reg)["status"] == "approved"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_delimiters(delimiter):
    text = f"{HEADER}\n{ACCT},{WINDOW},CHG-1,rotate MFA,alice@x.com / bob@x.com\n".replace(",", delimiter)
    text = text.replace(" / ", ",")           # the approvers cell keeps its own separator
    reg = parse_register(text.encode("utf-8-sig"), "approvals.csv")
    assert reg.approvals[0].approvers == ("alice@x.com", "bob@x.com") and not reg.problems


def test_windows_1252_csv_says_how_to_save_it():
    body = f"{HEADER}\n{ACCT},{WINDOW},CHG-1,caf\u00e9,alice;bob\n".encode("cp1252")
    with pytest.raises(RegisterError, match=r"not UTF-8 text \(byte 0xe9 at offset \d+\); save it as UTF-8"):
        parse_register(body, "approvals.csv")


def test_csv_header_without_account_column_names_the_delimiters_tried():
    with pytest.raises(RegisterError, match=r"no 'account' column with ',', ';' or tab"):
        parse_register("acct|start|end\n1|2|3\n", "approvals.csv")


# ---- a session judged from when it began -------------------------------------------------------------

def orphan_console(created, first_call):
    """Console calls whose sign-in is older than the history read (only the calls are visible)."""
    call = h.root_call(ACCT, first_call, "GetUser", console_login_at=created - timedelta(seconds=1))
    return group_sessions([call], ACCT).sessions[0]


def test_session_whose_sign_in_is_out_of_sight_starts_at_its_credentials_creation():
    session = orphan_console(T0 - timedelta(hours=3), T0 + timedelta(minutes=5))
    assert session.start == T0 - timedelta(hours=3) and session.start_from == START_CREATED
    assert session.as_dict()["first_event"] == "2026-03-04T09:05:00Z"
    # an approval window that opens after the session began does not cover it
    reg = csv_register(ROW)
    result = approval_for(session, ACCT, reg)
    assert result["status"] == "unapproved" and "covers 2026-03-04T06:00:00Z" in result["reason"]


def test_verdict_says_a_session_began_before_the_window():
    since = T0 - timedelta(hours=1)
    session = orphan_console(T0 - timedelta(hours=3), T0 + timedelta(minutes=5))
    v = decide_root_sessions(ACCT, History([session], []), csv_register(ROW), 90, ["us-east-1"], {}, since=since)
    assert v.status == "non-compliant"
    assert "(before the history window), from its credentials' creationDate" in v.reason
    assert "first recorded call 2026-03-04T09:05:00Z" in v.reason
    assert v.details["sessions"][0]["started_before_window"] is True


def test_creation_after_the_call_is_not_a_start_and_a_sign_in_stays_the_start():
    call = h.root_call(ACCT, T0, "GetUser", console_login_at=T0 + timedelta(hours=1))
    assert group_sessions([call], ACCT).sessions[0].start == T0
    assert console().start == T0 and console().start_from == START_SIGNIN


def test_member_assume_root_session_starts_at_its_credentials_creation():
    key = "ASIAQXZ7EXAMPLEAR00T"
    records = [h.assume_root_action(ACCT, T0 + timedelta(minutes=4), "DeleteAccessKey", key, T0)]
    session = group_sessions(records, ACCT).sessions[0]
    assert session.start == T0 and session.start_from == START_CREATED


def test_long_term_key_session_starts_at_its_first_call():
    call = h.root_call(ACCT, T0, "ListBuckets", "s3.amazonaws.com", key="AKIAQXZ7EXAMPLEROOT1")
    session = group_sessions([call], ACCT).sessions[0]
    assert session.start == T0 and session.start_from == START_CALL


# ---- AssumeRoot targets in both documented forms ------------------------------------------------------

@pytest.mark.parametrize("principal, account", [
    (ACCT, ACCT), (f"arn:aws:iam::{ACCT}:root", ACCT), (f"arn:aws-us-gov:iam::{ACCT}:root", ACCT),
    (f" {ACCT} ", ACCT), ("root", None), ("arn:aws:iam::12345:root", None), ("", None)])
def test_target_account(principal, account):
    assert target_account(principal) == account


def test_assume_root_into_a_principal_arn_is_matched_on_its_account():
    call = h.assume_root_call(MGMT, T0, f"arn:aws:iam::{ACCT}:root", "IAMDeleteRootUserCredentials",
                              "ASIAQXZ7EXAMPLEAR00T")
    session = group_sessions([call], MGMT).sessions[0]
    assert session.target_account == ACCT
    assert session.as_dict()["target_principal"] == f"arn:aws:iam::{ACCT}:root"
    reg = csv_register(ROW + ",IAMDeleteRootUserCredentials", header=HEADER + ",task")
    assert approval_for(session, MGMT, reg)["status"] == "approved"


def test_assume_root_into_an_unreadable_target_is_unapproved_naming_it():
    call = h.assume_root_call(MGMT, T0, "not-a-principal", "IAMAuditRootUserCredentials", "ASIAQXZ7EXAMPLEAR00T")
    session = group_sessions([call], MGMT).sessions[0]
    result = approval_for(session, MGMT, csv_register(ROW))
    assert result["status"] == "unapproved" and "'not-a-principal' is neither an account id" in result["reason"]


# ---- where AssumeRoot calls are looked up ----------------------------------------------------------

def test_assume_root_calls_looked_up_only_where_they_can_be_made():
    assert caller_lookup(True)["read"] is True
    skipped = caller_lookup(False, NOT_CALLER, "iam:ListOrganizationsFeatures failed: ...")
    assert skipped["read"] is False and NOT_CALLER in skipped["why"]
    # anything that does not rule the account out keeps the lookup
    for code in ("AccessDenied", "ThrottlingException", "OrganizationNotFoundException", None):
        assert caller_lookup(False, code, f"failed: {code}")["read"] is True
    assert caller_lookup(False, NOT_CALLER, "x", always=True)["read"] is True


def test_review_says_where_a_session_start_comes_from():
    from rootguard_filters.report.sessions import _what
    session = orphan_console(T0 - timedelta(hours=3), T0 + timedelta(minutes=5))
    v = decide_root_sessions(ACCT, History([session], []), csv_register(ROW), 90, ["us-east-1"], {},
                             since=T0 - timedelta(hours=1))
    text = _what(v.details["sessions"][0])
    assert text == ("console sign-in (sign-in not in history); began at its credentials' creation, before the "
                    "history window, first recorded call 2026-03-04T09:05:00Z")
    call = h.assume_root_call(MGMT, T0, "garbage", "IAMAuditRootUserCredentials", "ASIAQXZ7EXAMPLEAR00T")
    entry = group_sessions([call], MGMT).sessions[0].as_dict()
    assert _what(entry) == "AssumeRoot into unreadable target 'garbage' (IAMAuditRootUserCredentials)"


def test_excel_sep_hint_line_and_a_bom_in_text():
    row = f"{ACCT};{WINDOW.replace(',', ';')};CHG-1;rotate MFA;alice,bob"
    text = f"sep=;\n{HEADER.replace(',', ';')}\n{row}\nbad;row\n"
    reg = parse_register(text, "approvals.csv")
    assert [a.line for a in reg.approvals] == [3] and reg.problems[0]["line"] == 4
    assert parse_register(f"\ufeff{HEADER}\n{ROW}\n", "approvals.csv").approvals[0].ticket == "CHG-1"


@pytest.mark.parametrize("second, why", [
    ("\u0430lice@x.com", "non-ASCII character 'а' (CYRILLIC SMALL LETTER A) in an address"),   # Cyrillic а
    ("Bob <b\u043eb@x.com>", "non-ASCII character 'о'"),
    ("\u0410lice Smith", "letters of several scripts (CYRILLIC, LATIN)")])
def test_lookalike_second_approver_falls_short(second, why):
    reg = csv_register(f'{ACCT},{WINDOW},CHG-1,rotate MFA,"alice@x.com;{second}"')
    assert approval_for(console(), ACCT, reg)["status"] == "unapproved"
    assert any(why in p["error"] and p["line"] == 2 for p in reg.problems), reg.problems


def test_fullwidth_letters_fold_to_the_same_identity_and_accented_names_are_fine():
    assert approver_identity("\uff41lice@x.com") == "alice@x.com"     # fullwidth ａ (NFKC)
    reg = csv_register(f'{ACCT},{WINDOW},CHG-1,rotate MFA,"José García;Zoë Brown"')
    assert reg.approvals[0].approvers == ("josé garcía", "zoë brown") and not reg.problems
