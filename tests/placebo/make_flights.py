"""Writes the placebo flight data of the root credential tests (run it after changing a scenario).

Every response has the shape the real API returns (botocore's service models; the credential report
root row as IAM writes it). Times are absolute: the tests freeze the clock at FROZEN_NOW.

    python tests/placebo/make_flights.py
"""
import json
import os
import shutil
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
FLIGHTS = os.path.join(HERE, "flights")
ACCOUNT = "123456789012"
FROZEN_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
META = {"RequestId": "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", "HTTPStatusCode": 200, "RetryAttempts": 0}

HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def ago(days):
    return FROZEN_NOW - timedelta(days=days)


def dt_json(dt):
    return {"__class__": "datetime", "year": dt.year, "month": dt.month, "day": dt.day,
            "hour": dt.hour, "minute": dt.minute, "second": dt.second, "microsecond": 0}


def summary(password, mfa, keys, certs, devices_in_use=None):
    in_use = devices_in_use if devices_in_use is not None else (1 if mfa else 0) + 1
    return {
        "SummaryMap": {
            "GroupPolicySizeQuota": 5120, "InstanceProfilesQuota": 1000, "Policies": 12,
            "GroupsPerUserQuota": 10, "InstanceProfiles": 3, "AttachedPoliciesPerUserQuota": 10,
            "Users": 4, "PoliciesQuota": 1500, "Providers": 1, "AccountMFAEnabled": mfa,
            "AccessKeysPerUserQuota": 2, "AssumeRolePolicySizeQuota": 2048, "PolicyVersionsInUseQuota": 10000,
            "GlobalEndpointTokenVersion": 1, "VersionsPerPolicyQuota": 5, "AttachedPoliciesPerGroupQuota": 10,
            "PolicySizeQuota": 6144, "Groups": 2, "AccountSigningCertificatesPresent": certs,
            "UsersQuota": 5000, "ServerCertificatesQuota": 20, "MFADevices": in_use,
            "UserPolicySizeQuota": 2048, "PolicyVersionsInUse": 21, "ServerCertificates": 0, "Roles": 17,
            "RolesQuota": 1000, "SigningCertificatesPerUserQuota": 2, "MFADevicesInUse": in_use,
            "RolePolicySizeQuota": 10240, "AttachedPoliciesPerRoleQuota": 10,
            "AccountAccessKeysPresent": keys, "AccountPasswordPresent": password,
            "GroupsQuota": 300,
        },
        "ResponseMetadata": META,
    }


def key_cols(active=False, rotated=None, used=None, region="us-east-1", service="iam"):
    """Five report columns of one key slot; an inactive key is written like no key (N/A)."""
    if not active:
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    if used is None:
        return ["true", iso(rotated), "N/A", "N/A", "N/A"]
    return ["true", iso(rotated), iso(used), region, service]


def report(password_last_used="N/A", mfa=False, key1=None, key2=None, cert1=None, cert2=None,
           root_row=True, generated=None):
    root = [
        "<root_account>", f"arn:aws:iam::{ACCOUNT}:root", iso(ago(2900)), "not_supported",
        password_last_used, "not_supported", "not_supported", "true" if mfa else "false",
        *(key1 or key_cols()), *(key2 or key_cols()),
        *(["true", iso(cert1)] if cert1 else ["false", "N/A"]),
        *(["true", iso(cert2)] if cert2 else ["false", "N/A"]),
    ]
    user = [
        "rootops", f"arn:aws:iam::{ACCOUNT}:user/rootops", iso(ago(400)), "true", iso(ago(1)),
        iso(ago(100)), "N/A", "true", *key_cols(True, ago(30), ago(1), "eu-west-1", "s3"),
        *key_cols(), "false", "N/A", "false", "N/A",
    ]
    rows = [HEADER] + ([",".join(root)] if root_row else []) + [",".join(user)]
    return {
        "Content": "\n".join(rows),
        "ReportFormat": "text/csv",
        "GeneratedTime": dt_json(generated or FROZEN_NOW - timedelta(hours=1)),
        "ResponseMetadata": META,
    }


def user_device():
    return {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/rootops",
            "User": {"Path": "/", "UserName": "rootops", "UserId": "AIDA6ODU5DHT7EXAMPLE1",
                     "Arn": f"arn:aws:iam::{ACCOUNT}:user/rootops", "CreateDate": dt_json(ago(400)),
                     "PasswordLastUsed": dt_json(ago(1))},
            "EnableDate": dt_json(ago(399))}


