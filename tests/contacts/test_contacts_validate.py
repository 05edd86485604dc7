"""`custodian validate` accepts the shipped policies and rejects bad options, naming them."""
import os
import sys

import pytest
import yaml
from c7n.cli import main as custodian

from rootguard_filters import catalog

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTACT = {"name": "Security Team", "title": "Lead", "email": "security@example.com", "phone": "+1 206 555 0100"}


def validate(monkeypatch, caplog, *paths):
    """Run `custodian validate PATHS` in-process; (exit code, everything it logged)."""
    monkeypatch.setattr(sys, "argv", ["custodian", "validate", *map(str, paths)])
    code = 0
    with caplog.at_level("INFO"):
        try:
            custodian()
        except SystemExit as exit_:
            code = exit_.code
    return code, caplog.text


def write_policy(tmp_path, resource="aws.account", filters=(), actions=()):
    path = tmp_path / "policy.yml"
    policy = {"name": "p", "resource": resource, "filters": list(filters)}
    if actions:
        policy["actions"] = list(actions)
    path.write_text(yaml.safe_dump({"policies": [policy]}))
    return path


def test_shipped_audit_and_remediation_policies_validate(monkeypatch, caplog):
    code, output = validate(monkeypatch, caplog, f"{REPO}/policies/account.yml",
                            f"{REPO}/remediation/contacts.yml")
    assert code == 0, output
    assert output.count("Configuration valid") == 2


def test_audit_policy_is_read_only_and_carries_the_catalogue_metadata():
    with open(f"{REPO}/policies/account.yml") as f:
        policy = next(p for p in yaml.safe_load(f)["policies"] if p["name"] == "alternate-contacts-missing")
    control = catalog.get(policy["name"])
    assert policy["metadata"] == control.policy_metadata()
    assert policy["resource"] == control.resource
    assert "actions" not in policy and policy["description"].strip()
    assert [f["type"] for f in policy["filters"]] == list(control.filters)


@pytest.mark.parametrize("resource", ["aws.account", "aws.org-account"])
@pytest.mark.parametrize("option, value, shown", [
    ("required", ["SECURITY", "SUPPORT"], "instance['required'][1]"),
    ("required", "SECURITY", "instance['required']"),
    ("distinct-emails", "yes", "instance['distinct-emails']"),
    ("contact-information", 1, "instance['contact-information']"),
    ("requried", ["SECURITY"], "'requried' was unexpected"),
])
def test_bad_filter_option_is_rejected_naming_the_option(monkeypatch, caplog, tmp_path, resource,
                                                         option, value, shown):
    path = write_policy(tmp_path, resource, filters=[{"type": "alternate-contacts", option: value}])
    code, output = validate(monkeypatch, caplog, path)
    assert code == 1
    assert shown in output


@pytest.mark.parametrize("contacts, shown", [
    ({"SECURITY": {**CONTACT, "email": "security-at-example.com"}}, "instance['contacts']['SECURITY']['email']"),
    ({"SECURITY": {**CONTACT, "phone": "call me"}}, "instance['contacts']['SECURITY']['phone']"),
    ({"SECURITY": {k: v for k, v in CONTACT.items() if k != "title"}}, "'title' is a required property"),
    ({"SUPPORT": CONTACT}, "'SUPPORT' was unexpected"),
    ({}, "instance['contacts']"),
])
def test_bad_action_contacts_are_rejected_naming_the_field(monkeypatch, caplog, tmp_path, contacts, shown):
    path = write_policy(tmp_path, actions=[{"type": "set-alternate-contact", "contacts": contacts}])
    code, output = validate(monkeypatch, caplog, path)
    assert code == 1
    assert shown in output


def test_shipped_contacts_remediation_runs_with_a_vars_file(monkeypatch, caplog, tmp_path, moto_session):
    variables = {"security_name": "Security Team", "security_title": "Lead", "security_email": "sec@acme-corp.io",
                 "security_phone": "+1 206 555 0100", "ops_name": "Ops Team", "ops_title": "Lead",
                 "ops_email": "ops@acme-corp.io", "ops_phone": "+1 206 555 0101"}
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(variables))
    monkeypatch.setattr(sys, "argv", ["custodian", "run", "--vars-file", str(vars_file), "-s", str(tmp_path / "out"),
                                      "-r", "us-east-1", "--cache-period", "0", f"{REPO}/remediation/contacts.yml"])
    try:
        custodian()
    except SystemExit as exit_:
        assert exit_.code in (0, None), caplog.text
    stored = moto_session.client("account").get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]
    assert (stored["Name"], stored["EmailAddress"]) == ("Security Team", "sec@acme-corp.io")
