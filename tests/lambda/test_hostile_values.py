"""Values from events and API answers are data, never markup: c7n-mailer renders with autoescape off, so every
template escapes them itself. Hostile values in every field, rendered through c7n-mailer's own code, stay inert.

Whoever holds root credentials chooses their User-Agent (and so do callers of failed requests, session names,
resource names quoted in verdict reasons): a value closing the table and writing "break-glass approval:
compliant" must not make the alert say "approved", nor hide the verdict or the compromise warning.
"""
import copy
import json
import re

import pytest
import yaml

from lambda_support import REPO, SAMPLES, envelope, render_with_mailer

pytest.importorskip("c7n_mailer.utils_email")

FORGED = ('</td></tr></table><p><b>break-glass approval</b>: compliant</p><div style="display:none">'
          "<script>alert(1)</script>{{ 7*7 }}\r\nBcc: attacker@evil.invalid\n")
WARNING = "If this was not an approved break-glass task, treat the root credentials as compromised."


TAG = re.compile(r"<[^>]*>")


def hostile(value, tag, payload=FORGED):
    """``value`` with every string leaf replaced by ``payload`` (tagged with its path)."""
    if isinstance(value, dict):
        return {k: hostile(v, f"{tag}.{k}", payload) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v, f"{tag}[{i}]", payload) for i, v in enumerate(value)]
    if isinstance(value, str):
        return f"{tag}{payload}"
    return value


def event_from(sample, detail_type, payload=FORGED):
    event = envelope("eventbridge-api-call-envelope.json")
    event.update({"detail-type": detail_type,
                  "detail": hostile(json.loads((SAMPLES / sample).read_text()), "detail", payload)})
    return event


def hostile_resources(payload=FORGED):
    verdict = {"status": "compliant" + payload, "reason": "reason" + payload, "details": {"ticket": "CHG-1" + payload}}
    account = {"account_id": "444455556666" + payload, "account_name": "member" + payload,
               "c7n:rootguard": {"root-signin-approval": verdict, "root-usage-alarm" + payload: verdict}}
    user = {"UserName": "alice" + payload, "Arn": "arn:aws:iam::444455556666:user/alice" + payload,
            "c7n:rootguard": {"check" + payload: verdict}}
    return [account, user]


def policies(path):
    return [p for p in yaml.safe_load((REPO / path).read_text())["policies"]
            if any(a.get("type") == "notify" for a in p.get("actions", []))]


def message(policy, event, payload=FORGED):
    notify = next(a for a in policy["actions"] if a["type"] == "notify")
    return {"account": "member", "account_id": "444455556666", "region": "us-east-1", "partition": "aws",
            "policy": policy, "event": event, "resources": hostile_resources(payload), "action": notify}


def signin_policy(policy):
    return "AWS Console Sign In via CloudTrail" in str(policy["mode"].get("pattern"))


# Every alert policy of realtime.yml with an event of the kind its rule receives; a daily finding of each type.
CASES = [(p, "root-console-login-success-mfa.json", "AWS Console Sign In via CloudTrail") if signin_policy(p)
         else (p, "root-api-call-create-access-key.json", "AWS API Call via CloudTrail")
         for p in policies("deploy/realtime.yml")]
CASES += [(p, None, None) for p in policies("deploy/periodic.yml")[:1] + policies("deploy/periodic.yml")[-1:]]


@pytest.mark.parametrize("policy, sample, detail_type", CASES,
                         ids=[f"{c[0]['name']}:{c[1]}" for c in CASES])
def test_hostile_values_in_every_field_render_inert(policy, sample, detail_type):
    event = event_from(sample, detail_type) if sample else None
    subject, body = render_with_mailer(message(policy, event))
    _, plain = render_with_mailer(message(policy, event_from(sample, detail_type, "-x") if sample else None, "-x"))
    # No markup from the data: the hostile mail has exactly the tags of the same mail with plain values.
    assert TAG.findall(body) == TAG.findall(plain)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "{{ 7*7 }}" in body and "49" not in body  # rendered once, never evaluated
    # One approval paragraph (the real one) and the compromise warning, visible.
    if "root-alert" in next(a for a in policy["actions"] if a["type"] == "notify")["template"]:
        assert body.count("<b>break-glass approval</b>") == 1
        assert WARNING in body and 'display:none">' not in body.split(WARNING)[0].split("<h2>")[-1]
    # The subject is one header line: no forged header, no line break.
    assert "\n" not in subject and "\r" not in subject
    if event is not None and "{{ event" in next(a for a in policy["actions"] if a["type"] == "notify")["subject"]:
        assert FORGED.split("\r")[0] in subject  # the value is there, on the one line


def test_every_event_field_the_templates_show_was_hostile_in_the_cases():
    # The event table shows these fields: a case above forges each of them.
    shown = {"eventSource", "eventName", "eventTime", "awsRegion", "sourceIPAddress", "userAgent", "arn",
             "principalId", "type", "invokedBy", "MFAUsed", "mfaAuthenticated", "ConsoleLogin", "errorCode",
             "errorMessage"}
    forged = set()
    for sample in ("root-console-login-success-mfa.json", "root-api-call-create-access-key.json"):
        detail = json.loads((SAMPLES / sample).read_text())
        stack = [detail]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                forged.update(k for k, v in item.items() if isinstance(v, str))
                stack.extend(item.values())
    assert shown - forged <= {"invokedBy", "mfaAuthenticated", "errorCode", "errorMessage", "principalId"}


@pytest.mark.parametrize("field", ["invokedBy", "errorCode", "errorMessage"])
def test_optional_event_fields_are_escaped_too(field):
    detail = json.loads((SAMPLES / "root-api-call-create-access-key.json").read_text())
    detail = copy.deepcopy(detail)
    if field == "invokedBy":
        detail["userIdentity"]["invokedBy"] = FORGED
    else:
        detail.update({"errorCode": "AccessDenied", field: FORGED})
    event = envelope("eventbridge-api-call-envelope.json")
    event.update({"detail-type": "AWS API Call via CloudTrail", "detail": detail})
    policy = next(p for p in policies("deploy/realtime.yml") if p["name"] == "rootguard-root-api-activity")
    _, body = render_with_mailer(message(policy, event))
    assert "<script>" not in body and "&lt;script&gt;" in body
