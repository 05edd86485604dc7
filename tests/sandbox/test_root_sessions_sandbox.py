"""cloudtrail:LookupEvents in the sandbox (real request/response shapes, paging, throttling) and the
root-sessions filter end to end against it: every region read, throttled and denied regions named."""
import json
import os
from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest
import yaml
from c7n.config import Config
from c7n.policy import Policy
from c7n.utils import get_retry

from rootguard_filters.controls import root_sessions
from rootguard_filters.plumbing.base import VERDICTS_FILE
from rootguard_filters.plumbing.evidence import THROTTLING_CODES
from rootguard_filters.sandbox import history as h
from sandbox_helpers import MANAGEMENT, client

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def root_key_calls(n, start, region="us-east-1", key="AKIAQXZ7EXAMPLEROOT1"):
    return [h.root_call(MANAGEMENT, start + timedelta(seconds=n_), "ListBuckets", "s3.amazonaws.com",
                        key=key, region=region, read_only=True) for n_ in range(n)]


@pytest.fixture
def lookups(fresh, monkeypatch):
    """No botocore retries (the filter's own retry is what is tested), short backoff."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setattr(root_sessions, "lookup_retry", get_retry(THROTTLING_CODES, max_attempts=4, min_delay=0.05))
    return fresh


def lookup(sandbox, region="us-east-1", **params):
    return client(sandbox, "cloudtrail", region).lookup_events(**params)


ROOT = {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "root"}]}


def test_pages_of_50_newest_first_with_next_token(lookups):
    records = root_key_calls(120, NOW - timedelta(days=1))
    lookups.add_events(MANAGEMENT, "us-east-1", records)
    lookups.set_lookup_rate(0)
    pages, token = [], None
    while True:
        page = lookup(lookups, **ROOT, **({"NextToken": token} if token else {}))
        pages.append(page["Events"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [50, 50, 20]
    times = [e["EventTime"] for p in pages for e in p]
    assert times == sorted(times, reverse=True)
    first = pages[0][0]
    assert json.loads(first["CloudTrailEvent"]) == records[-1]
    assert first["Username"] == "root" and first["AccessKeyId"] == "AKIAQXZ7EXAMPLEROOT1"


def test_lookup_filters_and_rejections(lookups):
    lookups.set_lookup_rate(0)
    lookups.add_events(MANAGEMENT, "us-east-1", root_key_calls(3, NOW - timedelta(days=2))
                       + root_key_calls(2, NOW - timedelta(days=95))
                       + [h.assume_root_call(MANAGEMENT, NOW - timedelta(days=1), "444455556666",
                                             "IAMAuditRootUserCredentials", "ASIAQXZ7EXAMPLEAR00T")])
    assert len(lookup(lookups, **ROOT)["Events"]) == 3                 # 90 days kept, no more
    assert len(lookup(lookups, LookupAttributes=[{"AttributeKey": "EventName",
                                                  "AttributeValue": "AssumeRoot"}])["Events"]) == 1
    assert lookup(lookups, **ROOT, StartTime=NOW - timedelta(hours=1))["Events"] == []
    assert lookup(lookups, region="eu-west-1", **ROOT)["Events"] == []     # history is per region
    errors = {
        "InvalidLookupAttributesException": dict(LookupAttributes=ROOT["LookupAttributes"] * 2),
        "InvalidMaxResultsException": dict(MaxResults=51),
        "InvalidTimeRangeException": dict(StartTime=NOW, EndTime=NOW - timedelta(days=1)),
        "InvalidNextTokenException": dict(NextToken="bm90IGEgdG9rZW4="),
    }
    for code, params in errors.items():
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            lookup(lookups, **params)
        assert raised.value.response["Error"]["Code"] == code


def test_about_two_requests_per_second_then_throttling(lookups):
    statuses = []
    for _ in range(4):
        try:
            lookup(lookups, **ROOT)
            statuses.append("ok")
        except botocore.exceptions.ClientError as error:
            statuses.append(error.response["Error"]["Code"])
    assert statuses[:2] == ["ok", "ok"] and "ThrottlingException" in statuses[2:]
    assert lookup(lookups, region="eu-west-1", **ROOT)["Events"] == []   # another region has its own quota


def run(tmp_path, **options):
    data = {"name": "root-session-unapproved", "resource": "aws.account",
            "filters": [{"type": "root-sessions", **options}]}
    config = Config.empty(account_id=MANAGEMENT, region="us-east-1", output_dir=str(tmp_path))
    policy = Policy(data, config)
    policy.validate()
    policy.run()
    verdicts = json.loads((tmp_path / data["name"] / VERDICTS_FILE).read_text())["verdicts"]
    return verdicts[MANAGEMENT]["root-sessions"]


@pytest.fixture
def endpoint(lookups, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", lookups.endpoint_url)
    monkeypatch.delenv(root_sessions.APPROVALS_ENV, raising=False)
    return lookups


@pytest.fixture
def few_regions(endpoint, monkeypatch):
    """Three enabled regions (the full list is read in test_filter_reads_every_region_and_all_pages)."""
    from rootguard_filters.plumbing.evidence import Evidence
    monkeypatch.setattr(root_sessions.EventHistory, "regions",
                        lambda self: Evidence(value=["ap-south-1", "eu-west-1", "us-east-1"]))
    return endpoint


def approvals_file(tmp_path, *entries):
    path = tmp_path / "approvals.yml"
    path.write_text(yaml.safe_dump({"approvals": list(entries)}))
    return str(path)


def approval(start, end, **over):
    return {"account": MANAGEMENT, "start": start.isoformat(), "end": end.isoformat(), "ticket": "CHG-7",
            "justification": "break-glass", "approvers": ["alice", "bob"], **over}


def test_filter_reads_every_region_and_all_pages(endpoint, tmp_path):
    start = NOW - timedelta(days=3)
    endpoint.add_events(MANAGEMENT, "us-east-1", root_key_calls(75, start))
    endpoint.add_events(MANAGEMENT, "ap-southeast-2", root_key_calls(2, start + timedelta(minutes=5),
                                                                      region="ap-southeast-2"))
    endpoint.reset_calls()
    register = approvals_file(tmp_path, approval(start - timedelta(minutes=1), start + timedelta(hours=1)))
    verdict = run(tmp_path, approvals=register)
    assert verdict["status"] == "compliant", verdict["reason"]
    (session,) = verdict["details"]["sessions"]
    assert session["call_count"] == 77 and session["regions"] == ["ap-southeast-2", "us-east-1"]
    regions = [r["RegionName"] for r in client(endpoint, "ec2").describe_regions()["Regions"]]
    assert set(verdict["details"]["regions_read"]) == set(regions)
    calls = endpoint.calls()
    # one lookup per attribute per region, one more page in us-east-1
    assert calls[(MANAGEMENT, "cloudtrail", "LookupEvents")] == 2 * len(regions) + 1


def test_throttling_that_outlasts_retries_is_could_not_evaluate_naming_the_region(few_regions, tmp_path):
    few_regions.set_lookup_limit(MANAGEMENT, "eu-west-1", throttle_calls=1000)
    verdict = run(tmp_path)
    assert verdict["status"] == "could-not-evaluate"
    assert "eu-west-1" in verdict["reason"] and "ThrottlingException" in verdict["reason"]
    assert "eu-west-1" not in verdict["details"]["regions_read"]


def test_transient_throttling_is_retried(few_regions, tmp_path):
    few_regions.set_lookup_limit(MANAGEMENT, "eu-west-1", throttle_calls=2)
    verdict = run(tmp_path)
    assert verdict["status"] == "compliant", verdict["reason"]


def test_denied_region_is_could_not_evaluate_but_an_unapproved_session_elsewhere_still_flags(few_regions, tmp_path):
    few_regions.set_lookup_limit(MANAGEMENT, "ap-south-1", denied=True)
    verdict = run(tmp_path)
    assert verdict["status"] == "could-not-evaluate" and "ap-south-1" in verdict["reason"]
    assert "AccessDenied" in verdict["reason"]
    few_regions.add_events(MANAGEMENT, "us-east-1", [h.console_login(MANAGEMENT, NOW - timedelta(days=1), "198.51.100.9")])
    from rootguard_filters.plumbing import evidence
    evidence.reset()
    verdict = run(tmp_path)
    assert verdict["status"] == "non-compliant"
    assert "register" in verdict["reason"] and "ap-south-1" in verdict["reason"]


def test_register_from_s3_and_unreadable_registers(few_regions, tmp_path, monkeypatch):
    login = NOW - timedelta(days=1)
    few_regions.add_events(MANAGEMENT, "us-east-1", [h.console_login(MANAGEMENT, login, "198.51.100.9")])
    s3 = client(few_regions, "s3")
    s3.create_bucket(Bucket="break-glass")
    s3.put_object(Bucket="break-glass", Key="root.csv", Body=(
        "account,start,end,ticket,justification,approvers\n"
        f"{MANAGEMENT},{(login - timedelta(minutes=5)).isoformat()},{(login + timedelta(hours=1)).isoformat()},"
        "CHG-8,rotate,alice;bob\n"
        "bad,row\n").encode())
    verdict = run(tmp_path, approvals="s3://break-glass/root.csv")
    assert verdict["status"] == "compliant", verdict["reason"]
    assert verdict["details"]["register_problems"][0]["line"] == 3
    from rootguard_filters.plumbing import evidence
    for location in ("s3://break-glass/missing.csv", str(tmp_path / "nope.yml")):
        evidence.reset()
        verdict = run(tmp_path, approvals=location)
        assert verdict["status"] == "could-not-evaluate" and "register" in verdict["reason"], location
    evidence.reset()
    monkeypatch.setenv(root_sessions.APPROVALS_ENV, "s3://break-glass/root.csv")
    assert run(tmp_path)["status"] == "compliant"


def test_policy_permissions_name_what_the_filter_calls():
    data = {"name": "p", "resource": "aws.account",
            "filters": [{"type": "root-sessions", "approvals": "s3://b/k.yml"}]}
    perms = Policy(data, Config.empty(account_id=MANAGEMENT, region="us-east-1")).get_permissions()
    assert {"cloudtrail:LookupEvents", "ec2:DescribeRegions", "iam:ListOrganizationsFeatures",
            "s3:GetObject"} <= set(perms)


def run_as(tmp_path, account_id, **options):
    """root-sessions in ``account_id`` through its OrganizationAccountAccessRole (c7n assumes it)."""
    from c7n.utils import reset_session_cache
    reset_session_cache()       # as c7n-org does between accounts: c7n caches one session per thread
    data = {"name": f"root-sessions-{account_id}", "resource": "aws.account",
            "filters": [{"type": "root-sessions", **options}]}
    role = None if account_id == MANAGEMENT else f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    config = Config.empty(account_id=account_id, region="us-east-1", output_dir=str(tmp_path), assume_role=role)
    policy = Policy(data, config)
    policy.validate()
    policy.run()
    return json.loads((tmp_path / data["name"] / VERDICTS_FILE).read_text())["verdicts"][account_id]["root-sessions"]


def test_quiet_member_skips_assume_root_lookups_the_management_account_still_makes(endpoint, tmp_path):
    from sandbox_helpers import make_org
    (member, quiet) = make_org(endpoint, members=2)
    at = NOW - timedelta(days=2)
    key = "ASIAQXZ7EXAMPLEAR00T"
    # AssumeRoot from the management account into the member, its target given as the principal ARN
    endpoint.add_events(MANAGEMENT, "us-east-2", [h.assume_root_call(
        MANAGEMENT, at, f"arn:aws:iam::{member}:root", "IAMDeleteRootUserCredentials", key, region="us-east-2")])
    endpoint.add_events(member, "us-east-1", [h.assume_root_action(member, at + timedelta(seconds=30),
                                                                   "DeleteAccessKey", key, at)])
    register = approvals_file(tmp_path, {**approval(at - timedelta(minutes=5), at + timedelta(hours=1)),
                                         "account": member, "task": "IAMDeleteRootUserCredentials"})
    regions = [r["RegionName"] for r in client(endpoint, "ec2").describe_regions()["Regions"]]
    endpoint.reset_calls()

    verdict = run_as(tmp_path, quiet, approvals=register)
    calls = {(s, o): n for (a, s, o), n in endpoint.calls().items() if a == quiet}
    assert verdict["status"] == "compliant", verdict["reason"]
    assert verdict["details"]["assume_root_calls"]["read"] is False
    assert calls[("cloudtrail", "LookupEvents")] == len(regions)          # Username = root only
    filter_calls = calls[("cloudtrail", "LookupEvents")] + calls[("ec2", "DescribeRegions")] \
        + calls[("iam", "ListOrganizationsFeatures")]
    assert filter_calls <= 20, calls

    verdict = run_as(tmp_path, member, approvals=register)     # the member sees its side of the session
    assert verdict["status"] == "compliant", verdict["reason"]
    (session,) = verdict["details"]["sessions"]
    assert session["side"] == "member" and session["start_from"] == "credentials-created"

    endpoint.reset_calls()
    verdict = run_as(tmp_path, MANAGEMENT, approvals=register)
    assert verdict["details"]["assume_root_calls"]["read"] is True, verdict["details"]["assume_root_calls"]
    assert endpoint.calls()[(MANAGEMENT, "cloudtrail", "LookupEvents")] == 2 * len(regions)
    (session,) = verdict["details"]["sessions"]
    assert session["target_account"] == member and session["approval"]["status"] == "approved"

    # an account that cannot tell (the read is denied) looks AssumeRoot calls up anyway
    from rootguard_filters.plumbing import evidence
    evidence.reset()
    endpoint.set_denied(quiet, ["iam:ListOrganizationsFeatures"])
    endpoint.reset_calls()
    verdict = run_as(tmp_path, quiet, approvals=register)
    assert verdict["details"]["assume_root_calls"]["read"] is True and "AccessDenied" in \
        verdict["details"]["assume_root_calls"]["why"]
    assert endpoint.calls()[(quiet, "cloudtrail", "LookupEvents")] == 2 * len(regions)


def test_seeded_sandbox_command_exports_the_register_it_wrote(tmp_path):
    """The README's sandbox flow: what `rootguard sandbox --seed DIR` prints to export includes the register."""
    import subprocess
    import sys
    process = subprocess.Popen([sys.executable, "-m", "rootguard_filters.sandbox", "--seed", str(tmp_path / "org")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("Ctrl-C"):
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    exported = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export "))
    assert exported["ROOTGUARD_APPROVALS"] == str(tmp_path / "org" / "approvals.yml")
    assert "CHG-1001" in (tmp_path / "org" / "approvals.yml").read_text()
