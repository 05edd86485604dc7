"""What a new user meets first: the rootguard commands' help, missing extras, credentials and endpoint."""
import importlib.util
import json
import logging
import os
import socket
import time

import boto3
import placebo
import pytest
from c7n.config import Config
from c7n.policy import Policy

from rootguard_filters import cli
from rootguard_filters.cli import preflight
from tests.placebo.make_flights import ACCOUNT, FLIGHTS


def test_sandbox_without_moto_names_the_extra_in_one_line(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a))
    for command in (["sandbox"], ["sandbox", "--help"], ["demo"]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "rootguard[sandbox]" in err and "Traceback" not in err


def test_sandbox_help_names_the_rootguard_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sandbox", "--help"])
    assert capsys.readouterr().out.startswith("usage: rootguard sandbox")


def test_demo_help_describes_what_the_demo_runs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: rootguard demo")
    assert "custodian run" not in text                 # the demo runs c7n-org for both policy files
    assert text.count("c7n-org run") == 2 and "--cache-period 0" in text and "management" in text


def test_usage_lists_check_and_report_fail_on(capsys):
    cli.main(["--help"])
    text = capsys.readouterr().out
    assert "check" in text and "--fail-on" in text


# ------------------------------------------------------------------ rootguard check

def test_check_without_credentials_is_one_line_and_exit_one(monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert cli.main(["check"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "no AWS credentials" in err


def test_check_with_an_unreachable_endpoint_is_one_line_within_seconds(monkeypatch, capsys):
    with socket.socket() as s:       # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    assert cli.main(["check"]) == 1
    assert time.monotonic() - started < 15
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and f"127.0.0.1:{port}" in err and "cannot reach" in err


def test_check_with_working_credentials_names_the_account():
    from moto import mock_aws
    with mock_aws():
        ok, line = preflight.check(region="us-east-1")
    assert ok and line.startswith("ok: account ") and "arn:aws:" in line


# ------------------------------------------------------------------ plain custodian log lines

def test_one_log_line_per_account_and_cause_across_policies(tmp_path, caplog):
    """Five policies failing on one AccessDenied log it once, not once per policy."""
    session = boto3.Session(region_name="us-east-1")
    pill = placebo.attach(session, data_path=os.path.join(FLIGHTS, "summary-access-denied"))
    pill.playback()
    caplog.set_level(logging.WARNING, logger="custodian.rootguard")
    for number, filter_data in enumerate([{"type": "root-mfa", "states": ["none"]},
                                          {"type": "root-mfa", "states": ["virtual"]},
                                          {"type": "root-credentials", "access-keys": True},
                                          {"type": "root-credentials", "signing-certificates": True}]):
        config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path / str(number)))
        policy = Policy({"name": f"p{number}", "resource": "aws.account", "filters": [filter_data]}, config,
                        session_factory=lambda *a, **k: session)
        policy.validate()
        assert policy.run()[0]["c7n:rootguard"][filter_data["type"]]["status"] == "could-not-evaluate"
    pack = [r.getMessage() for r in caplog.records if r.name == "custodian.rootguard"]
    denied = [m for m in pack if "AccessDenied" in m]
    assert denied and len(denied) == len(set(denied)), json.dumps(pack, indent=1)
    assert len([m for m in pack if "could not evaluate" in m]) == 1    # one account, one cause
