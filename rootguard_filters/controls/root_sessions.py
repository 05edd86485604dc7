"""Root sessions from CloudTrail event history, checked against the break-glass approvals register:
``root-sessions`` on ``aws.account``.

Reading (here): ``ec2:DescribeRegions`` lists the account's enabled regions (us-east-1, where root
console sign-ins are recorded, is always read); in each, ``cloudtrail:LookupEvents`` with
``Username = root``, and with ``EventName = AssumeRoot`` only where AssumeRoot can be called from
(the management account and the IAM delegated administrator: the accounts
``iam:ListOrganizationsFeatures`` answers, see ``decide.root_sessions.caller_lookup``), over the last
``days`` days, page by page (50 events a page). A quiet member costs 1 + 1 + one call per region.
Calls to one region are paced to CloudTrail's 2 requests per second and retried with backoff on
throttling; a region whose read still fails is named in a could-not-evaluate verdict, never read as
"no sessions".
Grouping (``decide/root_sessions.py``) and approval (``decide/approvals.py``) are pure.
"""
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from c7n.resources.account import Account
from c7n.utils import get_retry, type_schema

from rootguard_filters.plumbing.base import ANNOTATION_KEY, RootguardFilter, record_verdict, write_verdicts
from rootguard_filters.decide.approvals import (
    APPROVED, RegisterError, approval_for, decide_root_sessions, parse_register)
from rootguard_filters.controls.centralized_root import organizations_features
from rootguard_filters.decide.root_sessions import caller_lookup, group_sessions
from rootguard_filters.plumbing.options import option_problem, report_once
from rootguard_filters.plumbing.evidence import (
    RUN_CACHE, THROTTLING_CODES, AccountEvidence, Evidence, describe_error, guarded, retry, utcnow)
from rootguard_filters.verdict import COMPLIANT, compliant, could_not_evaluate, non_compliant, not_applicable

log = logging.getLogger("custodian.rootguard")

APPROVALS_ENV = "ROOTGUARD_APPROVALS"
SIGNIN_REGION = "us-east-1"       # root console sign-in is recorded here whatever the console region
MAX_DAYS = 90                     # event history keeps 90 days
ROOT_LOOKUP = ("Username", "root")
CALLER_LOOKUP = ("EventName", "AssumeRoot")   # the management account's / delegated admin's calls into members
LOOKUP_RATE = 2.0                 # LookupEvents requests per second per account and region
# Retries on top of botocore's own; tests shorten the delays.
lookup_retry = get_retry(THROTTLING_CODES, max_attempts=5)


class _Pacer:
    """A token bucket per (account, region): at most ``rate`` calls a second, bursts of ``rate``."""

    def __init__(self, rate):
        self.rate = rate
        self._buckets = {}
        self._lock = threading.Lock()

    def wait(self, key):
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (self.rate, now))
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            delay = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 + delay * self.rate, now + delay)
        if delay:
            time.sleep(delay)


# A little under the quota: the server's clock and ours disagree by the request's transit time.
PACER = _Pacer(LOOKUP_RATE * 0.9)
# Regions are read concurrently (each has its own quota); calls within a region stay paced.
REGION_WORKERS = 4


class EventHistory:
    """An account's CloudTrail event history, region by region, each read once per run."""

    def __init__(self, manager):
        self.evidence = AccountEvidence(manager)
        self.account_id = self.evidence.account_id

    def regions(self):
        """Evidence of the account's enabled region names (``ec2:DescribeRegions``' default answer)."""
        def fetch():
            return guarded("ec2:DescribeRegions", lambda: sorted(
                r["RegionName"] for r in retry(self.evidence.client("ec2").describe_regions)["Regions"]))
        return RUN_CACHE.get((self.account_id, "ec2", "DescribeRegions"), fetch)

    def lookup(self, region, key, value, days):
        """Evidence of the CloudTrail records matching one lookup attribute in one region."""
        def fetch():
            return guarded(f"cloudtrail:LookupEvents ({region})",
                           lambda: self._lookup(region, key, value, days))
        return RUN_CACHE.get((self.account_id, region, "LookupEvents", key, value, days), fetch)

    def _lookup(self, region, key, value, days):
        client = self.evidence.client("cloudtrail", region)
        end = utcnow()
        params = {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}],
                  "StartTime": end - timedelta(days=days), "EndTime": end, "MaxResults": 50}
        records = []
        while True:
            PACER.wait((self.account_id, region))
            page = lookup_retry(client.lookup_events, **params)
            for event in page["Events"]:
                # CloudTrailEvent is the whole record as a JSON string: a bad one is unreadable, not skipped
                records.append(json.loads(event["CloudTrailEvent"]))
            token = page.get("NextToken")
            if not token:
                return records
            params["NextToken"] = token


