"""Run-scoped AWS fetchers: each AWS call at most once per account per run, errors kept as evidence.

Filters never call boto3 themselves; they ask an :class:`AccountEvidence` for what they need. The
answers (data or the error that prevented it) live in :data:`RUN_CACHE` for the life of the process,
so five policies needing ``GetAccountSummary`` cost one call. Nothing is written to c7n's on-disk
cache, so a re-run in a new process always sees the current state. Long-lived processes (the Lambda
handler, tests) call :func:`reset` at the start of each run.

Reads go through the session c7n already holds for the account (``local_session``): no second
``sts:AssumeRole`` and no second botocore session per account. An account's evidence is released
when c7n lets go of that session (c7n-org resets its session cache after every account), so a
c7n-org worker's memory does not grow with the accounts it has processed. Evidence is keyed by
account id, so one process running several accounts (c7n-org workers, Lambda) never mixes them.

No decisions are made here: ``decide/`` turns evidence into verdicts.
"""
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone

import botocore.loaders
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from c7n.utils import get_partition, get_retry, local_session

from rootguard_filters.logic.credential_report import CredentialReportError, parse_credential_report

log = logging.getLogger("custodian.rootguard")

# Throttling codes retried with backoff on top of botocore's own retries.
THROTTLING_CODES = (
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "Client.RequestLimitExceeded",
)
retry = get_retry(THROTTLING_CODES, max_attempts=5)


@dataclass(frozen=True)
class Evidence:
    """The outcome of one AWS read: ``value`` when it worked, ``error`` (and its code) when not."""

    value: object = None
    error: str = None
    error_code: str = None

    @property
    def ok(self):
        return self.error is None

    @classmethod
    def failure(cls, error, code=None):
        return cls(error=error, error_code=code)


def describe_error(operation, error):
    """One line naming the failed call and why, for verdict reasons and logs."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        code = err.get("Code", "Unknown")
        return f"{operation} failed: {code}: {err.get('Message', '')}".rstrip(": "), code
    return f"{operation} failed: {type(error).__name__}: {error}", type(error).__name__


class RunCache:
    """Process-wide memo of evidence keyed by (account, region, what); one fetch per key.

    ``bind`` ties an account's entries to the c7n session they are read through: when c7n drops that
    session (garbage-collected after c7n-org's per-account ``reset_session_cache``), the account's
    entries go too. A later session for the same account replaces the binding, so the earlier
    session's end does not drop what the new one is reading.
    """

    def __init__(self):
        self._values = {}
        self._locks = {}
        self._bound = {}        # account id -> id() of the session its evidence is read through
        self._guard = threading.Lock()
        self.fetches = 0
        self.released = 0       # accounts whose evidence was released with their session

    def get(self, key, fetch):
        with self._guard:
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self.fetches += 1
                value = fetch()
                with self._guard:
                    self._values[key] = value
            return self._values[key]

    def forget(self, key):
        """Drop one entry: an action that changed AWS makes the next read fetch again."""
        with self._guard:
            self._values.pop(key, None)

    def forget_account(self, account_id):
        """Drop everything read from one account: after an action wrote there."""
        with self._guard:
            for key in [k for k in self._values if k[0] == account_id]:
                del self._values[key]

    def bind(self, account_id, session):
        """Release ``account_id``'s evidence when ``session`` (c7n's session for it) is collected."""
        token = id(session)
        with self._guard:
            if self._bound.get(account_id) == token:
                return
            self._bound[account_id] = token
        weakref.finalize(session, self._release, account_id, token)

    def _release(self, account_id, token):
        with self._guard:
            if self._bound.get(account_id) != token:
                return      # a newer session for this account is in use: keep its evidence
            del self._bound[account_id]
            for key in [k for k in self._values if k[0] == account_id]:
                del self._values[key]
                self._locks.pop(key, None)
            self.released += 1

    def accounts(self):
        """Accounts with evidence held (for tests and memory checks)."""
        with self._guard:
            return {k[0] for k in self._values}

    def __len__(self):
        return len(self._values)

    def clear(self):
        with self._guard:
            self._values.clear()
            self._locks.clear()
            self._bound.clear()
            self.fetches = 0
            self.released = 0


RUN_CACHE = RunCache()

# Clients the pack made, per c7n session: released with the session.
SESSION_CLIENTS = weakref.WeakKeyDictionary()

# One botocore model loader per process (and data path). A botocore session parses the JSON models of
# each service it makes a client for (~20-80 ms each, endpoints.json included); c7n-org makes a new
# session per account, so without sharing every account pays the parsing again.
_LOADERS = {}
_LOADERS_GUARD = threading.Lock()


def share_models(session):
    """Make ``session`` load service models through the process-wide loader (same files, parsed once).

    The models are read-only data from the same search path, so sharing changes nothing but speed.
    """
    core = getattr(session, "_session", None)
    if core is None or getattr(core, "_rootguard_shared_models", False):
        return
    try:
        data_path = core.get_config_variable("data_path")
    except Exception:  # pragma: no cover - a session without botocore's config chain
        return
    with _LOADERS_GUARD:
        loader = _LOADERS.get(data_path)
        if loader is None:
            loader = _LOADERS[data_path] = botocore.loaders.create_loader(data_path)
    core.register_component("data_loader", loader)
    core._rootguard_shared_models = True


def utcnow():
    """The run's clock (tests freeze it to replay recorded responses)."""
    return datetime.now(timezone.utc)


