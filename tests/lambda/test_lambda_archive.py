"""The deployed policies' Lambda archives, built by c7n and run as Lambda runs them (no c7n from the venv)."""
import json

import pytest

from lambda_support import (MANAGEMENT_ACCOUNT, build_archive, envelope, invoke, lambda_env, policy_data,
                            read_notifications, realtime_policy, render_with_mailer, scheduled_event,
                            with_vars)

HANDLER = "rootguard_filters.lambda_handler.run"


@pytest.fixture(scope="module")
def periodic_archive(tmp_path_factory):
    """root-mfa-missing from deploy/periodic.yml, as c7n packages it."""
    out = tmp_path_factory.mktemp("periodic-out")
    archive, path = build_archive(with_vars(policy_data("deploy/periodic.yml", "root-mfa-missing")),
                                  tmp_path_factory.mktemp("periodic-archive"), out)
    return archive, path, out


def test_archive_carries_c7n_the_pack_its_data_files_and_the_handler_named_by_the_policy(periodic_archive):
    archive, path, _ = periodic_archive
    names = set(archive.get_filenames())
    config = json.loads((path / "config.json").read_text())
    assert {"c7n/handler.py", "rootguard_filters/lambda_handler.py", "rootguard_filters/_plugins.py"} <= names
    assert any(n.startswith("rootguard_filters/data/cloudtrail/must_alert/") and n.endswith(".json") for n in names)
    assert config["policies"][0]["mode"]["handler"] == HANDLER
    assert config["policies"][0]["mode"]["packages"] == ["rootguard_filters"]


def test_archive_leaves_out_the_sandbox_and_the_dev_tooling(periodic_archive):
    archive, path, _ = periodic_archive
    names = set(archive.get_filenames())
    assert not [n for n in names if n.startswith("rootguard_filters/sandbox/")]
    assert "rootguard_filters/cli/demo.py" not in names
    assert not [n for n in names if n.startswith("bench/")]     # benchmarks are the repository's, not the package's
    assert not (path / "rootguard_filters" / "sandbox").exists()
    # what the handler and the filters import is all there (the invocation tests run it)
    assert {"rootguard_filters/deployment/lambda_modes.py", "rootguard_filters/plumbing/evidence.py", "rootguard_filters/catalog.py"} <= names


@pytest.mark.parametrize("mfa_devices, flagged", [([], True), (["hardware"], False)])
def test_scheduled_event_runs_the_pack_filter_inside_the_archive_and_writes_its_verdict(
        sandbox, alert_queue, periodic_archive, lambda_runtime, tmp_path, mfa_devices, flagged):
    _, path, out = periodic_archive
    sandbox.update_root_facts(MANAGEMENT_ACCOUNT, password_present=True, mfa_devices=mfa_devices, access_keys=[])
    result = invoke(path, lambda_runtime, HANDLER, scheduled_event("rootguard-root-mfa-missing"),
                    lambda_env(sandbox.endpoint_url, tmp_path))
    assert result.returncode == 0, result.stderr
    verdicts = json.loads((out / "root-mfa-missing" / "rootguard-verdicts.json").read_text())
    resources = json.loads((out / "root-mfa-missing" / "resources.json").read_text())
    status = verdicts["verdicts"][MANAGEMENT_ACCOUNT]["root-mfa"]["status"]
    assert status == ("non-compliant" if flagged else "compliant")
    assert [r["account_id"] for r in resources] == ([MANAGEMENT_ACCOUNT] if flagged else [])
    # the finding outlives the container: it is queued for c7n-mailer, with the verdict and no event
    messages = read_notifications(alert_queue[0])
    assert [m["policy"]["name"] for m in messages] == (["root-mfa-missing"] if flagged else [])
    if flagged:
        assert messages[0]["event"] is None
        assert messages[0]["resources"][0]["c7n:rootguard"]["root-mfa"]["status"] == "non-compliant"
        subject, body = render_with_mailer(messages[0])
        assert subject == f"[rootguard CRITICAL] root-mfa-missing in {messages[0]['account']} {MANAGEMENT_ACCOUNT}"
        assert "root-mfa: <b>non-compliant</b>" in body


@pytest.mark.parametrize("module, origin", [("c7n", "{archive}/c7n/__init__.py"), ("yaml", None)])
def test_invoked_interpreter_sees_the_archive_and_the_runtime_only(
        periodic_archive, lambda_runtime, tmp_path, module, origin):
    _, path, _ = periodic_archive
    result = invoke(path, lambda_runtime, "importlib.util.find_spec", module, lambda_env("http://127.0.0.1:9", tmp_path))
    assert result.returncode == 0, result.stderr
    if origin:
        assert f"origin='{origin.format(archive=path)}'" in result.stdout
    else:  # the venv's site-packages (PyYAML, jsonschema...) are not there, as in Lambda
        assert "HANDLER-RESULT null" in result.stdout


def test_default_c7n_handler_on_the_same_archive_fails_on_the_missing_pack_filter(
        sandbox, periodic_archive, lambda_runtime, tmp_path):
    _, path, _ = periodic_archive
    result = invoke(path, lambda_runtime, "custodian_policy.run", scheduled_event("rootguard-root-mfa-missing"),
                    lambda_env(sandbox.endpoint_url, tmp_path))
    assert result.returncode != 0
    assert "Invalid filter type" in result.stderr
    assert "'type': 'root-mfa'" in result.stderr


def test_root_console_signin_event_reaches_the_mailer_queue_with_the_mfa_answer(
        sandbox, alert_queue, lambda_runtime, tmp_path):
    queue_url, queue_arn = alert_queue
    _, path = build_archive(realtime_policy("rootguard-root-console-signin", queue_arn), tmp_path / "a", tmp_path / "o")
    event = envelope("eventbridge-console-signin-envelope.json")
    result = invoke(path, lambda_runtime, HANDLER, event, lambda_env(sandbox.endpoint_url, tmp_path))
    assert result.returncode == 0, result.stderr
    [message] = read_notifications(queue_url)
    assert message["policy"]["name"] == "rootguard-root-console-signin"
    assert message["event"]["detail"]["additionalEventData"]["MFAUsed"] == "Yes"
    assert "MFA used: {{ event.detail.additionalEventData.MFAUsed |" in message["action"]["subject"]
    assert [r["account_id"] for r in message["resources"]] == [MANAGEMENT_ACCOUNT]
