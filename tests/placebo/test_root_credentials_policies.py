"""The five root credential policies of policies/account.yml on recorded API responses."""
import json
import os

import boto3
import placebo
import pytest
import yaml
from c7n.config import Config
from c7n.policy import Policy

from rootguard_filters.plumbing import evidence
from tests.placebo.make_flights import ACCOUNT, FLIGHTS, FROZEN_NOW

POLICY_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "policies", "account.yml")
ROOT_CREDENTIAL_FILTERS = {"root-mfa", "root-credentials"}
POLICIES = {p["name"]: p for p in yaml.safe_load(open(POLICY_FILE))["policies"]
            if p["filters"][0]["type"] in ROOT_CREDENTIAL_FILTERS}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(evidence, "utcnow", lambda: FROZEN_NOW)
    monkeypatch.setattr(evidence.AccountEvidence, "REPORT_POLL_SECONDS", 0)
    monkeypatch.setattr("c7n.utils.time.sleep", lambda s: None)


class Calls:
    def __init__(self):
        self.operations = []

    def __call__(self, event_name, **kwargs):
        self.operations.append(event_name.split(".")[-1])


def run(policy_names, scenario, tmp_path, overrides=None):
    """Run the named policies in one process (one run) against a scenario's flight data."""
    session = boto3.Session(region_name="us-east-1")
    pill = placebo.attach(session, data_path=os.path.join(FLIGHTS, scenario))
    pill.playback()
    calls = Calls()
    session.events.register_first("before-call.*.*", calls)
    results = {}
    for name in policy_names:
        data = json.loads(json.dumps(POLICIES[name]))
        if overrides:  # a None value removes the option
            data["filters"][0].update(overrides)
            data["filters"][0] = {k: v for k, v in data["filters"][0].items() if v is not None}
        config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path / "out"))
        policy = Policy(data, config, session_factory=lambda *a, **k: session)
        policy.validate()
        results[name] = policy.run()
    return results, calls


def verdict(resources, filter_type):
    assert len(resources) == 1, resources
    return resources[0]["c7n:rootguard"][filter_type]


ALL = list(POLICIES)

# scenario -> the policies that flag the account
EXPECTED_FLAGS = {
    "hardware-mfa-clean": set(),
    "virtual-mfa": {"root-mfa-not-hardware"},
    "virtual-mfa-second-page": {"root-mfa-not-hardware"},
    "no-mfa-password-used-recently": {"root-mfa-missing", "root-mfa-not-hardware", "root-recently-used"},
    "no-mfa-inactive-key-only": {"root-mfa-not-hardware", "root-access-keys-present"},
    "active-key-no-mfa": {"root-mfa-missing", "root-mfa-not-hardware", "root-access-keys-present"},
    "active-key-recently-used": {"root-access-keys-present", "root-recently-used"},
    "signing-certificate": {"root-signing-certificates-present"},
    "no-root-credentials": set(),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_FLAGS))
def test_each_scenario_flags_exactly_the_expected_policies(scenario, tmp_path):
    results, _ = run(ALL, scenario, tmp_path)
    flagged = {name for name, resources in results.items() if resources}
    assert flagged == EXPECTED_FLAGS[scenario]
    for resources in results.values():
        for r in resources:
            assert all(v["status"] == "non-compliant" for v in r["c7n:rootguard"].values())


def test_virtual_device_of_an_iam_user_named_like_root_is_not_roots(tmp_path):
    results, _ = run(["root-mfa-not-hardware"], "hardware-mfa-clean", tmp_path)
    assert results["root-mfa-not-hardware"] == []