def load_register(location, evidence):
    """Evidence of a parsed register from a local path or an ``s3://bucket/key`` URL."""
    def fetch():
        try:
            if location.startswith("s3://"):
                url = urlparse(location)
                body = retry(evidence.client("s3").get_object, Bucket=url.netloc,
                             Key=url.path.lstrip("/"))["Body"].read()
            else:
                with open(os.path.expanduser(location), "rb") as fh:
                    body = fh.read()
            return Evidence(value=parse_register(body, location))
        except (ClientError, BotoCoreError) as error:
            message, code = describe_error(f"s3:GetObject {location}", error)
            return Evidence.failure(message, code)
        except OSError as error:
            return Evidence.failure(f"{location}: {error.strerror or error}", "Unreadable")
        except RegisterError as error:
            return Evidence.failure(str(error), "UnreadableRegister")
    return RUN_CACHE.get((evidence.account_id, "approvals", location), fetch)


def read_history(manager, days, callers=True):
    """(records, regions read, {region: error}) of root activity in every enabled region; ``callers``:
    look up AssumeRoot calls too."""
    lookups = (ROOT_LOOKUP, CALLER_LOOKUP) if callers else (ROOT_LOOKUP,)
    history = EventHistory(manager)
    listed = history.regions()
    failed = {}
    if listed.ok:
        regions = sorted(set(listed.value) | {SIGNIN_REGION})
    else:
        regions = [SIGNIN_REGION]
        failed["(region list)"] = listed.error
    for region in regions:
        history.evidence.client("cloudtrail", region)   # boto3 sessions make clients one thread at a time

    def read_region(region):
        return [history.lookup(region, key, value, days) for key, value in lookups]

    with ThreadPoolExecutor(max_workers=REGION_WORKERS) as pool:
        by_region = dict(zip(regions, pool.map(read_region, regions)))
    records, read = [], []
    for region in regions:
        outcomes = by_region[region]
        errors = [o.error for o in outcomes if not o.ok]
        if errors:
            failed[region] = "; ".join(errors)
        else:
            read.append(region)
        for outcome in outcomes:
            if outcome.ok:
                records.extend(outcome.value)
    return records, read, failed


