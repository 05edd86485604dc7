"""Seed a sandbox with an AWS organization whose accounts each show one root-user posture."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import yaml

from rootguard_filters.sandbox.history import seeded_history
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, ControlClient

MANAGEMENT_ACCOUNT_ID = "123456789012"  # moto's default account, the caller with fake credentials
REGION = "us-east-1"
MEMBER_ROLE = "OrganizationAccountAccessRole"   # what the seed itself uses to reach members
# The audit role of the same name in every account, as iam/stackset-audit-role.yml makes it (a
# StackSet in the members, a stack in the management account): accounts.yml names it for c7n-org,
# and root-usage-alarm reads an organization trail's chain through the management account's copy.
AUDIT_ROLE = "rootguard-audit"
MANAGEMENT_ROLE = AUDIT_ROLE
ORGANIZATION_TRAIL = "organization-trail"
ORGANIZATION_LOG_GROUP = "aws-cloudtrail-logs-organization"
ROOT_USAGE_PATTERN = '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
DENY_ROOT_SCP = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "DenyRootUser",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
            "Null": {"aws:AssumedRoot": "true"},  # lets AssumeRoot sessions through
        },
    }],
}
# AWS attaches AdministratorAccess to OrganizationAccountAccessRole; moto creates the role without it
# (and loads no AWS managed policies), so the seed gives it the same allow inline.
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# OU paths; the deny-root SCP is attached to the top-level OUs listed in SCP_TARGETS only.
OU_PATHS = ["Security", "Workloads", "Workloads/Prod", "Workloads/Dev", "Sandbox", "Exceptions"]
SCP_TARGETS = ["Security", "Workloads", "Sandbox"]
POSTURE_OU = {
    "compliant": "Security",
    "root-access-key": "Workloads/Prod",
    "virtual-mfa-only": "Workloads/Dev",
    "broken-alarm-chain": "Workloads/Prod",
    "outside-scp": "Exceptions",
    "root-credentials-removed": "Workloads/Dev",
    "unassumable": "Sandbox",
}
POSTURES = list(POSTURE_OU)
# Postures generated accounts cycle through (root facts only: no per-account resources at that scale).
SIZE_POSTURES = ["compliant", "root-access-key", "virtual-mfa-only", "root-credentials-removed"]


def root_facts_for(posture: str, now: datetime) -> dict[str, Any]:
    """Root facts (control-API JSON) for a posture."""
    facts: dict[str, Any] = {
        "password_present": True, "password_last_used": now - timedelta(days=200),
        "mfa_devices": ["hardware"], "access_keys": [], "signing_certificates": [],
        "user_creation_time": now - timedelta(days=1000),
        "contact_information": {"FullName": "Cloud Platform Team", "AddressLine1": "1 Example Way",
                                "City": "Seattle", "StateOrRegion": "WA", "PostalCode": "98101",
                                "CountryCode": "US", "PhoneNumber": "+12065550100",
                                "CompanyName": "Example Corp"},
    }
    if posture == "root-access-key":
        facts["access_keys"] = [
            {"active": True, "last_used": now - timedelta(days=3), "last_rotated": now - timedelta(days=400),
             "last_used_region": REGION, "last_used_service": "s3"},
            {"active": False, "last_used": None, "last_rotated": now - timedelta(days=500)},
        ]
    elif posture == "virtual-mfa-only":
        facts["mfa_devices"] = ["virtual"]
    elif posture == "root-credentials-removed":
        facts.update(password_present=False, password_last_used=None, mfa_devices=[])
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in facts.items()}


class _Seeder:
    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url
        self.control = ControlClient(endpoint_url)
        self.base = boto3.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                  aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                  region_name=REGION)
        self.org = self.client("organizations")
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def client(self, service: str, creds: dict[str, str] | None = None) -> Any:
        # One session for every client: a new Session per account would re-load each service model.
        return self.base.client(service, endpoint_url=self.endpoint_url, **(creds or {}))

    def member_creds(self, account_id: str) -> dict[str, str]:
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}", RoleSessionName="rootguard-seed")["Credentials"]
        return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}

    def organization(self) -> tuple[str, str]:
        org_id = self.org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = self.org.list_roots()["Roots"][0]["Id"]
        for principal in ("iam.amazonaws.com", "account.amazonaws.com"):
            self.org.enable_aws_service_access(ServicePrincipal=principal)
        try:
            self.org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        except self.org.exceptions.PolicyTypeAlreadyEnabledException:
            pass
        return org_id, root_id

    def ou_tree(self, root_id: str, paths: list[str]) -> dict[str, str]:
        ids = {"": root_id}
        for path in paths:
            parent, _, name = path.rpartition("/")
            ids[path] = self.org.create_organizational_unit(ParentId=ids[parent], Name=name)["OrganizationalUnit"]["Id"]
        return ids

    def deny_root_scp(self, targets: list[str]) -> str:
        policy_id = self.org.create_policy(
            Name="DenyRootUser", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(DENY_ROOT_SCP),
            Description="Deny the root user except AssumeRoot sessions (AWS reference policy)")["Policy"]["PolicySummary"]["Id"]
        for target in targets:
            self.org.attach_policy(PolicyId=policy_id, TargetId=target)
        return policy_id

    def account(self, name: str, parent_id: str, root_id: str) -> str:
        status = self.org.create_account(AccountName=name, Email=f"aws+{name}@example.com",
                                         RoleName=MEMBER_ROLE)["CreateAccountStatus"]
        account_id = status["AccountId"]
        self.org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=parent_id)
        return account_id

    def audit_role(self, creds: dict[str, str] | None) -> None:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:root"}}]}
        self.client("iam", creds).create_role(RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=json.dumps(trust))

    def alarm_chain(self, creds: dict[str, str] | None, account_id: str, confirmed: bool,
                    organization: bool = False) -> None:
        """Multi-region trail -> log group -> CIS metric filter -> alarm -> SNS topic -> subscription.

        ``organization``: the trail is the organization trail (management account only), which every
        member's DescribeTrails then lists (the sandbox's fill-in, as AWS shows it)."""
        name = ORGANIZATION_TRAIL if organization else "management-events"
        bucket = f"cloudtrail-{account_id}"
        group = ORGANIZATION_LOG_GROUP if organization else "aws-cloudtrail-logs-root-usage"
        self.client("s3", creds).create_bucket(Bucket=bucket)
        logs = self.client("logs", creds)
        logs.create_log_group(logGroupName=group)
        trail = self.client("cloudtrail", creds)
        trail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True,
                           IncludeGlobalServiceEvents=True, IsOrganizationTrail=organization,
                           CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{account_id}:log-group:{group}:*",
                           CloudWatchLogsRoleArn=f"arn:aws:iam::{account_id}:role/CloudTrailToCloudWatchLogs")
        trail.put_event_selectors(TrailName=name, EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True}])
        trail.start_logging(Name=name)
        logs.put_metric_filter(logGroupName=group, filterName="RootAccountUsage", filterPattern=ROOT_USAGE_PATTERN,
                               metricTransformations=[{"metricName": "RootAccountUsageCount",
                                                       "metricNamespace": "CISBenchmark", "metricValue": "1"}])
        sns = self.client("sns", creds)
        topic = sns.create_topic(Name="root-usage-alarms")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security@example.com")
        if confirmed:
            self.control.confirm_subscription(account_id, topic, "security@example.com")
        self.client("cloudwatch", creds).put_metric_alarm(
            AlarmName="root-account-usage", MetricName="RootAccountUsageCount", Namespace="CISBenchmark",
            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic], TreatMissingData="notBreaching")

    def admin_path(self, creds: dict[str, str] | None, admin_user_without_mfa: bool) -> None:
        iam = self.client("iam", creds)
        iam.put_role_policy(RoleName=MEMBER_ROLE, PolicyName="AdministratorAccess",
                            PolicyDocument=json.dumps(ADMIN_POLICY))
        if admin_user_without_mfa:  # a console administrator without MFA (admin-users-without-mfa)
            iam.create_group(GroupName="Admins")
            iam.put_group_policy(GroupName="Admins", PolicyName="AdministratorAccess",
                                 PolicyDocument=json.dumps(ADMIN_POLICY))
            iam.create_user(UserName="ops-admin")
            iam.add_user_to_group(GroupName="Admins", UserName="ops-admin")
            iam.create_login_profile(UserName="ops-admin", Password="Sandbox-Only-Password-1!")

    def contacts(self, creds: dict[str, str] | None) -> None:
        account = self.client("account", creds)
        for kind in ("SECURITY", "OPERATIONS", "BILLING"):
            account.put_alternate_contact(AlternateContactType=kind, Name=f"{kind.title()} Team",
                                          Title=f"{kind.title()} Lead", EmailAddress=f"{kind.lower()}@example.com",
                                          PhoneNumber="+12065550100")

    def management(self) -> None:
        self.audit_role(None)
        iam = self.client("iam")
        iam.enable_organizations_root_credentials_management()
        iam.enable_organizations_root_sessions()
        self.alarm_chain(None, MANAGEMENT_ACCOUNT_ID, confirmed=True, organization=True)
        self.contacts(None)


def _iso_z(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Dumper(yaml.SafeDumper):
    """Quotes every string, so account ids like 012345678901 stay strings for any YAML reader."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'"))


