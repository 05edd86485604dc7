"""member-root-credentials and delete-root-credentials through AssumeRoot, from placebo flight data.

moto has no sts:AssumeRoot, so the flight data is written here, shaped like the real responses
(botocore's sts and iam service models).
"""
import pytest

from org_helpers import (
    MANAGEMENT, CallCounter, error, new_run, placebo_session, run_policy, validation_errors,
    write_flight)

MEMBER = "210987654321"
SECOND = "345678901234"
SUSPENDED = "456789012345"
ORG_ID = "o-a1b2c3d4e5"
ROOT_CREDS = {"AccessKeyId": "ASIAROOTSESSION00001", "SecretAccessKey": "secret",
              "SessionToken": "token", "Expiration": "2026-01-01T00:15:00Z"}
PASSKEY = f"arn:aws:iam::{MEMBER}:u2f/root/yubikey-5c-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VIRTUAL = f"arn:aws:iam::{MEMBER}:mfa/root-account-mfa-device"
HARDWARE = "GAHT12345678"


def account(account_id, name, status="ACTIVE"):
    return {"Id": account_id, "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{account_id}",
            "Email": f"{name}@example.com", "Name": name, "Status": status, "State": status,
            "JoinedMethod": "CREATED", "JoinedTimestamp": "2024-03-01T10:00:00Z"}


def org_listing(*accounts):
    return {
        "organizations.ListAccounts": [{"Accounts": list(accounts)}],
        "tagging.GetResources": [{"ResourceTagMappingList": [], "PaginationToken": ""}],
        "organizations.DescribeOrganization": [{"Organization": {
            "Id": ORG_ID, "Arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{ORG_ID}",
            "FeatureSet": "ALL", "MasterAccountId": MANAGEMENT,
            "MasterAccountArn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{MANAGEMENT}",
            "MasterAccountEmail": "mgmt@example.com"}}],
    }


