"""Pure decisions of root-mfa and root-credentials, without AWS."""
from datetime import datetime, timedelta, timezone

import pytest

from rootguard_filters.decide.credentials import decide_root_credentials, root_report_facts
from rootguard_filters.decide.mfa import decide_root_mfa, root_virtual_devices
from rootguard_filters.logic.credential_report import (
    CredentialReportError, parse_credential_report, parse_date, parse_flag)
from tests.placebo.make_flights import HEADER  # the real report header, shared with the placebo flights

ROOT = "arn:aws:iam::123456789012:root"
NOW = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)


def summary(password=1, mfa=1, keys=0, certs=0):
    return {"AccountPasswordPresent": password, "AccountMFAEnabled": mfa,
            "AccountAccessKeysPresent": keys, "AccountSigningCertificatesPresent": certs, "Users": 3}


def device(arn, serial="arn:aws:iam::123456789012:mfa/x"):
    return {"SerialNumber": serial, "User": {"Arn": arn}}


class TestRootMfa:
    def test_mfa_without_a_root_virtual_device_is_hardware(self):
        v = decide_root_mfa(summary(), ROOT, ["hardware"], virtual_devices=[])
        assert v.status == "non-compliant" and v.details["state"] == "hardware"

    def test_virtual_device_beside_hardware_is_virtual(self):
        # AccountMFAEnabled cannot count devices: any virtual device on root makes the weakest link.
        v = decide_root_mfa(summary(), ROOT, ["virtual"], virtual_devices=[device(ROOT)])
        assert v.details["state"] == "virtual" and v.flagged

    @pytest.mark.parametrize("arn", [
        "arn:aws:iam::123456789012:user/rootops",
        "arn:aws:iam::123456789012:user/root",
        "arn:aws:iam::999999999999:root",
        "arn:aws-us-gov:iam::123456789012:root",
    ])
    def test_only_the_exact_root_arn_is_roots_device(self, arn):
        assert root_virtual_devices([device(arn)], ROOT) == []

    def test_no_mfa_with_password_is_none(self):
        v = decide_root_mfa(summary(mfa=0), ROOT, ["none"])
        assert v.flagged and v.details["state"] == "none"
        assert "password" in v.reason

    def test_no_credentials_is_its_own_state_and_not_flagged_as_none(self):
        v = decide_root_mfa(summary(password=0, mfa=0), ROOT, ["none", "virtual"])
        assert v.status == "compliant" and v.details["state"] == "no-root-credentials"

    def test_no_credentials_state_can_be_selected(self):
        v = decide_root_mfa(summary(password=0, mfa=0), ROOT, ["no-root-credentials"])
        assert v.flagged

    def test_inactive_key_only_does_not_need_mfa_when_only_active_keys_count(self):
        v = decide_root_mfa(summary(password=0, mfa=0, keys=1), ROOT, ["none"],
                            ["password", "active-access-key"], active_key_slots=())
        assert v.status == "compliant"

    def test_active_key_needs_mfa(self):
        v = decide_root_mfa(summary(password=0, mfa=0, keys=1), ROOT, ["none"],
                            ["password", "active-access-key"], active_key_slots=(2,))
        assert v.flagged and "active-access-key" in v.reason

    def test_unknown_key_state_is_could_not_evaluate(self):
        v = decide_root_mfa(summary(password=0, mfa=0, keys=1), ROOT, ["none"],
                            ["password", "active-access-key"], report_error="ReportInProgress")
        assert v.status == "could-not-evaluate" and "ReportInProgress" in v.reason

    def test_unknown_device_list_is_could_not_evaluate(self):
        v = decide_root_mfa(summary(), ROOT, ["virtual"], virtual_devices_error="AccessDenied")
        assert v.status == "could-not-evaluate" and "AccessDenied" in v.reason

    def test_summary_without_password_field_is_could_not_evaluate(self):
        partial = {"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0}
        v = decide_root_mfa(partial, ROOT, ["none"])
        assert v.status == "could-not-evaluate" and "AccountPasswordPresent" in v.reason


def root_line(password_last_used="N/A", key1="false,N/A,N/A,N/A,N/A", key2="false,N/A,N/A,N/A,N/A",
              certs="false,N/A,false,N/A"):
    return (f"<root_account>,{ROOT},2019-02-01T10:00:00+00:00,not_supported,{password_last_used},"
            f"not_supported,not_supported,false,{key1},{key2},{certs}")


def facts(**kw):
    return root_report_facts(parse_credential_report(HEADER + "\n" + root_line(**kw)))


class TestCredentialReport:
    def test_root_row_placeholders_read_as_no_date(self):
        f = facts(password_last_used="no_information")
        assert f.password_last_used is None and f.last_used is None

    def test_last_used_is_the_latest_of_password_and_keys(self):
        f = facts(password_last_used="2026-10-01T00:00:00+00:00",
                  key2="true,2025-01-01T00:00:00+00:00,2026-11-20T08:00:00+00:00,us-east-1,s3")
        assert f.last_used == datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
        assert f.active_access_key_slots == (2,)

    def test_bytes_content_is_read(self):
        rows = parse_credential_report((HEADER + "\n" + root_line()).encode())
        assert "<root_account>" in rows

    @pytest.mark.parametrize("content", [b"", b"\xff\xfe", "just,two\n1,2", HEADER + "\n<root_account>,x"])
    def test_malformed_report_raises_a_clear_error(self, content):
        with pytest.raises(CredentialReportError):
            parse_credential_report(content)

    def test_report_without_root_row_raises(self):
        with pytest.raises(CredentialReportError, match="root_account"):
            root_report_facts(parse_credential_report(HEADER + "\n"))

    def test_flags_and_dates(self):
        assert parse_flag("TRUE") is True and parse_flag("false") is False and parse_flag("N/A") is None
        assert parse_date("not_supported") is None
        with pytest.raises(CredentialReportError):
            parse_date("yesterday")


class TestRootCredentials:
    def test_any_key_is_flagged_by_existence(self):
        v = decide_root_credentials(summary(keys=1), facts(), {"access-keys": True}, NOW)
        assert v.flagged and v.details["active_access_key_slots"] == []

    def test_no_key_is_compliant(self):
        v = decide_root_credentials(summary(), facts(), {"access-keys": True}, NOW)
        assert v.status == "compliant"

    def test_conditions_are_all_required(self):
        v = decide_root_credentials(summary(keys=1, certs=0), facts(),
                                    {"access-keys": True, "signing-certificates": True}, NOW)
        assert v.status == "compliant" and "signing certificates absent" in v.reason

    def test_recent_use_within_window(self):
        recent = facts(password_last_used=(NOW - timedelta(days=89)).isoformat())
        assert decide_root_credentials(summary(), recent, {"used-within-days": 90}, NOW).flagged
        old = facts(password_last_used=(NOW - timedelta(days=91)).isoformat())
        assert not decide_root_credentials(summary(), old, {"used-within-days": 90}, NOW).flagged

    def test_missing_report_makes_use_unknown_not_compliant(self):
        v = decide_root_credentials(summary(), None, {"used-within-days": 90}, NOW,
                                    report_error="ReportInProgress")
        assert v.status == "could-not-evaluate"

    def test_a_definite_false_condition_beats_an_unknown_one(self):
        v = decide_root_credentials(summary(keys=0), None, {"access-keys": True, "used-within-days": 90}, NOW,
                                    report_error="ReportInProgress")
        assert v.status == "compliant"

    def test_active_certificate_slot_from_report(self):
        f = facts(certs="true,2024-01-01T00:00:00+00:00,false,N/A")
        v = decide_root_credentials(summary(certs=1), f, {"active-signing-certificates": True}, NOW)
        assert v.flagged and v.details["active_signing_certificate_slots"] == [1]


class TestMatchAny:
    def test_any_flags_when_one_condition_holds(self):
        v = decide_root_credentials(summary(keys=0, certs=1), facts(),
                                    {"access-keys": True, "signing-certificates": True}, NOW, match="any")
        assert v.flagged and "signing certificates present" in v.reason

    def test_any_passes_when_none_holds(self):
        v = decide_root_credentials(summary(), facts(),
                                    {"access-keys": True, "signing-certificates": True}, NOW, match="any")
        assert v.status == "compliant"

    def test_any_with_an_unknown_condition_and_no_hit_is_could_not_evaluate(self):
        v = decide_root_credentials(summary(), None, {"access-keys": True, "used-within-days": 9}, NOW,
                                    report_error="ReportInProgress", match="any")
        assert v.status == "could-not-evaluate"


class TestReportHonesty:
    """Blank or unknown values are unknown, stale reports are said to be stale."""

    @pytest.mark.parametrize("value", ["", "  ", "N/A", "yes", "1"])
    def test_active_flag_other_than_true_false_is_an_error_naming_the_field(self, value):
        from rootguard_filters.logic.credential_report import FieldError, report_flag
        with pytest.raises(FieldError, match="access_key_1_active"):
            report_flag({"access_key_1_active": value}, "access_key_1_active")

    @pytest.mark.parametrize("value", ["", "not_supported", "2026-13-01T00:00:00+00:00", "2026-01-01"])
    def test_date_other_than_iso_na_or_no_information_is_an_error(self, value):
        from rootguard_filters.logic.credential_report import FieldError, report_date
        with pytest.raises(FieldError, match="password_last_used"):
            report_date({"password_last_used": value}, "password_last_used")

    def test_blank_password_last_used_is_unknown_not_never_used(self):
        f = facts(password_last_used="")
        assert "password_last_used" in f.problems
        v = decide_root_credentials(summary(), f, {"used-within-days": 90}, NOW)
        assert v.status == "could-not-evaluate" and "password_last_used is blank" in v.reason

    def test_recent_readable_use_decides_despite_another_blank_date(self):
        f = facts(password_last_used="",
                  key1=f"true,2025-01-01T00:00:00+00:00,{(NOW - timedelta(days=2)).isoformat()},us-east-1,s3")
        v = decide_root_credentials(summary(keys=1), f, {"used-within-days": 90}, NOW)
        assert v.status == "non-compliant"

    def test_blank_key_flag_is_unknown_not_inactive(self):
        f = facts(key1=",N/A,N/A,N/A,N/A")
        assert f.unknown_access_key_slots == (1,)
        v = decide_root_credentials(summary(keys=1), f, {"active-access-keys": True}, NOW,
                                    report_meta={"regenerated": True})
        assert v.status == "could-not-evaluate" and "access_key_1_active is blank" in v.reason

    def test_key_missing_from_an_old_report_is_unknown_and_from_a_new_one_inactive(self):
        old = {"regenerated": False, "generated_time": "2026-11-27T11:00:00+00:00", "age_seconds": 3600}
        v = decide_root_credentials(summary(keys=1), facts(), {"active-access-keys": True}, NOW,
                                    report_meta=old)
        assert v.status == "could-not-evaluate" and "created after the report" in v.reason
        v = decide_root_credentials(summary(keys=1), facts(), {"active-access-keys": True}, NOW,
                                    report_meta=dict(old, regenerated=True, age_seconds=5))
        assert v.status == "compliant"

    def test_stale_report_turns_compliant_into_could_not_evaluate(self):
        stale = {"stale": True, "generated_time": "2026-11-27T10:00:00+00:00", "age_seconds": 7200,
                 "max_age_seconds": 3600, "refresh": "IAM returned the existing report"}
        old_use = facts(password_last_used=(NOW - timedelta(days=200)).isoformat())
        v = decide_root_credentials(summary(), old_use, {"used-within-days": 90}, NOW, report_meta=stale)
        assert v.status == "could-not-evaluate" and "stale" in v.reason and "2 h 0 min old" in v.reason
        # existence comes from GetAccountSummary: a stale report does not matter there
        v = decide_root_credentials(summary(keys=1), old_use, {"access-keys": True}, NOW, report_meta=stale)
        assert v.status == "non-compliant" and "stale" not in v.reason

    def test_root_mfa_evidence_carries_the_key_count_and_the_report(self):
        meta = {"regenerated": False, "stale": False, "age_seconds": 60}
        v = decide_root_mfa(summary(password=0, mfa=0, keys=1), ROOT, ["none"],
                            ["password", "active-access-key"], active_key_slots=None,
                            report_error="created after the report", report_meta=meta)
        assert v.status == "could-not-evaluate" and "created after the report" in v.reason
        assert v.details["evidence"]["AccountAccessKeysPresent"] == 1
        assert v.details["evidence"]["credential_report"] == meta
