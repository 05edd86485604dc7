"""The pack's Lambda modes validate their options and tell a pattern-triggered run from a scheduled one."""
import logging

import pytest
import yaml
from c7n.cli import main as custodian

from lambda_support import scheduled_event
from rootguard_filters.deployment.lambda_modes import excluded_from_archive, triggered_by_event

MODE = {"role": "arn:aws:iam::{account_id}:role/rootguard-lambda", "packages": ["rootguard_filters"],
        "handler": "rootguard_filters.lambda_handler.run"}


def validate(tmp_path, monkeypatch, mode):
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump({"policies": [{"name": "rootguard-x", "resource": "aws.account",
                                                  "mode": {**MODE, **mode}}]}))
    monkeypatch.setattr("sys.argv", ["custodian", "validate", str(path)])
    custodian()


@pytest.mark.parametrize("mode", [
    {"type": "rootguard-periodic", "schedule": "rate(1 day)"},
    {"type": "rootguard-periodic", "pattern": {"source": ["aws.sts"]},
     "rule-state": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "member-role": "arn:aws:iam::{account_id}:role/r"},
    {"type": "rootguard-cloudtrail", "rule-state": "ENABLED",
     "events": [{"source": "sts.amazonaws.com", "event": "AssumeRoot", "ids": "recipientAccountId"}]},
])
def test_valid_modes_validate(tmp_path, monkeypatch, caplog, mode):
    caplog.set_level(logging.INFO)
    validate(tmp_path, monkeypatch, mode)  # exits 1 on an invalid file
    assert "Configuration valid" in caplog.text


@pytest.mark.parametrize("mode, message", [
    ({"type": "rootguard-periodic", "schedule": "rate(1 day)", "rule-state": "ENABLED_ALL"}, "'ENABLED_ALL' is not one of"),
    ({"type": "rootguard-periodic"}, "needs a schedule, a pattern or both"),
])
def test_invalid_modes_fail_validate_naming_the_problem(tmp_path, monkeypatch, caplog, mode, message):
    with pytest.raises(SystemExit) as exit_:
        validate(tmp_path, monkeypatch, mode)
    assert exit_.value.code == 1
    assert message in caplog.text


def test_only_a_pattern_matched_event_counts_as_a_trigger():
    assert not triggered_by_event(scheduled_event("rootguard-root-mfa-missing"))
    assert not triggered_by_event({})  # a manual invoke
    assert triggered_by_event({"detail-type": "AWS API Call via CloudTrail", "detail": {}})
    assert triggered_by_event({"detail-type": "AWS Service Event via CloudTrail", "detail": {}})


@pytest.mark.parametrize("path, excluded", [
    ("rootguard_filters/sandbox/fillins.py", True), ("rootguard_filters/controls/root_scp.py", False),
    ("rootguard_filters/cli/demo.py", True), ("rootguard_filters/lambda_handler.py", False),
    ("rootguard_filters/data/cloudtrail/must_alert/root-api-call-s3.json", False), ("c7n/policy.py", False),
])
def test_archive_exclusions(path, excluded):
    assert excluded_from_archive(path) == excluded
