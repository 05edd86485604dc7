"""User-written policies that combine pack filters, run by plain ``custodian`` against the sandbox.

The report takes a pack policy's cell from the verdicts the filter recorded, not from whether the
policy flagged the account: ``not:`` and extra filters change what is flagged, not what was found.
"""
import json
import subprocess

import pytest
import yaml

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.report import main
from rootguard_filters.report.collect import collect
from rootguard_filters.sandbox.fillins import RootFacts
from rootguard_filters.sandbox.server import Sandbox

ACCOUNT = "123456789012"   # the sandbox account the fake credentials act in
NOBODY = "000000000000"

USER_POLICIES = [
    {   # the report is stuck in progress and report-wait is 0: unknown, and `not:` must not hide it
        "name": "root-recently-used", "resource": "aws.account",
        "filters": [{"not": [{"type": "root-credentials", "used-within-days": 90, "report-wait": 0}]}],
    },
    {   # root has hardware MFA: the inner filter passes, `not:` flags the account
        "name": "root-mfa-missing", "resource": "aws.account",
        "filters": [{"not": [{"type": "root-mfa", "states": ["none"]}]}],
    },
    {   # the finding is made, then a value filter drops the account from resources.json
        "name": "root-access-keys-present", "resource": "aws.account",
        "filters": [{"type": "root-credentials", "access-keys": True},
                    {"type": "root-mfa", "states": ["hardware"]},
                    {"type": "value", "key": "account_id", "value": NOBODY}],
    },
    {   # a filter before the pack's drops the account: the pack filter never ran
        "name": "root-signing-certificates-present", "resource": "aws.account",
        "filters": [{"type": "value", "key": "account_id", "value": NOBODY},
                    {"type": "root-credentials", "signing-certificates": True}],
    },
    {   # built-in filters only: the resources.json rule still applies
        "name": "root-mfa-not-hardware", "resource": "aws.account",
        "filters": [{"type": "iam-summary", "key": "AccountMFAEnabled", "value": 0}],
    },
]


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("user-policies")
    with Sandbox() as sandbox:
        sandbox.state.set_root_facts(ACCOUNT, RootFacts(
            mfa_devices=["hardware"],
            access_keys=[{"active": True, "last_used": "2026-01-01T00:00:00+00:00"}]))
        sandbox.state.set_credential_report(ACCOUNT, in_progress_calls=10_000,
                                            generated_at="2020-01-01T00:00:00+00:00", expired=False)
        policies = base / "user.yml"
        policies.write_text(yaml.safe_dump({"policies": USER_POLICIES}, sort_keys=False))
        out = base / "out"
        result = subprocess.run(
            [tool("custodian"), "run", "-s", str(out), "--cache-period", "0", str(policies)],
            env=offline_env(sandbox.endpoint_url, base), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def flagged(out, policy):
    return [r["account_id"] for r in json.loads((out / policy / "resources.json").read_text())]


def test_not_wrapped_could_not_evaluate_stays_could_not_evaluate(user_run):
    assert flagged(user_run, "root-recently-used") == []
    cell = collect(str(user_run)).cell(ACCOUNT, "root-recently-used")
    assert cell.status == "could-not-evaluate", cell
    assert "credential report" in cell.reason


def test_not_wrapped_compliant_account_is_compliant_though_flagged(user_run):
    assert flagged(user_run, "root-mfa-missing") == [ACCOUNT]
    assert collect(str(user_run)).cell(ACCOUNT, "root-mfa-missing").status == "compliant"


def test_finding_dropped_by_a_later_filter_stays_non_compliant(user_run):
    assert flagged(user_run, "root-access-keys-present") == []
    cell = collect(str(user_run)).cell(ACCOUNT, "root-access-keys-present")
    assert cell.status == "non-compliant" and "access keys present" in cell.reason


def test_pack_filter_that_never_saw_the_account_is_could_not_evaluate(user_run):
    cell = collect(str(user_run)).cell(ACCOUNT, "root-signing-certificates-present")
    assert cell.status == "could-not-evaluate" and cell.reason.startswith("no verdict recorded")


def test_built_in_policy_named_for_a_pack_control_cannot_evaluate_it(user_run):
    assert flagged(user_run, "root-mfa-not-hardware") == []
    cell = collect(str(user_run)).cell(ACCOUNT, "root-mfa-not-hardware")
    assert cell.status == "could-not-evaluate"
    assert cell.reason.startswith("policy root-mfa-not-hardware does not run root-mfa")


def test_json_report_carries_the_verdict_statuses(user_run, tmp_path, capsys):
    target = tmp_path / "report.json"
    main([str(user_run), "--format", "json", "--output", str(target)])
    cells = {c["control"]: c["status"] for c in json.loads(target.read_text())["cells"]}
    assert cells["root-recently-used"] == "could-not-evaluate"
    assert cells["root-mfa-missing"] == "compliant"
    assert cells["root-access-keys-present"] == "non-compliant"
