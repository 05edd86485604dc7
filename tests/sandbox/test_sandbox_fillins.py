"""Each fill-in answers in the real wire format: boto3/botocore parse it like an AWS answer."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import MANAGEMENT, client, make_org, member_client, session_creds

from rootguard_filters.sandbox.fillins import REPORT_COLUMNS, RootFacts
from rootguard_filters.sandbox.server import ControlClient

NOW = datetime.now(timezone.utc).replace(microsecond=0)
AUDIT = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
DELETE = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"


def error(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_account_summary_reports_root_facts(fresh):
    iam = client(fresh, "iam")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 0 and summary["AccountPasswordPresent"] == 1
    assert summary["AccountAccessKeysPresent"] == 0 and summary["AccountSigningCertificatesPresent"] == 0
    assert "UsersQuota" in summary  # moto's own map is kept
    fresh.update_root_facts(MANAGEMENT, password_present=False, mfa_devices=["hardware"],
                            access_keys=[{"active": False}], signing_certificates=[{"active": True}])
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["AccountPasswordPresent"], summary["AccountAccessKeysPresent"],
            summary["AccountSigningCertificatesPresent"]) == (1, 0, 1, 1)


def report_rows(iam):
    return list(csv.DictReader(io.StringIO(iam.get_credential_report()["Content"].decode())))


def test_credential_report_root_row(fresh):
    iam = client(fresh, "iam")
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert error(exc) == ("ReportNotPresent", 410)
    before = datetime.now(timezone.utc)
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    iam.create_user(UserName="alice")
    fresh.update_root_facts(MANAGEMENT, password_last_used=NOW - timedelta(days=1), mfa_devices=["virtual"],
                            access_keys=[{"active": True, "last_used": NOW - timedelta(days=3),
                                          "last_rotated": NOW - timedelta(days=90)},
                                         {"active": False, "last_rotated": NOW - timedelta(days=9)}],
                            signing_certificates=[{"active": True}, {"active": False}])
    answer = iam.get_credential_report()
    assert answer["ReportFormat"] == "text/csv"
    assert answer["GeneratedTime"] >= before.replace(microsecond=0)
    lines = answer["Content"].decode().splitlines()
    assert lines[0].split(",") == REPORT_COLUMNS and len(REPORT_COLUMNS) == 22
    rows = report_rows(iam)
    root = rows[0]
    assert root["user"] == "<root_account>" and root["arn"] == f"arn:aws:iam::{MANAGEMENT}:root"
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_changed"] == root["password_next_rotation"] == "not_supported"
    assert datetime.fromisoformat(root["password_last_used"]) == NOW - timedelta(days=1)
    assert root["mfa_active"] == "true"
    assert root["access_key_1_active"] == "true"
    assert datetime.fromisoformat(root["access_key_1_last_used_date"]) == NOW - timedelta(days=3)
    assert root["access_key_1_last_used_region"] == "us-east-1"
    # An inactive key is written like no key at all.
    assert [root[f"access_key_2_{c}"] for c in ("active", "last_rotated", "last_used_date",
                                                 "last_used_region", "last_used_service")] == ["false"] + ["N/A"] * 4
    assert root["cert_1_active"] == "true" and root["cert_2_active"] == "false" and root["cert_2_last_rotated"] == "N/A"
    assert [r["user"] for r in rows[1:]] == ["alice"]

    fresh.update_root_facts(MANAGEMENT, password_last_used=None)
    assert report_rows(iam)[0]["password_last_used"] == "no_information"
    fresh.update_root_facts(MANAGEMENT, password_present=False)
    assert report_rows(iam)[0]["password_last_used"] == "N/A"


def test_credential_report_in_progress_and_expired(fresh):
    iam = client(fresh, "iam")
    fresh.set_credential_report(MANAGEMENT, in_progress_calls=2)
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "INPROGRESS"
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            iam.get_credential_report()
        assert error(exc) == ("ReportInProgress", 404)
    assert iam.get_credential_report()["Content"]
    ControlClient(fresh.endpoint_url).set_credential_report(MANAGEMENT, expired=True)
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert error(exc) == ("ReportExpired", 410)
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.get_credential_report()["Content"]


def test_list_virtual_mfa_devices_includes_root(fresh):
    iam = client(fresh, "iam")
    iam.create_user(UserName="rootops")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="rootops")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="rootops", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")
    assert all(d["User"]["UserName"] == "rootops"
               for d in iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"])
    fresh.update_root_facts(MANAGEMENT, mfa_devices=["hardware", "virtual"])
    pages = iam.get_paginator("list_virtual_mfa_devices").paginate(
        AssignmentStatus="Assigned", PaginationConfig={"PageSize": 1})
    devices = [d for page in pages for d in page["VirtualMFADevices"]]
    assert len(devices) == 2
    root = [d for d in devices if d["User"]["Arn"] == f"arn:aws:iam::{MANAGEMENT}:root"]
    assert root[0]["SerialNumber"] == f"arn:aws:iam::{MANAGEMENT}:mfa/root-account-mfa-device"
    assert root[0]["User"]["UserId"] == MANAGEMENT
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [d["SerialNumber"].rsplit("/", 1)[-1] for d in unassigned] == ["spare"]
    assert len(iam.list_virtual_mfa_devices()["VirtualMFADevices"]) == 3


def test_sns_subscriptions_pending_until_confirmed(fresh):
    sns, sqs = client(fresh, "sns"), client(fresh, "sqs")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="sec@example.com")["SubscriptionArn"] == \
        "pending confirmation"
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"].startswith(topic)
    subs = {s["Protocol"]: s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert subs["email"] == "PendingConfirmation" and subs["sqs"].startswith(topic)
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]].count("PendingConfirmation") == 1
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"]) == ("1", "1")

    ControlClient(fresh.endpoint_url).confirm_subscription(MANAGEMENT, topic, "sec@example.com")
    subs = [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert "PendingConfirmation" not in subs
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"]) == ("2", "0")
    # Subscribing again returns the (now confirmed) subscription.
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="sec@example.com")["SubscriptionArn"].startswith(topic)


def test_organizations_features_management_only(fresh):
    iam = client(fresh, "iam")
    with pytest.raises(ClientError) as exc:
        iam.list_organizations_features()
    assert error(exc)[0] == "OrganizationNotFoundException"
    (member,) = make_org(fresh, trusted=())
    with pytest.raises(ClientError) as exc:
        iam.enable_organizations_root_sessions()
    assert error(exc)[0] == "ServiceAccessNotEnabledException"
    client(fresh, "organizations").enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    assert iam.enable_organizations_root_credentials_management()["EnabledFeatures"] == ["RootCredentialsManagement"]
    iam.enable_organizations_root_sessions()
    answer = iam.list_organizations_features()
    assert answer["OrganizationId"].startswith("o-")
    assert sorted(answer["EnabledFeatures"]) == ["RootCredentialsManagement", "RootSessions"]
    assert iam.disable_organizations_root_sessions()["EnabledFeatures"] == ["RootCredentialsManagement"]
    with pytest.raises(ClientError) as exc:
        member_client(fresh, member, "iam").list_organizations_features()
    assert error(exc)[0] == "AccountNotManagementOrDelegatedAdministratorException"


@pytest.fixture
def root_session_org(fresh):
    (member,) = make_org(fresh)
    client(fresh, "iam").enable_organizations_root_sessions()
    fresh.set_root_facts(member, RootFacts(
        password_present=True, mfa_devices=["virtual", "passkey", "hardware"],
        access_keys=[{"active": True, "last_used": NOW - timedelta(days=3), "last_used_service": "s3"},
                     {"active": False}],
        signing_certificates=[{"active": True}]))
    return member


def assume_root(sandbox, member, task, **kwargs):
    creds = client(sandbox, "sts").assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": task}, **kwargs)
    return client(sandbox, "iam", **session_creds(creds["Credentials"]))


def test_assume_root_audit(fresh, root_session_org):
    member = root_session_org
    iam = assume_root(fresh, member, AUDIT, DurationSeconds=900)
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Active", "Inactive"]
    assert all(k["AccessKeyId"].startswith("AKIA") and len(k["AccessKeyId"]) == 20 for k in keys)
    used = iam.get_access_key_last_used(AccessKeyId=keys[0]["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "s3" and used["LastUsedDate"] == NOW - timedelta(days=3)
    never = iam.get_access_key_last_used(AccessKeyId=keys[1]["AccessKeyId"])["AccessKeyLastUsed"]
    assert never["ServiceName"] == "N/A" and "LastUsedDate" not in never
    assert iam.get_login_profile()["LoginProfile"]["CreateDate"]
    assert [c["Status"] for c in iam.list_signing_certificates()["Certificates"]] == ["Active"]
    serials = [d["SerialNumber"] for d in iam.list_mfa_devices()["MFADevices"]]
    assert serials[0] == f"arn:aws:iam::{member}:mfa/root-account-mfa-device"
    assert serials[1] == f"arn:aws:iam::{member}:u2f/root/passkey-1"
    assert serials[2].startswith("GAHT") and not serials[2].startswith("arn:")
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    with pytest.raises(ClientError) as exc:
        iam.delete_login_profile()
    assert error(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        iam.list_users()
    assert error(exc) == ("AccessDenied", 403)


def test_assume_root_rejections(fresh, root_session_org):
    member = root_session_org
    sts = client(fresh, "sts")
    with pytest.raises(ClientError) as exc:
        sts.assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": AUDIT}, DurationSeconds=3600)
    assert error(exc)[0] == "ValidationError"
    with pytest.raises(ClientError) as exc:
        sts.assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert error(exc)[0] == "ValidationError"
    with pytest.raises(ClientError) as exc:
        member_client(fresh, member, "sts").assume_root(TargetPrincipal=MANAGEMENT, TaskPolicyArn={"arn": AUDIT})
    assert error(exc) == ("AccessDenied", 403)


def test_assume_root_delete_credentials(fresh, root_session_org):
    member = root_session_org
    iam = assume_root(fresh, member, DELETE)
    iam.delete_login_profile()
    for key in iam.list_access_keys()["AccessKeyMetadata"]:
        iam.delete_access_key(AccessKeyId=key["AccessKeyId"])
    for cert in iam.list_signing_certificates()["Certificates"]:
        iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    for device in iam.list_mfa_devices()["MFADevices"]:
        iam.deactivate_mfa_device(SerialNumber=device["SerialNumber"])
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile()
    assert error(exc) == ("NoSuchEntity", 404)
    summary = iam.get_account_summary()["SummaryMap"]
    assert [summary[k] for k in ("AccountMFAEnabled", "AccountAccessKeysPresent",
                                 "AccountSigningCertificatesPresent", "AccountPasswordPresent")] == [0, 0, 0, 0]
    facts = fresh.root_facts(member)
    assert (facts.password_present, facts.mfa_devices, facts.access_keys, facts.signing_certificates) == \
        (False, [], [], [])
    with pytest.raises(ClientError) as exc:
        iam.delete_access_key(AccessKeyId="AKIADOESNOTEXIST0000")
    assert error(exc)[0] == "NoSuchEntity"


def test_unassumable_account(fresh):
    blocked, other = make_org(fresh, members=2)
    fresh.set_unassumable(blocked)
    sts = client(fresh, "sts")
    role = f"arn:aws:iam::{blocked}:role/OrganizationAccountAccessRole"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role, RoleSessionName="audit")
    assert error(exc) == ("AccessDenied", 403)
    assert role in exc.value.response["Error"]["Message"]
    assert member_client(fresh, other, "sts").get_caller_identity()["Account"] == other


def test_call_counter(fresh):
    (member,) = make_org(fresh)
    fresh.reset_calls()
    control = ControlClient(fresh.endpoint_url)
    iam = member_client(fresh, member, "iam")
    iam.get_account_summary()
    iam.get_account_summary()
    client(fresh, "cloudwatch").describe_alarms()
    expected = {(MANAGEMENT, "sts", "AssumeRole"): 1, (member, "iam", "GetAccountSummary"): 2,
                (MANAGEMENT, "cloudwatch", "DescribeAlarms"): 1}
    assert fresh.calls() == expected
    assert control.calls() == expected
    control.reset_calls()
    assert fresh.calls() == {}


def test_contact_information(fresh):
    (member,) = make_org(fresh)
    account = client(fresh, "account")
    with pytest.raises(ClientError) as exc:
        account.get_contact_information()
    assert error(exc) == ("ResourceNotFoundException", 404)
    contact = {"FullName": "Ops", "AddressLine1": "1 Way", "City": "Seattle", "PostalCode": "98101",
               "CountryCode": "US", "PhoneNumber": "+12065550100"}
    account.put_contact_information(ContactInformation=contact, AccountId=member)
    assert account.get_contact_information(AccountId=member)["ContactInformation"] == contact
    assert member_client(fresh, member, "account").get_contact_information()["ContactInformation"] == contact
    assert account.get_primary_email(AccountId=member)["PrimaryEmail"] == "m0@example.com"
    with pytest.raises(ClientError) as exc:
        member_client(fresh, member, "account").get_contact_information(AccountId=MANAGEMENT)
    assert error(exc) == ("AccessDeniedException", 403)
    # moto's own alternate contacts, reached with AccountId from the management account.
    account.put_alternate_contact(AccountId=member, AlternateContactType="SECURITY", Name="Sec", Title="CISO",
                                  EmailAddress="sec@example.com", PhoneNumber="+12065550100")
    got = member_client(fresh, member, "account").get_alternate_contact(AlternateContactType="SECURITY")
    assert got["AlternateContact"]["EmailAddress"] == "sec@example.com"


def test_cloudtrail_multi_region_arn_from_other_region(fresh):
    home = client(fresh, "cloudtrail")
    client(fresh, "s3").create_bucket(Bucket="trail-bucket")
    arn = home.create_trail(Name="org", S3BucketName="trail-bucket", IsMultiRegionTrail=True)["TrailARN"]
    home.put_event_selectors(TrailName="org", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}])
    home.start_logging(Name="org")
    away = client(fresh, "cloudtrail", region="eu-west-1")
    assert away.get_event_selectors(TrailName=arn)["EventSelectors"][0]["ReadWriteType"] == "All"
    assert away.get_trail_status(Name=arn)["IsLogging"] is True


def test_control_api_root_facts_over_http(fresh):
    control = ControlClient(fresh.endpoint_url)
    facts = control.update_root_facts("111122223333", mfa_devices=["passkey"],
                                      password_last_used=NOW - timedelta(days=5))
    assert facts["mfa_devices"] == ["passkey"] and facts["password_present"] is True
    assert fresh.root_facts("111122223333").password_last_used == NOW - timedelta(days=5)
    control.bulk_root_facts({"111122223333": {"password_present": False}, "444455556666": RootFacts()})
    assert control.root_facts("111122223333")["password_present"] is False
    assert control.root_facts("111122223333")["mfa_devices"] == ["passkey"]


def test_member_sees_the_organization_trail_as_aws_shows_it(fresh):
    (member,) = make_org(fresh)
    group_arn = f"arn:aws:logs:us-east-1:{MANAGEMENT}:log-group:org-trail:*"
    client(fresh, "s3").create_bucket(Bucket="org-trail")
    trails = client(fresh, "cloudtrail")
    arn = trails.create_trail(Name="org", S3BucketName="org-trail", IsMultiRegionTrail=True,
                              IsOrganizationTrail=True, CloudWatchLogsLogGroupArn=group_arn,
                              CloudWatchLogsRoleArn=f"arn:aws:iam::{MANAGEMENT}:role/ct")["TrailARN"]
    trails.start_logging(Name="org")
    for region in ("us-east-1", "eu-west-1"):
        member_trails = member_client(fresh, member, "cloudtrail", region)
        (trail,) = member_trails.describe_trails()["trailList"]
        assert trail["TrailARN"] == arn and arn.split(":")[4] == MANAGEMENT
        assert trail["IsOrganizationTrail"] and trail["HomeRegion"] == "us-east-1"
        assert trail["CloudWatchLogsLogGroupArn"] == group_arn
        assert member_trails.describe_trails(includeShadowTrails=False)["trailList"] == []
        # GetTrailStatus with the full ARN is documented for members
        assert member_trails.get_trail_status(Name=arn)["IsLogging"]
    with pytest.raises(ClientError) as exc:
        member_client(fresh, member, "cloudtrail").get_event_selectors(TrailName=arn)
    assert error(exc)[0] == "TrailNotFoundException"


def test_assume_role_denied_when_the_role_does_not_exist_in_an_organization_account(fresh):
    (member,) = make_org(fresh)
    sts = client(fresh, "sts")
    sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="audit")
    missing = f"arn:aws:iam::{MANAGEMENT}:role/rootguard-audit"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=missing, RoleSessionName="audit")
    assert error(exc) == ("AccessDenied", 403)


def test_assume_root_takes_the_member_principal_arn_too(fresh, root_session_org):
    # TargetPrincipal: "The member account principal ARN or account ID" (STS API reference)
    member = root_session_org
    iam = assume_root(fresh, f"arn:aws:iam::{member}:root", AUDIT)
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
