"""CloudTrail records for the sandbox's event history, shaped like AWS's own (see the samples in
``rootguard_filters/data/cloudtrail`` and ``/work/shared/reference/cloudtrail-samples``).

Builders for each kind of root event, and ``seeded_history``: the organization seed's root
activity per posture, with the approvals register that covers some of it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

UTC = timezone.utc
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/133.0.0.0 Safari/537.36")
CLI = ("aws-cli/2.24.10 md/awscrt#0.23.8 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.9 "
       "md/pyimpl#CPython cfg/retry-mode#standard")


def _t(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_id(*parts: Any) -> str:
    return str(uuid.UUID(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:32]))


def _key(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return prefix + "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32] for b in digest[:16])


def _root_identity(account: str, key: str = "", created: datetime | None = None, mfa: bool = True,
                   assumed_root: bool = False) -> dict[str, Any]:
    ident: dict[str, Any] = {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                             "accountId": account, "accessKeyId": key}
    if created is not None:
        ident["sessionContext"] = {"attributes": {"creationDate": _t(created),
                                                  "mfaAuthenticated": "true" if mfa else "false"}}
        if assumed_root:
            ident["sessionContext"]["assumedRoot"] = "true"
    return ident


def _base(account: str, when: datetime, region: str, source: str, name: str, ip: str, agent: str,
          identity: dict[str, Any], event_type: str = "AwsApiCall", read_only: bool = False) -> dict[str, Any]:
    return {"eventVersion": "1.10", "userIdentity": identity, "eventTime": _t(when), "eventSource": source,
            "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": agent,
            "requestParameters": None, "responseElements": None,
            "eventID": _event_id(account, when.isoformat(), region, source, name, identity.get("accessKeyId")),
            "readOnly": read_only, "eventType": event_type, "managementEvent": True,
            "recipientAccountId": account, "eventCategory": "Management"}


def console_login(account: str, when: datetime, ip: str, mfa: bool = True, success: bool = True,
                  region: str = "us-east-1", agent: str = BROWSER) -> dict[str, Any]:
    record = _base(account, when, region, "signin.amazonaws.com", "ConsoleLogin", ip, agent,
                   _root_identity(account), event_type="AwsConsoleSignIn")
    record["responseElements"] = {"ConsoleLogin": "Success" if success else "Failure"}
    record["additionalEventData"] = {"LoginTo": "https://console.aws.amazon.com/console/home",
                                     "MobileVersion": "No", "MFAUsed": "Yes" if mfa else "No"}
    if mfa:
        record["additionalEventData"]["MFAIdentifier"] = f"arn:aws:iam::{account}:mfa/root-account-mfa-device"
    if not success:
        record["errorMessage"] = "Failed authentication"
    return record


def password_event(account: str, when: datetime, ip: str, name: str = "PasswordRecoveryRequested") -> dict[str, Any]:
    record = _base(account, when, "us-east-1", "signin.amazonaws.com", name, ip, BROWSER,
                   _root_identity(account), event_type="AwsConsoleSignIn")
    record["responseElements"] = {name: "Success"}
    return record


def root_call(account: str, when: datetime, name: str, source: str = "iam.amazonaws.com",
              region: str = "us-east-1", ip: str = "198.51.100.23", key: str = "",
              console_login_at: datetime | None = None, mfa: bool = True, error: str | None = None,
              read_only: bool = False, agent: str | None = None) -> dict[str, Any]:
    """A root API call: from a console session (``console_login_at``) or with a long-term key."""
    if console_login_at is not None:
        key = key or _key("ASIA", account, console_login_at.isoformat())
        ident = _root_identity(account, key, console_login_at + timedelta(seconds=1), mfa)
        agent = agent or "AWS Internal"
    else:
        ident = _root_identity(account, key)
        agent = agent or CLI
    record = _base(account, when, region, source, name, ip, agent, ident, read_only=read_only)
    if console_login_at is not None:
        record["sessionCredentialFromConsole"] = "true"
    if error:
        record["errorCode"] = error
        record["errorMessage"] = f"User: arn:aws:iam::{account}:root is not authorized to perform this action"
    return record


def assume_root_call(management: str, when: datetime, target: str, task: str, issued_key: str,
                     region: str = "us-east-1", ip: str = "198.51.100.60") -> dict[str, Any]:
    ident = {"type": "AssumedRole", "principalId": "AROAQXZ7EXAMPLEROLE01:alice",
             "arn": f"arn:aws:sts::{management}:assumed-role/RootAccessAdmin/alice", "accountId": management,
             "accessKeyId": _key("ASIA", management, "alice", when.isoformat()),
             "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAQXZ7EXAMPLEROLE01",
                                                  "arn": f"arn:aws:iam::{management}:role/RootAccessAdmin",
                                                  "accountId": management, "userName": "RootAccessAdmin"},
                                "attributes": {"creationDate": _t(when - timedelta(minutes=5)),
                                               "mfaAuthenticated": "false"}}}
    record = _base(management, when, region, "sts.amazonaws.com", "AssumeRoot", ip, CLI, ident, read_only=True)
    record["requestParameters"] = {"targetPrincipal": target,
                                   "taskPolicyArn": {"arn": f"arn:aws:iam::aws:policy/root-task/{task}"}}
    expires = when + timedelta(minutes=15)
    record["responseElements"] = {"credentials": {
        "accessKeyId": issued_key, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
        "expiration": expires.strftime("%b %-d, %Y, %-I:%M:%S %p")}}
    return record


def assume_root_action(member: str, when: datetime, name: str, key: str, created: datetime,
                       source: str = "iam.amazonaws.com", region: str = "us-east-1",
                       ip: str = "198.51.100.60") -> dict[str, Any]:
    return _base(member, when, region, source, name, ip, CLI,
                 _root_identity(member, key, created, mfa=False, assumed_root=True))


def seeded_history(accounts: dict[str, str], management: str, now: datetime) -> tuple[
        dict[str, dict[str, list[dict[str, Any]]]], list[dict[str, Any]]]:
    """({account: {region: [records]}}, approvals) for the seed; ``accounts`` maps posture -> account id."""
    day = timedelta(days=1)
    history: dict[str, dict[str, list[dict[str, Any]]]] = {}
    approvals: list[dict[str, Any]] = []

    def add(account: str, *records: dict[str, Any]) -> None:
        for record in records:
            history.setdefault(account, {}).setdefault(record["awsRegion"], []).append(record)

    def window(account: str, start: datetime, end: datetime, ticket: str, approvers: list[str],
               task: str | None = None, why: str = "break-glass") -> None:
        entry = {"account": account, "start": _t(start), "end": _t(end), "ticket": ticket,
                 "justification": why, "approvers": approvers}
        if task:
            entry["task"] = task
        approvals.append(entry)

    # management: an approved console session (MFA) across two regions, a failed sign-in in two
    # regions, and an approved AssumeRoot into the member whose root credentials were removed.
    login = (now - 10 * day).replace(hour=9, minute=0, second=0)
    add(management, console_login(management, login, "198.51.100.23"),
        root_call(management, login + timedelta(minutes=2), "GetAccountSummary", console_login_at=login,
                  read_only=True),
        root_call(management, login + timedelta(minutes=4), "ListMFADevices", console_login_at=login,
                  read_only=True),
        root_call(management, login + timedelta(minutes=9), "DescribeInstances", "ec2.amazonaws.com",
                  region="eu-west-1", console_login_at=login, error="Client.UnauthorizedOperation",
                  read_only=True),
        console_login(management, now - 20 * day, "203.0.113.9", mfa=False, success=False),
        console_login(management, now - 20 * day + timedelta(minutes=1), "203.0.113.9", mfa=False,
                      success=False, region="eu-central-1"))
    window(management, login - timedelta(minutes=30), login + timedelta(hours=2), "CHG-1001",
           ["alice@example.com", "bob@example.com"], why="rotate root MFA device")
    removed = accounts.get("root-credentials-removed")
    if removed:
        at = now - 5 * day
        key = _key("ASIA", removed, "assume-root", at.isoformat())
        # the target as the member's principal ARN, one of the two forms AssumeRoot takes
        add(management, assume_root_call(management, at, f"arn:aws:iam::{removed}:root",
                                         "IAMDeleteRootUserCredentials", key, region="us-east-2"))
        add(removed, *(assume_root_action(removed, at + timedelta(seconds=40 * n), name, key, at)
                       for n, name in enumerate(["ListAccessKeys", "DeleteAccessKey", "DeactivateMFADevice",
                                                 "DeleteLoginProfile"], 1)))
        window(removed, at - timedelta(minutes=10), at + timedelta(hours=1), "CHG-1002",
               ["alice@example.com", "carol@example.com"], task="IAMDeleteRootUserCredentials",
               why="remove member root credentials")

    # root-access-key: a long-term root key, used 3 days ago in two regions, no approval (60 calls:
    # two pages of event history in us-east-1).
    keyed = accounts.get("root-access-key")
    if keyed:
        key = _key("AKIA", keyed, "root-key")
        at = now - 3 * day
        add(keyed, *(root_call(keyed, at + timedelta(seconds=20 * n), "GetObject" if n else "ListBuckets",
                               "s3.amazonaws.com", key=key, ip="198.51.100.77", read_only=True)
                     for n in range(60)),
            root_call(keyed, at + timedelta(minutes=30), "PutBucketPolicy", "s3.amazonaws.com",
                      region="eu-west-1", key=key, ip="198.51.100.77"))

    # virtual-mfa-only: failed sign-ins, password recovery, then an unapproved console session that
    # creates an access key.
    lone = accounts.get("virtual-mfa-only")
    if lone:
        login = now - 2 * day
        add(lone, *(console_login(lone, login - timedelta(minutes=30 - n), "203.0.113.50", success=False)
                    for n in range(3)),
            password_event(lone, login - timedelta(minutes=20), "203.0.113.50"),
            password_event(lone, login - timedelta(minutes=15), "203.0.113.50", "PasswordRecoveryCompleted"),
            console_login(lone, login, "203.0.113.50", mfa=True),
            root_call(lone, login + timedelta(minutes=3), "CreateAccessKey", console_login_at=login,
                      ip="203.0.113.50"),
            root_call(lone, login + timedelta(minutes=5), "CreateUser", console_login_at=login,
                      ip="203.0.113.50", error="AccessDenied"))

    # broken-alarm-chain: an approved console session inside its window.
    fine = accounts.get("broken-alarm-chain")
    if fine:
        login = now - 30 * day
        add(fine, console_login(fine, login, "198.51.100.30"),
            root_call(fine, login + timedelta(minutes=10), "PutAccountPasswordPolicy", console_login_at=login,
                      ip="198.51.100.30"))
        window(fine, login - timedelta(hours=1), login + timedelta(hours=1), "CHG-1003",
               ["dave@example.com", "erin@example.com"], why="close the account's support case")

    # outside-scp: a session whose approval has one approver and which outlasted it.
    short = accounts.get("outside-scp")
    if short:
        login = now - 7 * day
        add(short, console_login(short, login, "198.51.100.40"),
            root_call(short, login + timedelta(minutes=50), "UpdateAccountName", "account.amazonaws.com",
                      console_login_at=login, ip="198.51.100.40"))
        window(short, login - timedelta(minutes=5), login + timedelta(minutes=30), "CHG-1004",
               ["frank@example.com"], why="change the account name")
    return history, approvals