def root_device():
    return {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
            "User": {"Path": "/", "UserName": ACCOUNT, "UserId": ACCOUNT,
                     "Arn": f"arn:aws:iam::{ACCOUNT}:root", "CreateDate": dt_json(ago(2900)),
                     "PasswordLastUsed": dt_json(ago(200))},
            "EnableDate": dt_json(ago(700))}


def devices(*items, marker=None):
    page = {"VirtualMFADevices": list(items), "IsTruncated": bool(marker), "ResponseMetadata": META}
    if marker:
        page["Marker"] = marker
    return page


def error(code, message, status=400):
    return {"status_code": status,
            "data": {"Error": {"Code": code, "Message": message, "Type": "Sender"},
                     "ResponseMetadata": dict(META, HTTPStatusCode=status)}}


def ok(data):
    return {"status_code": 200, "data": data}


HW = dict(password=1, mfa=1, keys=0, certs=0)

SCENARIOS = {
    # Hardware MFA, nothing else; an IAM user named "rootops" has a virtual device (not root's).
    "hardware-mfa-clean": {
        "iam.GetAccountSummary": [ok(summary(**HW))],
        "iam.ListVirtualMFADevices": [ok(devices(user_device()))],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True))],
    },
    "virtual-mfa": {
        "iam.GetAccountSummary": [ok(summary(**HW))],
        "iam.ListVirtualMFADevices": [ok(devices(user_device(), root_device()))],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True))],
    },
    # Root's device is on the second page of ListVirtualMFADevices.
    "virtual-mfa-second-page": {
        "iam.GetAccountSummary": [ok(summary(**HW))],
        "iam.ListVirtualMFADevices": [ok(devices(user_device(), marker="bWFya2VyLTE=")),
                                      ok(devices(root_device()))],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True))],
    },
    "no-mfa-password-used-recently": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [ok(report(iso(ago(5))))],
    },
    # Only an inactive access key: the report writes it like no key at all. The report found is
    # five hours old, so a new one is written in this run: "none active" then means inactive.
    "no-mfa-inactive-key-only": {
        "iam.GetAccountSummary": [ok(summary(password=0, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [
            ok(report(generated=FROZEN_NOW - timedelta(hours=5))),
            error("ReportInProgress", "Report is being generated.", 404),
            ok(report(generated=FROZEN_NOW - timedelta(seconds=5))),
        ],
        "iam.GenerateCredentialReport": [ok({"State": "STARTED", "ResponseMetadata": META})],
    },
    # GetAccountSummary counts a key the hour-old report does not show: created after the report?
    "key-created-after-report": {
        "iam.GetAccountSummary": [ok(summary(password=0, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [ok(report())],
    },
    # Asked for a newer report than IAM will write (within four hours): the old one comes back.
    "report-refresh-refused": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=1, keys=0, certs=0))],
        "iam.ListVirtualMFADevices": [ok(devices())],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True,
                                              generated=FROZEN_NOW - timedelta(hours=2)))] * 2,
        "iam.GenerateCredentialReport": [ok({"State": "COMPLETE", "ResponseMetadata": META})],
    },
    # The same, with a sign-in five days ago in the old report.
    "report-refresh-refused-recent-use": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=1, keys=0, certs=0))],
        "iam.GetCredentialReport": [ok(report(iso(ago(5)), mfa=True,
                                              generated=FROZEN_NOW - timedelta(hours=2)))] * 2,
        "iam.GenerateCredentialReport": [ok({"State": "COMPLETE", "ResponseMetadata": META})],
    },
    # A two-day-old report, and the audit role may not ask for a new one.
    "report-generate-denied": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=1, keys=0, certs=0))],
        "iam.ListVirtualMFADevices": [ok(devices())],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True,
                                              generated=FROZEN_NOW - timedelta(days=2)))],
        "iam.GenerateCredentialReport": [error(
            "AccessDenied", f"User: arn:aws:sts::{ACCOUNT}:assumed-role/audit/c7n is not authorized to "
                            "perform: iam:GenerateCredentialReport", 403)],
    },
    # Fields a verdict needs are blank: not "never used", not "inactive".
    "report-blank-fields": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [ok(report("", key1=["", "", "", "", ""]))],
    },
    # A flag IAM never writes ("yes") in access_key_1_active.
    "report-garbled-key-flag": {
        "iam.GetAccountSummary": [ok(summary(password=0, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [ok(report(key1=["yes", iso(ago(30)), "N/A", "N/A", "N/A"]))],
    },
    "active-key-no-mfa": {
        "iam.GetAccountSummary": [ok(summary(password=0, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [ok(report(key1=key_cols(True, ago(500), ago(400))))],
    },
    # Hardware MFA; active key in slot 1 used 3 days ago, inactive key in slot 2.
    "active-key-recently-used": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=1, keys=1, certs=0))],
        "iam.ListVirtualMFADevices": [ok(devices(user_device()))],
        "iam.GetCredentialReport": [ok(report("no_information", mfa=True,
                                              key1=key_cols(True, ago(300), ago(3), "us-east-1", "s3")))],
    },
    "signing-certificate": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=1, keys=0, certs=1))],
        "iam.ListVirtualMFADevices": [ok(devices())],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True, cert1=ago(800)))],
    },
    # Centralized root access removed everything.
    "no-root-credentials": {
        "iam.GetAccountSummary": [ok(summary(password=0, mfa=0, keys=0, certs=0, devices_in_use=1))],
        "iam.GetCredentialReport": [ok(report())],
    },
    # IAM is still generating the report however long we wait.
    "report-in-progress": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=1, certs=0))],
        "iam.GetCredentialReport": [error("ReportInProgress", "Report is being generated.", 404)],
    },
    "report-not-present": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [
            error("ReportNotPresent", "Report is not present. Generate the report first.", 410),
            error("ReportInProgress", "Report is being generated.", 404),
            ok(report(iso(ago(10)), generated=FROZEN_NOW - timedelta(seconds=5))),
        ],
        "iam.GenerateCredentialReport": [ok({"State": "STARTED",
                                             "Description": "No report exists. Starting a new report generation task",
                                             "ResponseMetadata": META})],
    },
    "report-expired": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [
            error("ReportExpired", "The credential report is expired. Generate a new report.", 410),
            ok(report(iso(ago(10)), generated=FROZEN_NOW - timedelta(seconds=5))),
        ],
        "iam.GenerateCredentialReport": [ok({"State": "COMPLETE", "ResponseMetadata": META})],
    },
    # A day-old report is regenerated; the fresh one shows a sign-in the old one did not.
    "report-stale": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [
            ok(report(iso(ago(200)), generated=FROZEN_NOW - timedelta(days=1))),
            ok(report(iso(ago(0.5)), generated=FROZEN_NOW - timedelta(seconds=5))),
        ],
        "iam.GenerateCredentialReport": [ok({"State": "STARTED", "ResponseMetadata": META})],
    },
    "summary-access-denied": {
        "iam.GetAccountSummary": [error(
            "AccessDenied", f"User: arn:aws:sts::{ACCOUNT}:assumed-role/audit/c7n is not authorized to "
                            "perform: iam:GetAccountSummary because no identity-based policy allows the "
                            "iam:GetAccountSummary action", 403)],
    },
    "report-malformed": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [ok(dict(report(), Content="user,arn\n<root_account>,arn:aws:iam::x:root,extra"))],
    },
    "report-without-root-row": {
        "iam.GetAccountSummary": [ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [ok(report(root_row=False))],
    },
    "summary-throttled-then-ok": {
        "iam.GetAccountSummary": [error("Throttling", "Rate exceeded"), error("Throttling", "Rate exceeded"),
                                  ok(summary(password=1, mfa=0, keys=0, certs=0))],
        "iam.GetCredentialReport": [ok(report(iso(ago(200))))],
    },
    "summary-throttled-always": {
        "iam.GetAccountSummary": [error("Throttling", "Rate exceeded")],
    },
    "virtual-mfa-access-denied": {
        "iam.GetAccountSummary": [ok(summary(**HW))],
        "iam.ListVirtualMFADevices": [error("AccessDenied", "not authorized to perform: iam:ListVirtualMFADevices", 403)],
        "iam.GetCredentialReport": [ok(report(iso(ago(200)), mfa=True))],
    },
}


def main():
    shutil.rmtree(FLIGHTS, ignore_errors=True)
    for scenario, operations in SCENARIOS.items():
        # c7n's aws.account resource itself lists the account aliases.
        operations = dict(operations, **{"iam.ListAccountAliases": [ok(
            {"AccountAliases": ["example-prod"], "IsTruncated": False, "ResponseMetadata": META})]})
        folder = os.path.join(FLIGHTS, scenario)
        os.makedirs(folder)
        for operation, responses in operations.items():
            for number, response in enumerate(responses, start=1):
                with open(os.path.join(folder, f"{operation}_{number}.json"), "w") as f:
                    json.dump(response, f, indent=2)
                    f.write("\n")


if __name__ == "__main__":
    main()