def reset():
    """Forget all evidence: the next filter evaluation reads AWS again."""
    RUN_CACHE.clear()


def guarded(operation, call, expected_codes=()):
    """Run ``call`` and return its result as Evidence; AWS and parsing errors become failures.

    ``expected_codes`` are errors that answer the question (e.g. "not the management account"):
    they are kept as evidence like any error but logged at debug level, not as warnings.
    """
    try:
        return Evidence(value=call())
    except (ClientError, BotoCoreError) as error:
        message, code = describe_error(operation, error)
        log.log(logging.DEBUG if code in expected_codes else logging.WARNING, "rootguard: %s", message)
        return Evidence.failure(message, code)
    except (CredentialReportError, ResponseParserError, ValueError, KeyError, TypeError) as error:
        # ResponseParserError (a truncated or garbled body) is no BotoCoreError: name it here.
        message = f"{operation}: unreadable response: {error}"
        log.warning("rootguard: %s", message)
        return Evidence.failure(message, "UnreadableResponse")


@dataclass(frozen=True)
class CredentialReport:
    rows: dict            # user name -> row dict (raw strings, as the report writes them)
    generated_time: datetime
    age_seconds: float
    regenerated: bool     # IAM wrote this report during this run, at our request
    stale: bool = False   # older than the caller's max age, and IAM would not (or could not) replace it
    refresh: str = "within max age: not regenerated"   # what happened when a newer one was asked for
    max_age_seconds: float = None

    def meta(self):
        """What a verdict's details say about the report."""
        return {"generated_time": self.generated_time.isoformat(), "age_seconds": int(self.age_seconds),
                "regenerated": self.regenerated, "stale": self.stale, "refresh": self.refresh,
                "max_age_seconds": self.max_age_seconds}