def root_state(password=True, keys=(), certificates=(), mfa=()):
    """IAM answers in a member's root session; keys are (id, status, last used date or None)."""
    return {
        "iam.GetLoginProfile": [
            {"LoginProfile": {"CreateDate": "2023-05-02T08:00:00Z", "PasswordResetRequired": False}}
            if password else error("NoSuchEntity", "The user with name root cannot be found.", 404)],
        "iam.ListAccessKeys": [{"AccessKeyMetadata": [
            {"AccessKeyId": key, "Status": status, "CreateDate": "2022-01-10T09:00:00Z"}
            for key, status, _ in keys], "IsTruncated": False}],
        "iam.GetAccessKeyLastUsed": [
            {"AccessKeyLastUsed": {"LastUsedDate": used, "ServiceName": "s3", "Region": "us-east-1"}
             if used else {"ServiceName": "N/A", "Region": "N/A"}}
            for _, _, used in keys] or [{"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}],
        "iam.ListSigningCertificates": [{"Certificates": [
            {"CertificateId": cert, "CertificateBody": "-----BEGIN CERTIFICATE-----", "Status": status,
             "UploadDate": "2021-07-01T00:00:00Z"} for cert, status in certificates],
            "IsTruncated": False}],
        "iam.ListMFADevices": [{"MFADevices": [
            {"SerialNumber": serial, "EnableDate": "2024-02-02T00:00:00Z"} for serial in mfa],
            "IsTruncated": False}],
    }


def flight(tmp_path, accounts, assume_root=None, **state):
    responses = {**org_listing(*accounts), **root_state(**state),
                 "sts.AssumeRoot": assume_root or [{"Credentials": ROOT_CREDS}]}
    return placebo_session(write_flight(tmp_path / "flight", responses))


def audit(session, tmp_path, **options):
    return run_policy(session, tmp_path / "out", [{"type": "member-root-credentials", **options}])


def captured_assume_root(session):
    calls = []
    session.events.register("before-parameter-build.sts.AssumeRoot",
                            lambda params, **_: calls.append(dict(params)))
    return calls


@pytest.mark.parametrize("serials, state, kinds", [
    ([PASSKEY], "passkey", ["passkey"]),
    ([VIRTUAL], "virtual", ["virtual"]),
    ([HARDWARE], "hardware", ["hardware"]),
    ([PASSKEY, VIRTUAL], "virtual", ["passkey", "virtual"]),   # the weakest device decides
    ([], "none", []),
])
def test_mfa_kind_comes_from_the_device_serial(tmp_path, serials, state, kinds):
    session = flight(tmp_path, [account(MEMBER, "member")], mfa=serials)

    flagged, verdicts = audit(session, tmp_path, mfa=["none", "virtual"])

    details = verdicts[MEMBER]["member-root-credentials"]["details"]
    assert details["mfa_state"] == state
    assert [d["kind"] for d in details["mfa_devices"]] == kinds
    assert bool(flagged) == (state in ("none", "virtual"))


def test_inactive_access_key_is_visible_and_flags_access_keys_but_not_active_keys(tmp_path):
    keys = (("AKIAROOTKEY000000001", "Inactive", "2024-06-01T12:00:00Z"),)
    session = flight(tmp_path, [account(MEMBER, "member")], password=False, keys=keys)

    flagged, verdicts = audit(session, tmp_path, **{"access-keys": True})
    key = verdicts[MEMBER]["member-root-credentials"]["details"]["access_keys"][0]
    assert [r["Id"] for r in flagged] == [MEMBER]
    assert key == {"id": "AKIAROOTKEY000000001", "status": "Inactive", "created": "2022-01-10T09:00:00Z",
                   "last_used": "2024-06-01T12:00:00Z", "last_used_service": "s3"}

    session = flight(tmp_path / "again", [account(MEMBER, "member")], password=False, keys=keys)
    new_run()
    flagged, _ = audit(session, tmp_path / "again", **{"active-access-keys": True})
    assert flagged == []


def test_member_without_root_credentials_passes_the_default_audit(tmp_path):
    session = flight(tmp_path, [account(MEMBER, "member")], password=False)

    flagged, verdicts = audit(session, tmp_path)

    verdict = verdicts[MEMBER]["member-root-credentials"]
    assert flagged == []
    assert verdict["status"] == "compliant"
    assert verdict["details"]["password"] is False


def test_password_and_certificate_flag_the_member_by_default(tmp_path):
    session = flight(tmp_path, [account(MEMBER, "member")],
                     certificates=[("ASCACERTIFICATEID0000001", "Active")])

    flagged, verdicts = audit(session, tmp_path)

    reason = verdicts[MEMBER]["member-root-credentials"]["reason"]
    assert [r["Id"] for r in flagged] == [MEMBER]
    assert "password" in reason and "signing certificate(s) ASCACERTIFICATEID0000001" in reason


def test_assume_root_asks_for_the_audit_task_for_at_most_fifteen_minutes(tmp_path):
    session = flight(tmp_path, [account(MEMBER, "member")])
    calls = captured_assume_root(session)

    audit(session, tmp_path)

    assert calls == [{"TargetPrincipal": MEMBER, "DurationSeconds": 900, "TaskPolicyArn": {
        "arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}]


def test_management_and_suspended_accounts_are_not_applicable_without_assume_root(tmp_path):
    session = flight(tmp_path, [account(MANAGEMENT, "management"),
                                account(SUSPENDED, "gone", status="SUSPENDED")])
    sts = CallCounter(session, "sts")

    flagged, verdicts = audit(session, tmp_path)

    assert flagged == []
    assert sts.calls == {}
    assert verdicts[MANAGEMENT]["member-root-credentials"]["status"] == "not-applicable"
    assert "SUSPENDED" in verdicts[SUSPENDED]["member-root-credentials"]["reason"]


def test_one_member_failing_assume_root_does_not_stop_the_others(tmp_path):
    denied = error("AccessDenied", "User is not authorized to perform: sts:AssumeRoot", 403)
    session = flight(tmp_path, [account(MEMBER, "member"), account(SECOND, "second")],
                     assume_root=[denied, {"Credentials": ROOT_CREDS}], password=True)
    sts = CallCounter(session, "sts")

    flagged, verdicts = audit(session, tmp_path)

    assert sts.calls == {"AssumeRoot": 2}
    first, second = (verdicts[a]["member-root-credentials"] for a in (MEMBER, SECOND))
    assert first["status"] == "could-not-evaluate"
    assert first["reason"].startswith("sts:AssumeRoot failed: AccessDenied")
    assert second["status"] == "non-compliant"
    assert {r["Id"] for r in flagged} == {MEMBER, SECOND}


def test_a_failed_read_in_the_root_session_names_the_call(tmp_path):
    session = flight(tmp_path, [account(MEMBER, "member")])
    write_flight(tmp_path / "flight", {"iam.ListMFADevices": [
        error("AccessDenied", "root sessions are disabled in this organization", 403)]})

    flagged, verdicts = audit(session, tmp_path)

    verdict = verdicts[MEMBER]["member-root-credentials"]
    assert verdict["status"] == "could-not-evaluate"
    assert f"iam:ListMFADevices (as root of {MEMBER}) failed: AccessDenied" in verdict["reason"]


@pytest.mark.parametrize("operation", ["ListAccessKeys", "ListSigningCertificates", "ListMFADevices"])
def test_a_root_session_page_without_its_list_is_unreadable_not_empty(tmp_path, operation):
    session = flight(tmp_path, [account(MEMBER, "member")], password=False)
    write_flight(tmp_path / "flight", {f"iam.{operation}": [{"IsTruncated": False}]})

    flagged, verdicts = audit(session, tmp_path)

    verdict = verdicts[MEMBER]["member-root-credentials"]
    assert [r["Id"] for r in flagged] == [MEMBER]
    assert verdict["status"] == "could-not-evaluate"
    assert f"iam:{operation} (as root of {MEMBER}): unreadable response" in verdict["reason"]


# ------------------------------------------------------------------------ delete-root-credentials

DELETES = ("DeleteLoginProfile", "DeleteAccessKey", "DeleteSigningCertificate", "DeactivateMFADevice")


def delete(tmp_path, credentials, dryrun=False, failing=None, **state):
    """Run delete-root-credentials on one member; (records, writes, AssumeRoot calls).

    ``failing`` names a delete call (e.g. "DeleteLoginProfile") that answers AccessDenied.
    """
    deletions = {f"iam.{op}": [{}] for op in DELETES}
    if failing:
        deletions[f"iam.{failing}"] = [error("AccessDenied", "injected failure", 403)]
    responses = {**org_listing(account(MEMBER, "member")), **root_state(**state), **deletions,
                 "sts.AssumeRoot": [{"Credentials": ROOT_CREDS}]}
    session = placebo_session(write_flight(tmp_path / "flight", responses))
    iam, assumed = CallCounter(session, "iam"), captured_assume_root(session)
    resources, _ = run_policy(session, tmp_path / "out", [],
                              [{"type": "delete-root-credentials", "credentials": credentials}],
                              dryrun=dryrun)
    member = next(r for r in resources if r["Id"] == MEMBER)
    writes = {op: n for op, n in iam.calls.items() if op in DELETES}
    return member.get("c7n:rootguard-actions", []), writes, assumed


def tasks(assumed):
    return [call["TaskPolicyArn"]["arn"].rsplit("/", 1)[1] for call in assumed]


def write_records(records):
    return [(r["call"].split(" ")[0], r["result"], r["target"]) for r in records if r["call"]]


FULL_ROOT = {"keys": (("AKIAROOTKEY000000001", "Active", None),),
             "certificates": (("ASCACERTIFICATEID0000001", "Inactive"),), "mfa": (VIRTUAL,)}
ALL_KINDS = ["login-profile", "access-keys", "signing-certificates", "mfa-devices"]


def test_deletes_every_selected_credential_through_the_delete_task(tmp_path):
    records, writes, assumed = delete(tmp_path, ALL_KINDS, **FULL_ROOT)

    assert writes == {op: 1 for op in DELETES}
    assert tasks(assumed) == ["IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials"]
    assert write_records(records) == [
        ("iam:DeleteLoginProfile", "done", "root"),
        ("iam:DeleteAccessKey", "done", "AKIAROOTKEY000000001"),
        ("iam:DeleteSigningCertificate", "done", "ASCACERTIFICATEID0000001"),
        ("iam:DeactivateMFADevice", "done", VIRTUAL)]
    assert all(r["account"] == MEMBER for r in records)


def test_deletes_only_the_kinds_listed(tmp_path):
    _, writes, _ = delete(tmp_path, ["access-keys"], **FULL_ROOT)
    assert writes == {"DeleteAccessKey": 1}


def test_member_with_nothing_left_gets_no_write(tmp_path):
    records, writes, assumed = delete(tmp_path, ["login-profile", "access-keys"], password=False)
    assert writes == {}
    assert [r["result"] for r in records] == ["nothing-to-delete"]
    assert tasks(assumed) == ["IAMAuditRootUserCredentials"]


def test_dryrun_config_only_reports_what_would_be_deleted(tmp_path):
    from c7n.config import Config
    from c7n.policy import Policy
    responses = {**org_listing(account(MEMBER, "member")), **root_state(**FULL_ROOT),
                 "sts.AssumeRoot": [{"Credentials": ROOT_CREDS}]}
    session = placebo_session(write_flight(tmp_path / "flight", responses))
    iam = CallCounter(session, "iam")
    policy = Policy({"name": "dry", "resource": "aws.org-account",
                     "actions": [{"type": "delete-root-credentials", "credentials": ["access-keys"]}]},
                    Config.empty(account_id=MANAGEMENT, region="us-east-1",
                                 output_dir=str(tmp_path), dryrun=True),
                    session_factory=lambda *a, **k: session)
    member = {"Id": MEMBER, "Status": "ACTIVE", "Name": "member"}

    policy.resource_manager.actions[0].process([member])

    assert not any(op in DELETES for op in iam.calls)
    assert [(r["result"], r["target"]) for r in member["c7n:rootguard-actions"]] == [
        ("planned", "AKIAROOTKEY000000001")]


def test_dryrun_run_records_the_planned_deletions_and_never_assumes_the_delete_task(tmp_path):
    records, writes, assumed = delete(tmp_path, ALL_KINDS, dryrun=True, **FULL_ROOT)

    assert writes == {}
    assert tasks(assumed) == ["IAMAuditRootUserCredentials"]
    assert [result for _, result, _ in write_records(records)] == ["planned"] * 4


def test_failed_password_deletion_stops_before_mfa_so_root_keeps_its_mfa(tmp_path):
    records, writes, _ = delete(tmp_path, ALL_KINDS, failing="DeleteLoginProfile", **FULL_ROOT)

    assert writes == {"DeleteLoginProfile": 1}
    assert write_records(records) == [
        ("iam:DeleteLoginProfile", "failed", "root"),
        ("iam:DeleteAccessKey", "not-attempted", "AKIAROOTKEY000000001"),
        ("iam:DeleteSigningCertificate", "not-attempted", "ASCACERTIFICATEID0000001"),
        ("iam:DeactivateMFADevice", "not-attempted", VIRTUAL)]
    assert "AccessDenied" in records[0]["detail"]


@pytest.mark.parametrize("failing", DELETES)
def test_a_failure_at_any_deletion_is_recorded_and_root_is_never_weaker_than_before(tmp_path, failing):
    records, writes, _ = delete(tmp_path, ALL_KINDS, failing=failing, **FULL_ROOT)

    order = list(DELETES)
    position = order.index(failing)
    assert writes == {op: 1 for op in order[:position + 1]}
    assert [result for _, result, _ in write_records(records)] == (
        ["done"] * position + ["failed"] + ["not-attempted"] * (len(order) - position - 1))
    # Posture after the run: what remains of root's credentials is still behind its MFA device.
    removed = {op for op, result, _ in write_records(records) if result == "done"}
    remaining = [op for op in order[:3] if f"iam:{op}" not in removed]
    mfa_removed = "iam:DeactivateMFADevice" in removed
    assert not (remaining and mfa_removed)


def test_mfa_is_kept_while_root_keeps_a_credential_the_policy_does_not_delete(tmp_path):
    records, writes, _ = delete(tmp_path, ["access-keys", "mfa-devices"], **FULL_ROOT)

    assert writes == {"DeleteAccessKey": 1}
    held = [r for r in records if r["result"] == "held-back"]
    assert held and "password" in held[0]["detail"] and "signing certificates" in held[0]["detail"]


@pytest.mark.parametrize("action", [
    {"type": "delete-root-credentials"},
    {"type": "delete-root-credentials", "credentials": ["root-user"]},
    {"type": "delete-root-credentials", "credentials": []},
])
def test_delete_needs_an_explicit_list_of_known_credential_kinds(action):
    assert validation_errors("aws.org-account", action, kind="actions")


def test_member_audit_rejects_unknown_mfa_states():
    assert "sms" in validation_errors("aws.org-account",
                                      {"type": "member-root-credentials", "mfa": ["sms"]})


@pytest.mark.parametrize("match, flagged_expected", [("all", False), ("any", True)])
def test_match_decides_whether_every_or_any_condition_must_hold(tmp_path, match, flagged_expected):
    session = flight(tmp_path, [account(MEMBER, "member")])    # a password, no access key

    flagged, verdicts = audit(session, tmp_path, match=match, password=True, **{"access-keys": True})

    assert bool(flagged) is flagged_expected
    assert verdicts[MEMBER]["member-root-credentials"]["details"]["password"] is True


def test_failed_assume_root_with_the_delete_task_deletes_nothing_and_says_so(tmp_path):
    denied = error("AccessDenied", "not authorized to assume root with IAMDeleteRootUserCredentials", 403)
    responses = {**org_listing(account(MEMBER, "member")), **root_state(**FULL_ROOT),
                 **{f"iam.{op}": [{}] for op in DELETES},
                 "sts.AssumeRoot": [{"Credentials": ROOT_CREDS}, denied]}
    session = placebo_session(write_flight(tmp_path / "flight", responses))
    iam = CallCounter(session, "iam")

    resources, _ = run_policy(session, tmp_path / "out", [],
                              [{"type": "delete-root-credentials", "credentials": ALL_KINDS}])

    member = next(r for r in resources if r["Id"] == MEMBER)
    assert not any(op in DELETES for op in iam.calls)
    results = [(r["call"].split(" ")[0], r["result"]) for r in member["c7n:rootguard-actions"]]
    assert results == [("sts:AssumeRoot", "failed")] + [
        (f"iam:{op}", "not-attempted") for op in DELETES]


@pytest.mark.parametrize("serials, flagged_expected", [([], True), ([VIRTUAL], True), ([PASSKEY, HARDWARE], False)])
def test_min_mfa_devices_flags_roots_with_credentials_and_too_few_devices(tmp_path, serials, flagged_expected):
    session = flight(tmp_path, [account(MEMBER, "member")], mfa=serials)     # root has a password

    flagged, verdicts = audit(session, tmp_path, **{"min-mfa-devices": 2})

    assert bool(flagged) is flagged_expected
    verdict = verdicts[MEMBER]["member-root-credentials"]
    assert len(verdict["details"]["mfa_devices"]) == len(serials)
    if flagged_expected:
        assert f"has {len(serials)} MFA device(s), 2 wanted" in verdict["reason"]


def test_min_mfa_devices_does_not_flag_a_root_without_credentials(tmp_path):
    session = flight(tmp_path, [account(MEMBER, "member")], password=False)

    flagged, verdicts = audit(session, tmp_path, **{"min-mfa-devices": 2})

    assert not flagged and verdicts[MEMBER]["member-root-credentials"]["status"] == "compliant"


def test_min_mfa_devices_management_account_is_not_applicable(tmp_path):
    session = flight(tmp_path, [account(MANAGEMENT, "management"), account(MEMBER, "member")], mfa=[])

    _, verdicts = audit(session, tmp_path, **{"min-mfa-devices": 2})

    assert verdicts[MANAGEMENT]["member-root-credentials"]["status"] == "not-applicable"
    assert "management account" in verdicts[MANAGEMENT]["member-root-credentials"]["reason"]


def test_min_mfa_devices_is_validated():
    assert "min-mfa-devices" in validation_errors("aws.org-account",
                                                  {"type": "member-root-credentials", "min-mfa-devices": 0})