def _entry(account_id: str, name: str, posture: str, ou_path: str) -> dict[str, Any]:
    return {"account_id": account_id, "name": name, "role": f"arn:aws:iam::{account_id}:role/{AUDIT_ROLE}",
            "regions": [REGION], "tags": [f"posture:{posture}", f"ou:{ou_path}"]}


def seed_organization(endpoint_url: str, out_dir: str, members: list[str] | None = None,
                      size: int | None = None) -> dict[str, Any]:
    """Seed the sandbox at endpoint_url; write accounts.yml (c7n-org) and expected.json to out_dir.

    members: postures to create (default: one account per posture in POSTURES; repeats get -2, -3 names).
    size: instead, N generated member accounts over two levels of OUs, root facts only (fast).
    The management account owns the organization trail and its complete alarm chain; members rely on it
    (their only trail), except "broken-alarm-chain", which also has its own chain, broken (pending
    subscription). Every account has the audit role AUDIT_ROLE that accounts.yml names.
    Returns {organization_id, management_account_id, root_id, scp_policy_id, ous, accounts, accounts_yml,
    expected_json, approvals}; accounts maps account id -> {name, posture, ou_path, scp_covered, assumable, alarm_chain,
    alarm_chain_via}: alarm_chain says whether a complete chain covers the account, alarm_chain_via
    whose ("organization" or "own").
    """
    seeder = _Seeder(endpoint_url)
    org_id, root_id = seeder.organization()
    if size is None:
        paths = OU_PATHS
    else:
        tops = ["Security", "Workloads", "Sandbox", "Exceptions"]
        paths = tops + [f"{top}/Team{n}" for top in tops for n in range(1, 5)]
    ous = seeder.ou_tree(root_id, paths)
    scp_id = seeder.deny_root_scp([ous[p] for p in SCP_TARGETS if p in ous])
    seeder.management()

    accounts: dict[str, dict[str, Any]] = {MANAGEMENT_ACCOUNT_ID: {
        "name": "management", "posture": "management", "ou_path": "Root", "scp_covered": False,
        "assumable": True, "alarm_chain": True, "alarm_chain_via": "own"}}
    facts = {MANAGEMENT_ACCOUNT_ID: root_facts_for("compliant", seeder.now)}
    if size is None:
        seen: dict[str, int] = {}
        plan = []
        for posture in members or POSTURES:
            if posture not in POSTURE_OU:
                raise ValueError(f"unknown posture {posture!r}; choose from {POSTURES}")
            seen[posture] = seen.get(posture, 0) + 1
            plan.append((posture if seen[posture] == 1 else f"{posture}-{seen[posture]}", POSTURE_OU[posture], posture))

        def member(item: tuple[str, str, str]) -> str:
            name, path, posture = item
            account_id = seeder.account(name, ous[path], root_id)
            creds = seeder.member_creds(account_id)
            seeder.audit_role(creds)
            if posture == "broken-alarm-chain":   # its own chain, beside the organization trail
                seeder.alarm_chain(creds, account_id, confirmed=False)
            seeder.contacts(creds)
            seeder.admin_path(creds, admin_user_without_mfa=posture == "broken-alarm-chain")
            return account_id

        with ThreadPoolExecutor(max_workers=8) as pool:  # accounts are independent; the server is threaded
            ids = list(pool.map(member, plan))
        for account_id, (name, path, posture) in zip(ids, plan):
            facts[account_id] = root_facts_for(posture, seeder.now)
            accounts[account_id] = {"name": name, "posture": posture, "ou_path": f"Root/{path}",
                                    "scp_covered": path.split("/")[0] in SCP_TARGETS,
                                    "assumable": posture != "unassumable", "alarm_chain": True,
                                    "alarm_chain_via": "organization"}
    else:
        leaves = [p for p in paths if "/" in p]
        plan = [(f"member-{n + 1:04d}", leaves[n % len(leaves)], SIZE_POSTURES[n % len(SIZE_POSTURES)])
                for n in range(size)]
        # Calls overlap on the threaded server; account ids come back in plan order.
        with ThreadPoolExecutor(max_workers=8) as pool:
            def generated(item: tuple[str, str, str]) -> str:
                account_id = seeder.account(item[0], ous[item[1]], root_id)
                seeder.audit_role(seeder.member_creds(account_id))
                return account_id
            ids = list(pool.map(generated, plan))
        for account_id, (name, path, posture) in zip(ids, plan):
            facts[account_id] = root_facts_for(posture, seeder.now)
            accounts[account_id] = {"name": name, "posture": posture, "ou_path": f"Root/{path}",
                                    "scp_covered": path.split("/")[0] in SCP_TARGETS,
                                    "assumable": True, "alarm_chain": True, "alarm_chain_via": "organization"}
    seeder.control.bulk_root_facts(facts)
    for account_id, info in accounts.items():
        if not info["assumable"]:
            seeder.control.set_unassumable(account_id)
    # Root activity in CloudTrail event history, and the break-glass register that approves part of it.
    by_posture = {info["posture"]: a for a, info in accounts.items() if info["posture"] in POSTURE_OU}
    history, approvals = seeded_history(by_posture, MANAGEMENT_ACCOUNT_ID, seeder.now)
    for account_id, by_region in history.items():
        seeder.control.add_events(account_id, by_region)

    os.makedirs(out_dir, exist_ok=True)
    accounts_yml = os.path.join(out_dir, "accounts.yml")
    expected_json = os.path.join(out_dir, "expected.json")
    approvals_yml = os.path.join(out_dir, "approvals.yml")
    with open(approvals_yml, "w") as fh:
        fh.write("# Break-glass approvals register (rootguard root-sessions): one entry per approved root use.\n")
        # The last entry is malformed on purpose: the report lists it with its line number.
        bad = {"account": "12345", "start": "last tuesday", "end": _iso_z(seeder.now), "ticket": "CHG-0000",
               "justification": "typo", "approvers": ["alice@example.com", "bob@example.com"]}
        yaml.dump({"approvals": approvals + [bad]}, fh, Dumper=_Dumper, sort_keys=False)
    entries = [_entry(a, i["name"], i["posture"], i["ou_path"]) for a, i in accounts.items()]
    with open(accounts_yml, "w") as fh:
        yaml.dump({"accounts": entries}, fh, Dumper=_Dumper, sort_keys=False)
    with open(expected_json, "w") as fh:
        json.dump(accounts, fh, indent=1, sort_keys=True)
    return {"organization_id": org_id, "management_account_id": MANAGEMENT_ACCOUNT_ID, "root_id": root_id,
            "scp_policy_id": scp_id, "ous": {f"Root/{p}": i for p, i in ous.items() if p},
            "accounts": accounts, "accounts_yml": accounts_yml, "expected_json": expected_json,
            "approvals": approvals_yml}