class AccountEvidence:
    """Root evidence for the account a c7n resource manager runs in."""

    # Longest wait between polls while IAM generates the credential report. A small account's report
    # is ready within a second or two: polls start at a quarter of this and double up to it.
    REPORT_POLL_SECONDS = 2

    def __init__(self, manager):
        self.manager = manager
        self.account_id = manager.config.account_id
        self.region = manager.config.region or "us-east-1"
        self.partition = get_partition(self.region)

    @property
    def root_arn(self):
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def _key(self, *what):
        return (self.account_id, *what)

    def session(self):
        """c7n's own session for this account and region (the one its resource query used)."""
        session = local_session(self.manager.session_factory)
        RUN_CACHE.bind(self.account_id, session)
        share_models(session)
        return session

    def client(self, service, region=None):
        """One client per session, service and region, kept on the session (it goes with it)."""
        session = self.session()
        region = region or self.region
        clients = SESSION_CLIENTS.setdefault(session, {})
        client = clients.get((service, region))
        if client is None:
            client = clients.setdefault((service, region), session.client(service, region_name=region))
        return client

    # ---- IAM --------------------------------------------------------------------------------------

    def account_summary(self):
        """``iam:GetAccountSummary`` SummaryMap."""
        def fetch():
            return guarded("iam:GetAccountSummary",
                           lambda: retry(self.client("iam").get_account_summary)["SummaryMap"])
        return RUN_CACHE.get(self._key("iam", "GetAccountSummary"), fetch)

    def assigned_virtual_mfa_devices(self):
        """Every assigned virtual MFA device of the account (root's is picked out by ``decide``)."""
        def fetch():
            def call():
                paginator = self.client("iam").get_paginator("list_virtual_mfa_devices")
                devices = []
                for page in paginator.paginate(AssignmentStatus="Assigned"):
                    # a required member: a page without it is unreadable, not "no devices"
                    devices.extend(page["VirtualMFADevices"])
                return devices
            return guarded("iam:ListVirtualMFADevices", lambda: retry(call))
        return RUN_CACHE.get(self._key("iam", "ListVirtualMFADevices"), fetch)

    def credential_report(self, max_age_seconds=4 * 3600, wait_seconds=60):
        """The parsed credential report, generated when absent, expired or older than ``max_age``.

        The first caller's ``max_age``/``wait`` win for the run: the report is fetched once.
        """
        def fetch():
            return self._fetch_credential_report(max_age_seconds, wait_seconds)
        return RUN_CACHE.get(self._key("iam", "CredentialReport"), fetch)

    def _fetch_credential_report(self, max_age_seconds, wait_seconds):
        """Read the report; ask IAM for a new one when there is none or it is older than max age.

        IAM writes a new report at most every four hours: asked sooner, GenerateCredentialReport
        answers COMPLETE and GetCredentialReport keeps returning the old one. That report is then
        used as it is and marked stale (never "regenerated"); so is one IAM could not be asked to
        replace (GenerateCredentialReport denied).
        """
        client = self.client("iam")
        deadline = time.monotonic() + wait_seconds
        asked = None          # GenerateCredentialReport's State once asked
        previous = None       # GeneratedTime of the report found too old
        refresh_error = None
        delay = self.REPORT_POLL_SECONDS / 4

        def pause():
            nonlocal delay
            time.sleep(delay)
            delay = min(delay * 2, self.REPORT_POLL_SECONDS)

        while True:
            try:
                response = retry(client.get_credential_report)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code in ("ReportNotPresent", "ReportExpired") and asked is None:
                    outcome = self._generate_report(client)
                    if not outcome.ok:
                        return outcome
                    asked = outcome.value
                    continue
                if code in ("ReportInProgress", "ReportNotPresent") and time.monotonic() < deadline:
                    pause()
                    continue
                message, code = describe_error("iam:GetCredentialReport", error)
                if code == "ReportInProgress":
                    message = f"credential report still being generated after {wait_seconds}s ({message})"
                log.warning("rootguard: %s", message)
                return Evidence.failure(message, code)
            except (BotoCoreError, ResponseParserError) as error:
                message, code = describe_error("iam:GetCredentialReport", error)
                log.warning("rootguard: %s", message)
                return Evidence.failure(message, code)

            generated_time = response.get("GeneratedTime")
            if not isinstance(generated_time, datetime):
                return Evidence.failure("iam:GetCredentialReport: response has no GeneratedTime",
                                        "UnreadableResponse")
            age = (utcnow() - generated_time).total_seconds()
            newer = previous is None or generated_time > previous
            if age > max_age_seconds and asked is None and refresh_error is None:
                previous = generated_time
                outcome = self._generate_report(client)
                if outcome.ok:
                    asked = outcome.value
                else:
                    refresh_error = outcome.error
                continue
            if (age > max_age_seconds and not newer and asked in ("STARTED", "INPROGRESS")
                    and time.monotonic() < deadline):
                pause()  # IAM is writing a new one; the old one is still served meanwhile
                continue
            try:
                rows = parse_credential_report(response.get("Content", b""))
            except CredentialReportError as error:
                message = f"iam:GetCredentialReport: unreadable report: {error}"
                log.warning("rootguard: %s", message)
                return Evidence.failure(message, "UnreadableReport")
            regenerated = asked is not None and newer
            return Evidence(value=CredentialReport(
                rows, generated_time, age, regenerated, stale=age > max_age_seconds,
                refresh=self._refresh_text(asked, regenerated, refresh_error, wait_seconds),
                max_age_seconds=max_age_seconds))

    @staticmethod
    def _refresh_text(asked, regenerated, refresh_error, wait_seconds):
        if refresh_error:
            return f"a new report could not be requested: {refresh_error}"
        if asked is None:
            return "within max age: not regenerated"
        if regenerated:
            return "regenerated in this run"
        if asked == "COMPLETE":
            return ("IAM returned the existing report (GenerateCredentialReport answered COMPLETE: "
                    "IAM writes a new report at most every four hours)")
        return f"IAM had not finished a new report after {wait_seconds}s; the existing one was used"

    def _generate_report(self, client):
        # State is a member of every real answer; without it nothing says a report is coming.
        # No wait here: GetCredentialReport answers ReportInProgress until the report is ready.
        return guarded("iam:GenerateCredentialReport",
                       lambda: retry(client.generate_credential_report)["State"])
