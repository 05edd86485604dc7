"""The c7n-mailer templates the notify actions name exist and render a readable message."""
import json
import re
from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "deploy" / "mailer-templates"
SAMPLES = Path(__file__).resolve().parent / "samples"


def env():
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined)


def named_templates():
    names = set()
    for path in list((ROOT / "deploy").glob("*.yml")) + list((ROOT / "remediation").glob("*.yml")):
        names.update(re.findall(r"template:\s*([\w.-]+)", path.read_text()))
    return sorted(names)


@pytest.mark.parametrize("name", named_templates())
def test_every_template_a_policy_names_exists(name):
    # c7n-mailer looks the template up as <name>.j2
    assert (TEMPLATES / f"{name}.j2").is_file()


def message(event=None, resources=None):
    return {"account": "member", "account_id": "444455556666", "region": "us-east-1",
            "policy": {"name": "rootguard-root-console-signin", "description": "Root signed in.",
                       "metadata": {"severity": "Critical", "cis": ["1.7"]}},
            "event": event, "resources": resources or [], "action": {}, "recipient": "sec@example.com"}


def test_root_alert_shows_the_event_and_whether_mfa_was_used():
    event = json.loads((SAMPLES / "eventbridge-console-signin-envelope.json").read_text())
    html = env().get_template("rootguard-root-alert.html.j2").render(**message(event))
    assert "signin.amazonaws.com ConsoleLogin" in html
    assert "MFA used</th><td>Yes" in html
    assert event["detail"]["sourceIPAddress"] in html


@pytest.mark.parametrize("name", ["rootguard-drift.html.j2", "rootguard-finding.html.j2"])
def test_findings_list_each_accounts_verdicts(name):
    resources = [{"account_id": "444455556666", "account_name": "member",
                  "c7n:rootguard": {"root-usage-alarm": {"status": "non-compliant",
                                                         "reason": "topic has only pending subscriptions"}}}]
    html = env().get_template(name).render(**message(None, resources))
    assert "root-usage-alarm: <b>non-compliant</b> — topic has only pending subscriptions" in html


def test_a_finding_names_an_iam_user_by_name_and_arn_not_none():
    # admin-users-without-mfa flags aws.iam-user resources: no account_name / account_id on them.
    user = {"UserName": "alice", "Arn": "arn:aws:iam::444455556666:user/alice", "UserId": "AIDAEXAMPLE"}
    html = env().get_template("rootguard-finding.html.j2").render(**message(None, [user]))
    assert "alice (arn:aws:iam::444455556666:user/alice)" in html
    assert "None" not in html
