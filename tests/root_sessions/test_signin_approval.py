"""root-signin-approval: the real-time root sign-in alert says whether an approval covers it."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jinja2
import pytest
from c7n.config import Config
from c7n.policy import Policy

from rootguard_filters.sandbox import history as h

ACCT = "444455556666"
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "mailer-templates"


def signin_filter(tmp_path, **options):
    data = {"name": "signin", "resource": "aws.account", "filters": [{"type": "root-signin-approval", **options}]}
    policy = Policy(data, Config.empty(account_id=ACCT, region="us-east-1", output_dir=str(tmp_path)))
    policy.validate()
    return policy.resource_manager.filters[0]


def event(record):
    return {"version": "0", "detail-type": "AWS Console Sign In via CloudTrail", "source": "aws.signin",
            "account": ACCT, "region": "us-east-1", "detail": record}


def register(tmp_path, rows):
    path = tmp_path / "approvals.csv"
    path.write_text("account,start,end,ticket,justification,approvers\n" + "".join(rows))
    return str(path)


def run(f, record):
    resources = [{"account_id": ACCT, "account_name": "member"}]
    kept = f.process(resources, event(record))
    return kept, resources[0]["c7n:rootguard"]["root-signin-approval"]


def test_approved_sign_in_carries_its_ticket(tmp_path):
    path = register(tmp_path, [f"{ACCT},2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-42,rotate MFA,alice;bob\n"])
    kept, verdict = run(signin_filter(tmp_path, approvals=path), h.console_login(ACCT, T0, "198.51.100.1"))
    assert len(kept) == 1 and verdict["status"] == "compliant"
    assert verdict["details"]["ticket"] == "CHG-42" and "CHG-42" in verdict["reason"]


def test_unapproved_sign_in_is_still_alerted_with_the_reason(tmp_path):
    path = register(tmp_path, [f"{ACCT},2026-03-05T08:30:00Z,2026-03-05T10:00:00Z,CHG-42,x,alice;bob\n"])
    kept, verdict = run(signin_filter(tmp_path, approvals=path), h.console_login(ACCT, T0, "198.51.100.1"))
    assert len(kept) == 1 and verdict["status"] == "non-compliant"
    assert "no approval for account" in verdict["reason"]


def test_approved_false_keeps_only_unapproved_sign_ins(tmp_path):
    path = register(tmp_path, [f"{ACCT},2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-42,x,alice;bob\n"])
    f = signin_filter(tmp_path, approvals=path, approved=False)
    assert run(f, h.console_login(ACCT, T0, "198.51.100.1"))[0] == []
    assert len(run(f, h.console_login(ACCT, T0 + timedelta(days=1), "198.51.100.1"))[0]) == 1


@pytest.mark.parametrize("approvals, status, words", [
    (None, "non-compliant", "no approvals register"),
    ("{rootguard_approvals}", "non-compliant", "no approvals register"),    # deploy variable not set
    ("/nonexistent/approvals.csv", "could-not-evaluate", "register unreadable"),
])
def test_missing_or_unreadable_register(tmp_path, monkeypatch, approvals, status, words):
    monkeypatch.delenv("ROOTGUARD_APPROVALS", raising=False)
    options = {"approvals": approvals} if approvals else {}
    kept, verdict = run(signin_filter(tmp_path, **options), h.console_login(ACCT, T0, "198.51.100.1"))
    assert len(kept) == 1 and verdict["status"] == status and words in verdict["reason"]


def test_failed_sign_in_opens_no_session(tmp_path):
    kept, verdict = run(signin_filter(tmp_path), h.console_login(ACCT, T0, "198.51.100.1", success=False))
    assert len(kept) == 1 and verdict["status"] == "not-applicable"


def test_alert_template_shows_the_approval(tmp_path):
    path = register(tmp_path, [f"{ACCT},2026-03-04T08:30:00Z,2026-03-04T10:00:00Z,CHG-42,x,alice;bob\n"])
    record = h.console_login(ACCT, T0, "198.51.100.1")
    kept, _ = run(signin_filter(tmp_path, approvals=path), record)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined)
    html = env.get_template("rootguard-root-alert.html.j2").render(
        account="member", account_id=ACCT, region="us-east-1", event=json.loads(json.dumps(event(record))),
        resources=kept, policy={"name": "rootguard-root-console-signin", "description": "d"}, action={},
        recipient="sec@example.com")
    assert "break-glass approval" in html and "CHG-42" in html and "compliant" in html