def test_virtual_state_annotation_names_roots_device(tmp_path):
    results, _ = run(["root-mfa-not-hardware"], "virtual-mfa-second-page", tmp_path)
    v = verdict(results["root-mfa-not-hardware"], "root-mfa")
    assert v["details"]["state"] == "virtual"
    assert v["details"]["evidence"]["root_virtual_mfa_devices"] == [
        f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"]


def test_access_key_annotation_says_which_slots_are_active(tmp_path):
    results, _ = run(["root-access-keys-present"], "active-key-recently-used", tmp_path)
    details = verdict(results["root-access-keys-present"], "root-credentials")["details"]
    assert details["active_access_key_slots"] == [1]
    assert details["access_keys"][1]["active"] is False


def test_inactive_key_only_is_flagged_with_no_active_slot(tmp_path):
    results, _ = run(["root-access-keys-present"], "no-mfa-inactive-key-only", tmp_path)
    details = verdict(results["root-access-keys-present"], "root-credentials")["details"]
    assert details["active_access_key_slots"] == []
    assert "inactive" in details["note"]


def test_recent_use_reports_the_latest_of_password_and_keys(tmp_path):
    results, _ = run(["root-recently-used"], "active-key-recently-used", tmp_path)
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["details"]["last_used"].startswith("2026-11-24")
    assert "3 days ago" in v["reason"]


def test_recent_use_window_is_set_in_the_policy(tmp_path):
    results, _ = run(["root-recently-used"], "active-key-recently-used", tmp_path,
                     overrides={"used-within-days": 2})
    assert results["root-recently-used"] == []


def test_each_aws_call_is_made_once_for_all_five_policies(tmp_path):
    _, calls = run(ALL, "active-key-recently-used", tmp_path)
    assert sorted(calls.operations) == sorted(
        ["ListAccountAliases"] * 5 + ["GetAccountSummary", "ListVirtualMFADevices", "GetCredentialReport"])


def test_report_in_progress_is_could_not_evaluate_never_compliant(tmp_path):
    results, _ = run(["root-recently-used", "root-access-keys-present"], "report-in-progress", tmp_path,
                     overrides={"report-wait": 0})
    recent = verdict(results["root-recently-used"], "root-credentials")
    assert recent["status"] == "could-not-evaluate"
    assert "ReportInProgress" in recent["reason"]
    # Existence of the key comes from GetAccountSummary, so that verdict stands.
    keys = verdict(results["root-access-keys-present"], "root-credentials")
    assert keys["status"] == "non-compliant"
    assert "ReportInProgress" in keys["details"]["credential_report_error"]


def test_absent_report_is_generated_then_read(tmp_path):
    _, calls = run(["root-recently-used"], "report-not-present", tmp_path)
    assert calls.operations.count("GenerateCredentialReport") == 1
    assert calls.operations.count("GetCredentialReport") == 3


def test_absent_report_gives_the_verdict_once_generated(tmp_path):
    results, _ = run(["root-recently-used"], "report-not-present", tmp_path)
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["status"] == "non-compliant"
    assert v["details"]["credential_report"]["regenerated"] is True
    assert v["details"]["credential_report"]["age_seconds"] == 5


def test_expired_report_is_regenerated(tmp_path):
    results, calls = run(["root-recently-used"], "report-expired", tmp_path)
    assert calls.operations.count("GenerateCredentialReport") == 1
    assert verdict(results["root-recently-used"], "root-credentials")["status"] == "non-compliant"


def test_stale_report_is_regenerated_and_the_fresh_one_decides(tmp_path):
    results, calls = run(["root-recently-used"], "report-stale", tmp_path)
    assert calls.operations.count("GenerateCredentialReport") == 1
    assert verdict(results["root-recently-used"], "root-credentials")["status"] == "non-compliant"


def test_stale_report_is_used_as_is_within_max_age(tmp_path):
    results, calls = run(["root-recently-used"], "report-stale", tmp_path,
                         overrides={"report-max-age": 2 * 86400})
    assert "GenerateCredentialReport" not in calls.operations
    assert results["root-recently-used"] == []


@pytest.mark.parametrize("name", ALL)
def test_access_denied_is_could_not_evaluate_in_every_policy(name, tmp_path):
    results, _ = run([name], "summary-access-denied", tmp_path)
    v = next(iter(results[name][0]["c7n:rootguard"].values()))
    assert v["status"] == "could-not-evaluate"
    assert "AccessDenied" in v["reason"] and "iam:GetAccountSummary" in v["reason"]


def test_access_denied_is_written_to_the_verdict_file(tmp_path):
    run(["root-mfa-missing"], "summary-access-denied", tmp_path)
    document = json.loads((tmp_path / "out" / "root-mfa-missing" / "rootguard-verdicts.json").read_text())
    assert document["verdicts"][ACCOUNT]["root-mfa"]["status"] == "could-not-evaluate"


def test_compliant_verdicts_are_written_too(tmp_path):
    results, _ = run(["root-mfa-missing"], "hardware-mfa-clean", tmp_path)
    assert results["root-mfa-missing"] == []
    document = json.loads((tmp_path / "out" / "root-mfa-missing" / "rootguard-verdicts.json").read_text())
    assert document["verdicts"][ACCOUNT]["root-mfa"]["status"] == "compliant"


@pytest.mark.parametrize("scenario", ["report-malformed", "report-without-root-row"])
def test_unreadable_report_is_could_not_evaluate(scenario, tmp_path):
    results, _ = run(["root-recently-used"], scenario, tmp_path)
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["status"] == "could-not-evaluate"
    assert "unreadable" in v["reason"] or "no <root_account> row" in v["reason"]


def test_throttling_that_clears_gives_the_right_verdict(tmp_path):
    results, calls = run(["root-mfa-missing"], "summary-throttled-then-ok", tmp_path)
    assert calls.operations.count("GetAccountSummary") == 3
    assert verdict(results["root-mfa-missing"], "root-mfa")["status"] == "non-compliant"


def test_throttling_that_persists_is_could_not_evaluate(tmp_path):
    results, _ = run(["root-mfa-missing"], "summary-throttled-always", tmp_path)
    v = verdict(results["root-mfa-missing"], "root-mfa")
    assert v["status"] == "could-not-evaluate"
    assert "Throttling" in v["reason"]


def test_unknown_mfa_kind_is_could_not_evaluate_for_not_hardware(tmp_path):
    results, _ = run(["root-mfa-not-hardware", "root-mfa-missing"], "virtual-mfa-access-denied", tmp_path)
    v = verdict(results["root-mfa-not-hardware"], "root-mfa")
    assert v["status"] == "could-not-evaluate"
    assert "ListVirtualMFADevices" in v["reason"]


# ---------------------------------------------------------------- credential report honesty

def test_report_written_in_this_run_says_regenerated_and_not_stale(tmp_path):
    results, calls = run(["root-access-keys-present"], "no-mfa-inactive-key-only", tmp_path)
    meta = verdict(results["root-access-keys-present"], "root-credentials")["details"]["credential_report"]
    assert calls.operations.count("GenerateCredentialReport") == 1
    assert (meta["regenerated"], meta["stale"], meta["age_seconds"]) == (True, False, 5)
    assert meta["refresh"] == "regenerated in this run"


def test_old_report_returned_instead_of_a_new_one_is_not_called_regenerated(tmp_path):
    """Max age one hour, report two hours old: IAM answers COMPLETE and serves the old report."""
    results, calls = run(["root-recently-used"], "report-refresh-refused", tmp_path,
                         overrides={"report-max-age": 3600})
    assert calls.operations.count("GenerateCredentialReport") == 1
    v = verdict(results["root-recently-used"], "root-credentials")
    meta = v["details"]["credential_report"]
    assert meta["regenerated"] is False and meta["stale"] is True
    assert meta["age_seconds"] == 7200 and "existing report" in meta["refresh"]
    # "not used in 90 days" rests on a report older than the policy accepts: not compliant
    assert v["status"] == "could-not-evaluate"
    assert "stale" in v["reason"] and "2 h 0 min old" in v["reason"]


def test_stale_report_finding_stands_and_says_it_is_stale(tmp_path):
    results, _ = run(["root-recently-used"], "report-refresh-refused-recent-use", tmp_path,
                     overrides={"report-max-age": 3600})
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["status"] == "non-compliant"
    assert "5 days ago" in v["reason"] and "stale" in v["reason"]


def test_report_that_may_not_be_refreshed_is_stale_with_the_error(tmp_path):
    results, _ = run(["root-recently-used"], "report-generate-denied", tmp_path)
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["status"] == "could-not-evaluate"
    meta = v["details"]["credential_report"]
    assert meta["stale"] is True and meta["regenerated"] is False
    assert "AccessDenied" in meta["refresh"] and "iam:GenerateCredentialReport" in meta["refresh"]


def test_stale_report_does_not_touch_verdicts_that_do_not_read_it(tmp_path):
    results, _ = run(["root-mfa-missing"], "report-generate-denied", tmp_path)
    assert results["root-mfa-missing"] == []  # hardware MFA and no keys: summary decides


def test_blank_dates_are_could_not_evaluate_not_never_used(tmp_path):
    results, _ = run(["root-recently-used"], "report-blank-fields", tmp_path)
    v = verdict(results["root-recently-used"], "root-credentials")
    assert v["status"] == "could-not-evaluate"
    assert "password_last_used is blank" in v["reason"]
    assert "access_key_1_last_used_date is blank" in v["reason"]


def test_blank_key_flag_does_not_matter_when_the_password_needs_mfa(tmp_path):
    results, _ = run(["root-mfa-missing"], "report-blank-fields", tmp_path)
    v = verdict(results["root-mfa-missing"], "root-mfa")
    # the password alone makes MFA necessary: the finding does not need the key's state
    assert v["status"] == "non-compliant"


def test_garbled_active_flag_is_could_not_evaluate_not_inactive(tmp_path):
    results, _ = run(["root-mfa-missing"], "report-garbled-key-flag", tmp_path)
    v = verdict(results["root-mfa-missing"], "root-mfa")
    assert v["status"] == "could-not-evaluate"
    assert "access_key_1_active is 'yes'" in v["reason"]


def test_active_keys_option_with_garbled_flag_is_could_not_evaluate(tmp_path):
    results, _ = run(["root-access-keys-present"], "report-garbled-key-flag", tmp_path,
                     overrides={"access-keys": None, "active-access-keys": True})
    v = verdict(results["root-access-keys-present"], "root-credentials")
    assert v["status"] == "could-not-evaluate" and "access_key_1_active" in v["reason"]


def test_key_created_after_the_report_is_not_missed_by_root_mfa(tmp_path):
    """GetAccountSummary counts a key the hour-old report does not show as active."""
    results, _ = run(["root-mfa-missing", "root-access-keys-present"], "key-created-after-report", tmp_path)
    mfa = verdict(results["root-mfa-missing"], "root-mfa")
    assert mfa["status"] == "could-not-evaluate"
    assert "created after the report" in mfa["reason"]
    assert mfa["details"]["evidence"]["AccountAccessKeysPresent"] == 1
    keys = verdict(results["root-access-keys-present"], "root-credentials")
    assert keys["status"] == "non-compliant"


def test_key_created_after_the_report_is_not_missed_by_active_keys(tmp_path):
    results, _ = run(["root-access-keys-present"], "key-created-after-report", tmp_path,
                     overrides={"access-keys": None, "active-access-keys": True})
    v = verdict(results["root-access-keys-present"], "root-credentials")
    assert v["status"] == "could-not-evaluate" and "created after the report" in v["reason"]


def test_a_stricter_max_age_later_in_the_run_sees_the_report_as_stale(tmp_path):
    """The report is read once per run; a policy accepting less than the first reader is told so."""
    _, calls = run(["root-recently-used"], "report-stale", tmp_path,
                                 overrides={"report-max-age": 2 * 86400})
    assert "GenerateCredentialReport" not in calls.operations
    data = json.loads(json.dumps(POLICIES["root-recently-used"]))
    data["name"] = "root-recently-used-strict"
    data["filters"][0]["report-max-age"] = 3600
    config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path / "out"))
    session = boto3.Session(region_name="us-east-1")
    placebo.attach(session, data_path=os.path.join(FLIGHTS, "report-stale")).playback()
    strict = Policy(data, config, session_factory=lambda *a, **k: session)
    v = verdict(strict.run(), "root-credentials")
    assert v["status"] == "could-not-evaluate"
    meta = v["details"]["credential_report"]
    assert meta["stale"] is True and meta["max_age_seconds"] == 3600 and "not asked again" in meta["refresh"]