@Account.filter_registry.register("root-sessions")
class RootSessions(RootguardFilter):
    """Flags accounts whose root user had a session no approval in the break-glass register covers
    (``match: unapproved``, the default), or any root activity at all (``match: any``).

    ``sts:AssumeRoot`` calls are looked up only where they can be made: the management account and
    the IAM delegated administrator for centralized root access, the accounts
    ``iam:ListOrganizationsFeatures`` answers (any other gets
    ``AccountNotManagementOrDelegatedAdministratorException``; any other error looks them up anyway).
    The member's side of a privileged session is root activity in the member and is always read.
    ``assume-root-calls: always`` looks them up everywhere (say, for an account that was delegated
    administrator earlier in the window).

    Reads the last ``days`` days (at most 90) of CloudTrail event history in every enabled region and
    groups root activity into sessions: console sign-ins with the calls that follow, long-term access
    key use per key, and AssumeRoot privileged sessions (in the member, and the management account's
    ``sts:AssumeRoot`` calls with their task policy). Each session carries its start, end, duration,
    source IPs, user agents, MFA use, calls by name, errors, AccessDenied and credential changes;
    failed root sign-ins and password recovery are listed even without a session.

    ``approvals`` (or the ``ROOTGUARD_APPROVALS`` environment variable) is the register: a YAML or
    CSV file path or an ``s3://bucket/key`` URL. An approval covers a session when its account
    matches (for an AssumeRoot call: the target account), the session starts and ends inside its
    window, it names a ticket, a justification and two distinct approvers, and, when it names a
    root ``task``, the session is an AssumeRoot session with that task (or, in the member where the
    task is not recorded, made only calls that task permits). Without a register every session is
    unapproved; an unreadable register, or a region whose history cannot be read, makes the verdict
    could-not-evaluate (unless an unapproved session was found elsewhere).

    :example:

    .. code-block:: yaml

        policies:
          - name: root-session-unapproved
            resource: aws.account
            filters:
              - type: root-sessions
                days: 30
                approvals: s3://security-registers/root-approvals.yaml
    """

    schema = type_schema(
        "root-sessions",
        days={"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        approvals={"type": "string", "minLength": 1},
        match={"enum": ["unapproved", "any"]},
        **{"assume-root-calls": {"enum": ["auto", "always"]}})
    schema_alias = False
    permissions = ("ec2:DescribeRegions", "cloudtrail:LookupEvents", "iam:ListOrganizationsFeatures")

    def get_permissions(self):
        location = register_location(self.data.get("approvals")) or ""
        return self.permissions + (("s3:GetObject",) if location.startswith("s3://") else ())

    def verdict(self, resource):
        days = int(self.data.get("days", MAX_DAYS))
        match = self.data.get("match", "unapproved")
        always = self.data.get("assume-root-calls", "auto") == "always"
        if always:
            callers = caller_lookup(True, always=True)
        else:
            features = organizations_features(AccountEvidence(self.manager))
            callers = caller_lookup(features.ok, features.error_code, features.error)
        since = utcnow() - timedelta(days=days)
        records, read, failed = read_history(self.manager, days, callers["read"])
        account_id = self.manager.config.account_id
        history = group_sessions(records, account_id)
        location = register_location(self.data.get("approvals"))
        register, register_error = None, None
        if location and match == "unapproved":
            outcome = load_register(location, AccountEvidence(self.manager))
            if outcome.ok:
                register = outcome.value
            else:
                register_error = outcome.error
        return decide_root_sessions(account_id, history, register, days, read, failed,
                                    register_error=register_error, match=match, since=since,
                                    caller_lookup=callers)


def register_location(configured):
    """The register named by the option or ROOTGUARD_APPROVALS; an unexpanded ``{var}`` names none."""
    location = configured or os.environ.get(APPROVALS_ENV) or ""
    if location.startswith("{") and location.endswith("}"):
        return None      # a c7n-org/deploy variable nobody set
    return location or None


@Account.filter_registry.register("root-signin-approval")
class RootSigninApproval(RootguardFilter):
    """For real-time (cloudtrail mode) root events: annotates the account with the break-glass
    approval that covers the event's session — approved with its ticket, unapproved with the reason,
    could-not-evaluate when the register cannot be read — so the alert can say so.

    Without ``approved`` every resource passes (the alert is sent either way, carrying the answer);
    ``approved: false`` keeps only unapproved sign-ins, ``approved: true`` only approved ones.
    ``approvals`` (or ``ROOTGUARD_APPROVALS``) names the register as for ``root-sessions``; in Lambda
    use a CSV register (the archive carries no PyYAML) and grant the function ``s3:GetObject`` on it.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-console-signin
            resource: aws.account
            mode:
              type: cloudtrail
              events:
                - {source: signin.amazonaws.com, event: ConsoleLogin, ids: recipientAccountId}
            filters:
              - type: root-signin-approval
                approvals: s3://security-registers/root-approvals.csv
    """

    schema = type_schema("root-signin-approval", approvals={"type": "string", "minLength": 1},
                         approved={"type": "boolean"})
    schema_alias = False
    permissions = ()

    def get_permissions(self):
        location = register_location(self.data.get("approvals")) or ""
        return ("s3:GetObject",) if location.startswith("s3://") else ()

    def process(self, resources, event=None):
        self.event = event
        kept = []
        problem = option_problem(self)
        if problem:
            report_once(self, problem, f"{len(resources)} resource(s) could not be evaluated")
        for resource in resources:
            verdict = could_not_evaluate(f"{self.type}: {problem}") if problem else self.safe_verdict(resource)
            resource.setdefault(ANNOTATION_KEY, {})[self.type] = verdict.as_dict()
            record_verdict(self.manager, self.resource_id(resource), self.type, verdict)
            wanted = self.data.get("approved")
            if wanted is None or (verdict.status == COMPLIANT) == wanted:
                kept.append(resource)
        write_verdicts(self.manager)
        return kept

    def safe_verdict(self, resource):
        try:
            return self.verdict(resource)
        except Exception as error:  # the alert must still go out
            log.exception("rootguard: %s failed", self.type)
            return could_not_evaluate(f"{self.type} failed: {type(error).__name__}: {error}")

    def verdict(self, resource):
        detail = (getattr(self, "event", None) or {}).get("detail")
        if not isinstance(detail, dict):
            return could_not_evaluate("no CloudTrail event: root-signin-approval runs in cloudtrail mode")
        account_id = str(detail.get("recipientAccountId") or self.manager.config.account_id)
        history = group_sessions([detail], account_id)
        if not history.sessions:
            what = detail.get("eventName")
            return not_applicable(f"{what} opened no root session (failed sign-in, or not a root event)")
        session = history.sessions[0]
        location = register_location(self.data.get("approvals"))
        register = None
        if location:
            outcome = load_register(location, AccountEvidence(self.manager))
            if not outcome.ok:
                return could_not_evaluate(f"approvals register unreadable: {outcome.error}")
            register = outcome.value
        result = approval_for(session, account_id, register)
        ticket = (result["approval"] or {}).get("ticket")
        details = {"approval": result, "ticket": ticket, "session": session.as_dict()}
        if result["status"] == APPROVED:
            return compliant(result["reason"], **details)
        return non_compliant(result["reason"], **details)
