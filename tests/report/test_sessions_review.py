"""rootguard sessions: the break-glass review from root-sessions verdicts, in every format."""
import csv
import io
import json
import os
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from report_trees import verdict, write_policy_dir
from rootguard_filters.cli import main as rootguard
from rootguard_filters.decide.approvals import decide_root_sessions, parse_register
from rootguard_filters.decide.root_sessions import group_sessions
from rootguard_filters.report.sessions import RENDERERS, collect_sessions
from rootguard_filters.sandbox import history as h

PROD, DEV = "111111111111", "222222222222"
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
REGISTER = parse_register(
    "account,start,end,ticket,justification,approvers\n"
    f"{PROD},2026-03-04T08:00:00Z,2026-03-04T10:00:00Z,CHG-1,rotate <MFA>,alice;bob\n"
    "bad,row\n", "approvals.csv")


def root_verdict(account, records):
    v = decide_root_sessions(account, group_sessions(records, account), REGISTER, 90, ["us-east-1"], {})
    return v.as_dict()


def tree(tmp_path):
    out = tmp_path / "out"
    prod = [h.console_login(PROD, T0, "198.51.100.1"),
            h.root_call(PROD, T0 + timedelta(minutes=5), "DeactivateMFADevice", console_login_at=T0),
            h.console_login(PROD, T0 - timedelta(days=1), "203.0.113.7", success=False)]
    dev = [h.root_call(DEV, T0, "ListBuckets", "s3.amazonaws.com", key="AKIAQXZ7EXAMPLEROOT1")]
    for name, account, records in (("prod", PROD, prod), ("dev", DEV, dev)):
        v = root_verdict(account, records)
        path = out / name / "us-east-1" / "root-session-unapproved"
        write_policy_dir(str(path), "root-session-unapproved", account, "us-east-1",
                         {account: {"root-sessions": v}}, [account] if v["status"] != "compliant" else [])
    accounts = tmp_path / "accounts.yml"
    accounts.write_text(f"accounts:\n- account_id: '{PROD}'\n  name: prod\n- account_id: '{DEV}'\n  name: dev\n"
                        "- account_id: '333333333333'\n  name: ghost\n")
    return str(out), str(accounts)


def test_review_lists_each_accounts_sessions_approvals_and_failed_sign_ins(tmp_path):
    review = collect_sessions(*tree(tmp_path))
    prod, = [a for a in review["accounts"] if a["account_id"] == PROD]
    dev, = [a for a in review["accounts"] if a["account_id"] == DEV]
    assert prod["status"] == "compliant" and prod["sessions"][0]["approval"]["status"] == "approved"
    assert prod["sessions"][0]["credential_changes"][0]["event"] == "DeactivateMFADevice"
    assert prod["signin_events"][0]["result"] == "Failure"
    assert dev["status"] == "non-compliant" and dev["sessions"][0]["kind"] == "access-key"
    assert review["registers"]["approvals.csv"][0]["line"] == 3
    assert any("ghost" in note for note in review["notes"])


def test_every_format_renders_and_escapes(tmp_path):
    out, accounts = tree(tmp_path)
    review = collect_sessions(out, accounts)
    text = RENDERERS["text"](review)
    assert "APPROVED CHG-1" in text and "UNAPPROVED" in text and "iam:DeactivateMFADevice×1" in text
    markdown = RENDERERS["markdown"](review)
    assert markdown.startswith("# Root sessions") and "| start |" in markdown
    page = RENDERERS["html"](review)
    parser = HTMLParser()
    parser.feed(page)
    assert "<script" not in page and "CHG-1" in page
    rows = list(csv.DictReader(io.StringIO(RENDERERS["csv"](review))))
    assert {(r["account_name"], r["kind"], r["approval"]) for r in rows} >= {
        ("prod", "console", "approved"), ("dev", "access-key", "unapproved"),
        ("prod", "signin-event:ConsoleLogin", "")}
    assert json.loads(RENDERERS["json"](review))["accounts"][0]["account_name"] == "dev"


def test_cli_writes_a_file_and_exits_2_on_a_missing_directory(tmp_path, capsys):
    out, accounts = tree(tmp_path)
    target = tmp_path / "review.csv"
    assert rootguard(["sessions", out, "-c", accounts, "-f", "csv", "-o", str(target)]) == 0
    assert target.read_text().startswith("account_id,")
    assert rootguard(["sessions", os.path.join(out, "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
