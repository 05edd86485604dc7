"""WSGI middleware in front of moto that answers what moto lacks about the root user.

Tested with moto 5.2.1 (and botocore's service models shipped beside it). It reaches into moto's
in-process backends (iam, sns, organizations, cloudtrail) and serializer, so pin moto when upgrading.

Every request is counted by (account_id, service, operation); requests the fill-ins don't answer are
forwarded to moto unchanged. Responses are produced by moto's own serializer from botocore's models,
so boto3 parses them exactly like real AWS answers.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import parse_qsl

from moto.cloudtrail.models import cloudtrail_backends
from moto.core.errors import ErrorShape
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.iam.models import get_account_id_from, iam_backends
from moto.logs.models import logs_backends
from moto.organizations.models import FakeServiceAccess, organizations_backends
from moto.sns.models import sns_backends
from werkzeug.wrappers import Response

UTC = timezone.utc

# Trusted access for IAM (centralized root access, Nov 2024) is missing from moto's list of services.
if "iam.amazonaws.com" not in FakeServiceAccess.TRUSTED_SERVICES:
    FakeServiceAccess.TRUSTED_SERVICES.append("iam.amazonaws.com")
CONTROL_PREFIX = "/_rootguard/"
MFA_KINDS = ("virtual", "hardware", "passkey")
PENDING_PROTOCOLS = {"email", "email-json", "http", "https"}
REPORT_COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated"
).split(",")

_READ_ROOT = {"GetUser", "GetLoginProfile", "ListAccessKeys", "GetAccessKeyLastUsed",
              "ListSigningCertificates", "ListMFADevices", "GetAccountSummary"}
# AWS managed root-task policies (arn:aws:iam::aws:policy/root-task/<name>) -> iam actions they allow.
ROOT_TASKS: dict[str, set[str]] = {
    "IAMAuditRootUserCredentials": _READ_ROOT,
    "IAMDeleteRootUserCredentials": _READ_ROOT | {"DeleteLoginProfile", "DeleteAccessKey",
                                                  "DeleteSigningCertificate", "DeactivateMFADevice"},
    "IAMCreateRootUserPassword": {"GetUser", "GetLoginProfile", "CreateLoginProfile"},
    "S3UnlockBucketPolicy": set(),
    "SQSUnlockQueuePolicy": set(),
}
ROOT_TASK_ARN_PREFIX = "arn:aws:iam::aws:policy/root-task/"
# SigV4 signing names that differ from botocore's service names.
SIGNING_TO_SERVICE = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions",
                      "execute-api": "apigateway", "eventbridge": "events"}


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    """The credential report's timestamp format, e.g. 2026-01-02T03:04:05+00:00."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _stable_id(prefix: str, *parts: object, length: int = 16, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") -> str:
    # Deterministic ids keep seeded organizations and test expectations repeatable.
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return prefix + "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def jsonable(value: Any) -> Any:
    """value with datetimes turned into ISO-8601 strings, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


@dataclass
class RootFacts:
    """What AWS knows about one account's root user.

    access_keys: [{active, last_used, last_rotated}] (optional id, last_used_region, last_used_service);
    signing_certificates: [{active}] (optional id, uploaded); mfa_devices: kinds in MFA_KINDS.
    """

    password_present: bool = True
    password_last_used: datetime | None = None
    mfa_devices: list[str] = field(default_factory=list)
    access_keys: list[dict[str, Any]] = field(default_factory=list)
    signing_certificates: list[dict[str, Any]] = field(default_factory=list)
    user_creation_time: datetime = datetime(2020, 1, 1, tzinfo=UTC)
    contact_information: dict[str, Any] | None = None

    def normalized(self, account_id: str) -> RootFacts:
        """A copy with UTC datetimes and stable ids filled in; rejects unknown MFA kinds."""
        bad = [k for k in self.mfa_devices if k not in MFA_KINDS]
        if bad:
            raise ValueError(f"unknown MFA kinds {bad}; use {MFA_KINDS}")
        keys = []
        for n, key in enumerate(self.access_keys):
            key = dict(key)
            key["active"] = bool(key.get("active", True))
            key["last_used"] = _utc(key.get("last_used"))
            key["last_rotated"] = _utc(key.get("last_rotated")) or self.user_creation_time
            key.setdefault("id", _stable_id("AKIA", account_id, "key", n))
            key.setdefault("last_used_region", "us-east-1")
            key.setdefault("last_used_service", "iam")
            keys.append(key)
        certs = []
        for n, cert in enumerate(self.signing_certificates):
            cert = dict(cert)
            cert["active"] = bool(cert.get("active", True))
            cert["uploaded"] = _utc(cert.get("uploaded")) or self.user_creation_time
            cert.setdefault("id", _stable_id("", account_id, "cert", n, length=32))
            certs.append(cert)
        return RootFacts(
            password_present=bool(self.password_present),
            password_last_used=_utc(self.password_last_used),
            mfa_devices=list(self.mfa_devices),
            access_keys=keys,
            signing_certificates=certs,
            user_creation_time=_utc(self.user_creation_time),
            contact_information=dict(self.contact_information) if self.contact_information else None,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (datetimes as ISO-8601)."""
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def from_json(cls, data: dict[str, Any], base: RootFacts | None = None) -> RootFacts:
        """Facts from JSON; keys missing from data keep base's values (or the defaults)."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown root fact fields {sorted(unknown)}")
        values = {n: getattr(base, n) for n in names} if base else {}
        values.update(data)
        if isinstance(values.get("user_creation_time"), str):
            values["user_creation_time"] = _utc(values["user_creation_time"])
        return cls(**values)

    def mfa_serials(self, account_id: str) -> list[tuple[str, str]]:
        """(kind, serial) per device, in the formats iam:ListMFADevices uses for root."""
        out, counts = [], Counter()
        for kind in self.mfa_devices:
            counts[kind] += 1
            n = counts[kind]
            if kind == "virtual":
                name = "root-account-mfa-device" + ("" if n == 1 else f"-{n}")
                out.append((kind, f"arn:aws:iam::{account_id}:mfa/{name}"))
            elif kind == "passkey":
                out.append((kind, f"arn:aws:iam::{account_id}:u2f/root/passkey-{n}"))
            else:
                out.append((kind, f"GAHT{int(account_id) % 10**7:07d}{n}"))
        return out


class AwsError(Exception):
    """An AWS error answer: code as on the wire, HTTP status when the model doesn't define it."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def access_denied(call: Call, action: str, resource: str = "*") -> AwsError:
    return AwsError("AccessDenied", f"User: {call.principal_arn} is not authorized to perform: "
                    f"{action} on resource: {resource}", 403)


@lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern, frozenset, str]]:
    routes = []
    model = get_service_model(service)
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http.get("requestUri", "/").partition("?")
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        keys = frozenset(q.split("=")[0] for q in query.split("&") if q)
        routes.append((http.get("method", "POST"), re.compile(pattern.rstrip("/") + "/?$"), keys, name))
    # Most required query keys first, then fewest placeholders, so "/{Bucket}?policy" beats "/{Bucket}".
    routes.sort(key=lambda r: (-len(r[2]), r[1].pattern.count("[^/]+") + r[1].pattern.count(".+")))
    return routes


@dataclass
class Call:
    """One parsed AWS request."""

    service: str          # botocore service name, e.g. "iam", "cloudwatch"
    region: str
    access_key: str
    account_id: str
    operation: str
    params: dict[str, Any]
    protocol: str

    @property
    def principal_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/sandbox"

    @classmethod
    def parse(cls, environ: dict[str, Any], account_of: Callable[[str], str] = get_account_id_from) -> Call:
        """Parse a request, leaving wsgi.input readable for moto; account_of maps an access key to its account."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", auth)
        access_key, region, signing = match.groups() if match else ("AKIAEXAMPLE", "us-east-1", "")
        service = SIGNING_TO_SERVICE.get(signing, signing)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params: dict[str, Any] = dict(query)
        ctype = environ.get("CONTENT_TYPE", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif body and "json" in ctype:
            try:
                params.update(json.loads(body))
            except ValueError:
                pass
        if "Action" in params:
            operation, protocol = params["Action"], "query"
        elif target:
            operation, protocol = target.rsplit(".", 1)[-1], "json"
        else:
            operation, protocol = cls._rest_operation(service, environ), "rest"
        # Same precedence as moto.core.responses.BaseResponse.get_current_account.
        account_id = (os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
                      or account_of(access_key))
        return cls(service, region, access_key, account_id, operation, params, protocol)

    @staticmethod
    def _rest_operation(service: str, environ: dict[str, Any]) -> str:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        query_keys = {k for k, _ in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)}
        try:
            routes = _rest_routes(service)
        except Exception:  # unknown service name: count by method and path
            return f"{method} {path}"
        for verb, pattern, keys, name in routes:
            if verb == method and keys <= query_keys and pattern.match(path.rstrip("/") or "/"):
                return name
        return f"{method} {path}"


def render(service: str, operation: str, result: dict[str, Any] | AwsError) -> Response:
    """Serialize a result or error for (service, operation) as real AWS would, via moto's serializer."""
    model = get_service_model(service)
    serializer = get_serializer_class(model.service_name, model.protocol)(
        operation_model=model.operation_model(operation), value_picker=XFormedAttributePicker())
    if isinstance(result, AwsError) and not _modeled_error(service, result.code):
        # Codes such as AccessDenied are real answers but absent from the models; moto would warn about
        # each and answer 400, so give the serializer the error shape AWS uses on the wire.
        shape = ErrorShape(result.code, {"exception": True, "type": "structure", "members": {},
                                         "error": {"code": result.code, "httpStatusCode": result.status or 400}})
        serialized = serializer.MAP_TYPE()
        serializer._serialize_error_metadata(serialized, result, shape)
        out = serializer._serialized_error_to_response(serializer._create_default_response(), result, shape, serialized)
    else:
        out = serializer.serialize(result)
    return Response(out["body"], status=out["status_code"], headers=out["headers"])


@lru_cache(maxsize=None)
def _modeled_error(service: str, code: str) -> bool:
    model = get_service_model(service)
    shapes = (model.shape_for(name) for name in model.shape_names)
    return any(shape.metadata.get("exception") and shape.metadata.get("error", {}).get("code", shape.name) == code
               for shape in shapes)


@dataclass
class ReportState:
    generated_at: datetime | None = None
    in_progress_left: int = 0
    expired: bool = False


# LookupEvents: about 2 requests per second per account and region (CloudTrail quotas); a bucket of
# that many tokens, refilled at that rate, answers ThrottlingException when empty.
LOOKUP_EVENTS_RATE = 2.0
LOOKUP_EVENTS_DAYS = 90
LOOKUP_EVENTS_PAGE = 50


@dataclass
class LookupLimit:
    throttle_left: int = 0
    denied: bool = False
    tokens: float = LOOKUP_EVENTS_RATE
    refilled: float = 0.0


@dataclass
class RootSession:
    account_id: str
    task: str
    expiration: datetime


class SandboxState:
    """Everything the fill-ins add to moto, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.facts: dict[str, RootFacts] = {}
            self.reports: dict[str, ReportState] = {}
            self.pending_subscriptions: set[str] = set()
            self.unassumable: set[str] = set()
            self.denied: dict[str, frozenset[str]] = {}   # account -> "service:Operation" / "service:*"
            self.org_features: dict[str, set[str]] = {}
            self.root_sessions: dict[str, RootSession] = {}
            self.call_counts: Counter[tuple[str, str, str]] = Counter()
            # LookupEvents calls answered ThrottlingException, by (account, region) (benchmarks report them)
            self.lookup_throttles: Counter[tuple[str, str]] = Counter()
            self.key_accounts: dict[str, str] = {}
            self.event_history: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self.lookup_limits: dict[tuple[str, str], LookupLimit] = {}
            self.lookup_rate: float = LOOKUP_EVENTS_RATE
            self.opted_in_regions: dict[str, set[str]] = {}

    def account_of(self, access_key: str) -> str:
        """moto's account for an access key, cached: moto's lookup scans every account's IAM backend."""
        account_id = self.key_accounts.get(access_key)
        if account_id is None:
            account_id = self.key_accounts[access_key] = get_account_id_from(access_key)
        return account_id

    # root facts
    def get_root_facts(self, account_id: str) -> RootFacts:
        with self.lock:
            return self.facts.get(account_id) or RootFacts().normalized(account_id)

    def set_root_facts(self, account_id: str, facts: RootFacts) -> RootFacts:
        with self.lock:
            self.facts[account_id] = facts.normalized(account_id)
            return self.facts[account_id]

    def update_root_facts(self, account_id: str, **changes: Any) -> RootFacts:
        with self.lock:
            return self.set_root_facts(account_id, RootFacts.from_json(changes, self.get_root_facts(account_id)))

    # knobs
    def set_credential_report(self, account_id: str, in_progress_calls: int | None = None,
                              expired: bool | None = None, generated_at: datetime | None = None) -> None:
        """in_progress_calls: GetCredentialReport answers ReportInProgress that many times (now, or after
        the next generation); expired: the current report has expired; generated_at: back-date it."""
        with self.lock:
            report = self.reports.setdefault(account_id, ReportState())
            if in_progress_calls is not None:
                report.in_progress_left = int(in_progress_calls)
            if expired is not None:
                report.expired = bool(expired)
            if generated_at is not None:
                report.generated_at = _utc(generated_at)

    def set_unassumable(self, account_id: str, unassumable: bool = True) -> None:
        with self.lock:
            (self.unassumable.add if unassumable else self.unassumable.discard)(account_id)

    def set_denied(self, account_id: str, actions: Any) -> None:
        """Calls made with ``account_id``'s credentials to these actions answer AccessDenied, as when its
        role lacks the permissions. Actions are "service:Operation" with botocore's service name
        (iam, account, cloudtrail, logs, ...) or "service:*"; an empty list allows everything again."""
        with self.lock:
            self.denied[account_id] = frozenset(actions)

    def is_denied(self, call: Call) -> bool:
        denied = self.denied.get(call.account_id)
        return bool(denied) and (f"{call.service}:{call.operation}" in denied or f"{call.service}:*" in denied)

    def confirm_subscription(self, account_id: str, topic_arn: str, endpoint: str) -> list[str]:
        """Confirm the subscriptions of endpoint to topic_arn; returns their ARNs (KeyError if none)."""
        region = topic_arn.split(":")[3]
        with self.lock:
            arns = [s.arn for s in list(sns_backends[account_id][region].subscriptions.values())
                    if s.topic.arn == topic_arn and s.endpoint == endpoint]
            if not arns:
                raise KeyError(f"no subscription of {endpoint} to {topic_arn}")
            self.pending_subscriptions.difference_update(arns)
            return arns

    # CloudTrail event history
    def add_events(self, account_id: str, region: str, records: list[dict[str, Any]]) -> int:
        """Append CloudTrail records (as in a log file's Records) to the account's history in region."""
        with self.lock:
            history = self.event_history.setdefault((account_id, region), [])
            for record in records:
                if "eventTime" not in record or "eventName" not in record:
                    raise ValueError(f"a CloudTrail record needs eventTime and eventName: {record}")
                history.append(dict(record))
            return len(history)

    def set_lookup_limit(self, account_id: str, region: str, throttle_calls: int | None = None,
                         denied: bool | None = None) -> None:
        """throttle_calls: the next N LookupEvents calls there answer ThrottlingException;
        denied: every call there answers AccessDeniedException."""
        with self.lock:
            limit = self.lookup_limits.setdefault((account_id, region), LookupLimit())
            if throttle_calls is not None:
                limit.throttle_left = int(throttle_calls)
            if denied is not None:
                limit.denied = bool(denied)

    def opt_in_region(self, account_id: str, region: str, enabled: bool = True) -> None:
        """Enable (or disable) an opt-in region for the account: ec2:DescribeRegions then lists it."""
        with self.lock:
            regions = self.opted_in_regions.setdefault(account_id, set())
            (regions.add if enabled else regions.discard)(region)

    def set_lookup_rate(self, rate: float) -> None:
        """Requests per second per account and region LookupEvents answers (0: unlimited)."""
        with self.lock:
            self.lookup_rate = float(rate)

    # call counter
    def count(self, call: Call) -> None:
        with self.lock:
            self.call_counts[(call.account_id, call.service, call.operation)] += 1

    def calls(self) -> Counter[tuple[str, str, str]]:
        with self.lock:
            return Counter(self.call_counts)

    def reset_calls(self) -> None:
        with self.lock:
            self.call_counts.clear()
            self.lookup_throttles.clear()

    def throttles(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter(self.lookup_throttles)


def organization_of(account_id: str) -> tuple[str, str] | None:
    """(organization id, management account id) of the account's organization, or None."""
    entry = organizations_backends.master_accounts.get(account_id)
    management = entry[0] if entry else account_id
    if management not in organizations_backends:
        return None
    org = organizations_backends[management]["aws"].org
    return (org.id, management) if org else None


def _org_backend(management: str) -> Any:
    return organizations_backends[management]["aws"]


def _trusted(management: str, principal: str) -> bool:
    return any(s.get("ServicePrincipal") == principal for s in _org_backend(management).services)


Handler = Callable[["RootGuardMiddleware", Call, dict], "Response | None"]
FILLINS: dict[tuple[str, str], Handler] = {}


def fillin(service: str, *operations: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in operations:
            FILLINS[(service, op)] = fn
        return fn
    return register


class RootGuardMiddleware:
    """WSGI app: control API under /_rootguard/, fill-ins, then moto."""

    def __init__(self, app: Callable, state: SandboxState):
        self.app, self.state = app, state

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return control_response(self.state, environ)(environ, start_response)
        if path.startswith("/moto-api"):
            if path.rstrip("/") == "/moto-api/reset":
                self.state.reset()
            return self.app(environ, start_response)
        call = Call.parse(environ, self.state.account_of)
        # Tell moto the account we resolved, sparing its own O(accounts) lookup on every request.
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = call.account_id
        self.state.count(call)
        if self.state.is_denied(call):
            return denied_response(call)(environ, start_response)
        response = self.dispatch(call, environ)
        if response is None:
            return self.app(environ, start_response)
        return response(environ, start_response)

    def dispatch(self, call: Call, environ: dict[str, Any]) -> Response | None:
        session = self.state.root_sessions.get(call.access_key)
        try:
            if session is not None:
                return root_session_call(self, call, session, environ)
            handler = FILLINS.get((call.service, call.operation))
            return handler(self, call, environ) if handler else None
        except AwsError as err:
            return render(call.service, call.operation, err)

    def forward(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run moto on the request and capture its answer for post-processing."""
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured.update(status=status, headers=headers)
            return lambda _data: None
        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return captured["status"], captured["headers"], body


def denied_response(call: Call) -> Response:
    """AccessDenied as the service says it: JSON protocols name it AccessDeniedException."""
    error = access_denied(call, f"{call.service}:{call.operation}")
    if get_service_model(call.service).protocol in ("json", "rest-json"):
        error.code = "AccessDeniedException"
    return render(call.service, call.operation, error)


def _response(status: str, headers: list[tuple[str, str]], body: bytes) -> Response:
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return Response(body, status=status, headers=headers)


# ---------------------------------------------------------------- IAM: root facts


def summary_map(state: SandboxState, account_id: str) -> dict[str, int]:
    summary = dict(iam_backends[account_id]["aws"].get_account_summary().summary_map)
    facts = state.get_root_facts(account_id)
    summary.update(
        AccountMFAEnabled=int(bool(facts.mfa_devices)),
        AccountAccessKeysPresent=int(bool(facts.access_keys)),
        AccountSigningCertificatesPresent=int(bool(facts.signing_certificates)),
        AccountPasswordPresent=int(facts.password_present),
    )
    return summary


@fillin("iam", "GetAccountSummary")
def get_account_summary(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    return render("iam", call.operation, {"SummaryMap": summary_map(mw.state, call.account_id)})


def root_report_row(account_id: str, facts: RootFacts) -> list[str]:
    """The credential report's <root_account> row, written the way AWS writes it."""
    if not facts.password_present:
        last_used = "N/A"
    else:
        last_used = iso(facts.password_last_used) if facts.password_last_used else "no_information"
    row = ["<root_account>", f"arn:aws:iam::{account_id}:root", iso(facts.user_creation_time),
           "not_supported", last_used, "not_supported", "not_supported",
           "true" if facts.mfa_devices else "false"]
    for slot in range(2):
        key = facts.access_keys[slot] if slot < len(facts.access_keys) else None
        if key and key["active"]:
            used = key["last_used"]
            row += ["true", iso(key["last_rotated"]), iso(used) if used else "N/A",
                    key["last_used_region"] if used else "N/A", key["last_used_service"] if used else "N/A"]
        else:  # AWS describes active keys only: an inactive key reads like no key
            row += ["false", "N/A", "N/A", "N/A", "N/A"]
    for slot in range(2):
        cert = facts.signing_certificates[slot] if slot < len(facts.signing_certificates) else None
        row += ["true", iso(cert["uploaded"])] if cert and cert["active"] else ["false", "N/A"]
    return row


def credential_report_csv(state: SandboxState, account_id: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    writer.writerow(root_report_row(account_id, state.get_root_facts(account_id)))
    users = "".join(u.to_csv() for u in iam_backends[account_id]["aws"].users.values())
    return out.getvalue() + users


@fillin("iam", "GenerateCredentialReport")
def generate_credential_report(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    with mw.state.lock:
        report = mw.state.reports.setdefault(call.account_id, ReportState())
        # IAM writes a new report when there is none, it expired, or it is over four hours old;
        # sooner it answers COMPLETE and keeps serving the old one.
        if (report.generated_at is None or report.expired
                or datetime.now(UTC) - report.generated_at > timedelta(hours=4)):
            report.generated_at, report.expired = datetime.now(UTC), False
            result = {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}
        elif report.in_progress_left > 0:
            result = {"State": "INPROGRESS"}
        else:
            result = {"State": "COMPLETE"}
    return render("iam", call.operation, result)


@fillin("iam", "GetCredentialReport")
def get_credential_report(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    # The content reflects the root facts at read time (not a snapshot) so tests see their changes.
    with mw.state.lock:
        report = mw.state.reports.get(call.account_id)
        if report is None or report.generated_at is None:
            raise AwsError("ReportNotPresent", "Unknown")
        if report.expired:
            raise AwsError("ReportExpired", "Report is expired")
        if report.in_progress_left > 0:
            report.in_progress_left -= 1
            raise AwsError("ReportInProgress", "Report is being generated")
        generated = report.generated_at
    content = credential_report_csv(mw.state, call.account_id)
    return render("iam", call.operation, {"Content": content.encode(), "ReportFormat": "text/csv",
                                          "GeneratedTime": generated})


@fillin("iam", "ListVirtualMFADevices")
def list_virtual_mfa_devices(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    status = call.params.get("AssignmentStatus", "Any")
    backend = iam_backends[call.account_id]["aws"]
    devices = []
    facts = mw.state.get_root_facts(call.account_id)
    if status in ("Any", "Assigned"):
        root_user = {"Path": "/", "UserName": "", "UserId": call.account_id,
                     "Arn": f"arn:aws:iam::{call.account_id}:root", "CreateDate": facts.user_creation_time}
        devices += [{"SerialNumber": serial, "User": root_user, "EnableDate": facts.user_creation_time}
                    for kind, serial in facts.mfa_serials(call.account_id) if kind == "virtual"]
    for dev in sorted(backend.virtual_mfa_devices.values(), key=lambda d: d.serial_number):
        assigned = bool(dev.enable_date)
        if status == "Any" or (status == "Assigned") == assigned:
            item: dict[str, Any] = {"SerialNumber": dev.serial_number}
            if assigned:
                user = dev.user
                item["EnableDate"] = dev.enable_date
                if user is not None:
                    item["User"] = {"Path": user.path, "UserName": user.name, "UserId": user.id,
                                    "Arn": user.arn, "CreateDate": user.create_date}
            devices.append(item)
    start = int(call.params.get("Marker") or 0)
    size = int(call.params.get("MaxItems") or 100)
    page = devices[start:start + size]
    result: dict[str, Any] = {"VirtualMFADevices": page, "IsTruncated": start + size < len(devices)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + size)
    return render("iam", call.operation, result)


# ---------------------------------------------------------------- IAM / STS: centralized root access


def _require_management(call: Call, error: str = "AccountNotManagementOrDelegatedAdministratorException") -> tuple[str, str]:
    org = organization_of(call.account_id)
    if org is None:
        raise AwsError("OrganizationNotFoundException", "The request failed because your account is not a "
                       "member of an organization.")
    if org[1] != call.account_id:
        raise AwsError(error, "The request failed because the account is not the management account or "
                       "delegated administrator account for the service.")
    return org


@fillin("iam", "ListOrganizationsFeatures", "EnableOrganizationsRootCredentialsManagement",
        "EnableOrganizationsRootSessions", "DisableOrganizationsRootCredentialsManagement",
        "DisableOrganizationsRootSessions")
def organizations_features(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    op = call.operation
    error = ("CallerIsNotManagementAccountException" if op.startswith("Enable")
             else "AccountNotManagementOrDelegatedAdministratorException")
    org_id, management = _require_management(call, error)
    if op != "ListOrganizationsFeatures" and not _trusted(management, "iam.amazonaws.com"):
        raise AwsError("ServiceAccessNotEnabledException", "The request failed because trusted access "
                       "isn't enabled for AWS Organization in IAM.")
    with mw.state.lock:
        enabled = mw.state.org_features.setdefault(org_id, set())
        feature = "RootCredentialsManagement" if "Credentials" in op else "RootSessions"
        if op.startswith("Enable"):
            enabled.add(feature)
        elif op.startswith("Disable"):
            enabled.discard(feature)
        features = sorted(enabled)
    return render("iam", op, {"OrganizationId": org_id, "EnabledFeatures": features})


@fillin("sts", "AssumeRoot")
def assume_root(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    # "The member account principal ARN or account ID" (STS API reference)
    principal = call.params.get("TargetPrincipal", "")
    parts = principal.split(":")
    target = parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" else principal
    task_arn = call.params.get("TaskPolicyArn.arn", "")
    duration = int(call.params.get("DurationSeconds") or 900)
    if duration > 900:
        raise AwsError("ValidationError", f"1 validation error detected: Value '{duration}' at "
                       "'durationSeconds' failed to satisfy constraint: Member must have value less "
                       "than or equal to 900", 400)
    task = task_arn[len(ROOT_TASK_ARN_PREFIX):] if task_arn.startswith(ROOT_TASK_ARN_PREFIX) else ""
    if task not in ROOT_TASKS:
        raise AwsError("ValidationError", f"The task policy ARN {task_arn} is not valid.", 400)
    org = organization_of(call.account_id)
    if org is None or org[1] != call.account_id:
        raise access_denied(call, "sts:AssumeRoot", f"arn:aws:iam::{target}:root")
    if organization_of(target) != org or target == call.account_id:
        raise access_denied(call, "sts:AssumeRoot", f"arn:aws:iam::{target}:root")
    if "RootSessions" not in mw.state.org_features.get(org[0], set()):
        raise AwsError("AccessDenied", "Privileged root actions (RootSessions) are not enabled for "
                       "the organization.", 403)
    # A temporary key in the member's moto IAM backend makes moto (and Call.parse) resolve the member account.
    key = iam_backends[target]["aws"].create_temp_access_key()
    expiration = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=duration)
    with mw.state.lock:
        mw.state.root_sessions[key.access_key_id] = RootSession(target, task, expiration)
    return render("sts", "AssumeRoot", {"Credentials": {
        "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
        "SessionToken": base64.b64encode(secrets.token_bytes(96)).decode(), "Expiration": expiration}})


@fillin("sts", "AssumeRole")
def assume_role(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response | None:
    role_arn = call.params.get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) > 4 and parts[4] in mw.state.unassumable:
        raise access_denied(call, "sts:AssumeRole", role_arn)
    # moto assumes any role, existing or not; AWS denies a role that does not exist. Checked in
    # organization accounts only, whose roles the seed (or moto's CreateAccount) made.
    if len(parts) > 5 and parts[5].startswith("role/") and organization_of(parts[4]) is not None:
        name = parts[5].rsplit("/", 1)[-1]
        if not any(role.name == name for role in iam_backends[parts[4]]["global"].roles.values()):
            raise access_denied(call, "sts:AssumeRole", role_arn)
    return None


def _root_session_summary(mw: RootGuardMiddleware, call: Call, facts: RootFacts, op: str) -> dict[str, Any]:
    acct = call.account_id
    if op == "GetAccountSummary":
        return {"SummaryMap": summary_map(mw.state, acct)}
    if op == "GetUser":
        user = {"Path": "/", "UserId": acct, "Arn": f"arn:aws:iam::{acct}:root",
                "CreateDate": facts.user_creation_time}
        if facts.password_present and facts.password_last_used:
            user["PasswordLastUsed"] = facts.password_last_used
        return {"User": user}
    if op == "GetLoginProfile":
        if not facts.password_present:
            raise AwsError("NoSuchEntity", f"Login Profile for User {acct} cannot be found.")
        return {"LoginProfile": {"CreateDate": facts.user_creation_time, "PasswordResetRequired": False}}
    if op == "ListAccessKeys":
        return {"AccessKeyMetadata": [
            {"AccessKeyId": k["id"], "Status": "Active" if k["active"] else "Inactive",
             "CreateDate": k["last_rotated"]} for k in facts.access_keys], "IsTruncated": False}
    if op == "GetAccessKeyLastUsed":
        key = next((k for k in facts.access_keys if k["id"] == call.params.get("AccessKeyId")), None)
        if key is None:
            raise access_denied(call, "iam:GetAccessKeyLastUsed", f"arn:aws:iam::{acct}:root")
        used = key["last_used"]
        last = {"ServiceName": key["last_used_service"] if used else "N/A",
                "Region": key["last_used_region"] if used else "N/A"}
        if used:
            last["LastUsedDate"] = used
        return {"AccessKeyLastUsed": last}
    if op == "ListSigningCertificates":
        return {"Certificates": [
            {"CertificateId": c["id"], "Status": "Active" if c["active"] else "Inactive",
             "CertificateBody": "-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----",
             "UploadDate": c["uploaded"]} for c in facts.signing_certificates], "IsTruncated": False}
    if op == "ListMFADevices":
        return {"MFADevices": [{"SerialNumber": serial, "EnableDate": facts.user_creation_time}
                               for _, serial in facts.mfa_serials(acct)], "IsTruncated": False}
    raise AssertionError(op)


def _root_session_mutation(facts: RootFacts, call: Call) -> RootFacts:
    op, acct, p = call.operation, call.account_id, call.params
    if op in ("DeleteLoginProfile", "CreateLoginProfile"):
        if facts.password_present == (op == "DeleteLoginProfile"):
            facts.password_present = op == "CreateLoginProfile"
            return facts
        if op == "CreateLoginProfile":
            raise AwsError("EntityAlreadyExists", f"Login Profile for user {acct} already exists.")
        raise AwsError("NoSuchEntity", f"Login Profile for User {acct} cannot be found.")
    if op == "DeleteAccessKey":
        items, attr, wanted = facts.access_keys, "id", p.get("AccessKeyId")
    elif op == "DeleteSigningCertificate":
        items, attr, wanted = facts.signing_certificates, "id", p.get("CertificateId")
    else:  # DeactivateMFADevice
        serials = [s for _, s in facts.mfa_serials(acct)]
        if p.get("SerialNumber") not in serials:
            raise AwsError("NoSuchEntity", f"MFA Device with serial number {p.get('SerialNumber')} does not exist.")
        del facts.mfa_devices[serials.index(p["SerialNumber"])]
        return facts
    match = [i for i, item in enumerate(items) if item[attr] == wanted]
    if not match:
        raise AwsError("NoSuchEntity", f"The {attr} {wanted} cannot be found.")
    del items[match[0]]
    return facts


def root_session_call(mw: RootGuardMiddleware, call: Call, session: RootSession, environ: dict) -> Response | None:
    """A request signed with AssumeRoot credentials: only the task policy's iam actions, as root."""
    if datetime.now(UTC) > session.expiration:
        raise AwsError("ExpiredToken", "The security token included in the request is expired", 403)
    if (call.service, call.operation) == ("sts", "GetCallerIdentity"):
        return render("sts", call.operation, {"UserId": call.account_id, "Account": call.account_id,
                                              "Arn": f"arn:aws:iam::{call.account_id}:root"})
    allowed = ROOT_TASKS[session.task]
    if call.service != "iam" or call.operation not in allowed or call.params.get("UserName"):
        raise AwsError("AccessDenied", f"User: arn:aws:iam::{call.account_id}:root is not authorized to "
                       f"perform: {call.service}:{call.operation} with the task policy {session.task}", 403)
    with mw.state.lock:
        facts = mw.state.get_root_facts(call.account_id)
        if call.operation in _READ_ROOT:
            return render("iam", call.operation, _root_session_summary(mw, call, facts, call.operation))
        mw.state.set_root_facts(call.account_id, _root_session_mutation(facts, call))
    return render("iam", call.operation, {})


# ---------------------------------------------------------------- SNS: pending confirmations


def _sub_arns(body: bytes) -> list[str]:
    return re.findall(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", body.decode())


@fillin("sns", "Subscribe")
def subscribe(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    region = call.params.get("TopicArn", "::::").split(":")[3] or call.region
    before = set(sns_backends[call.account_id][region].subscriptions)
    status, headers, body = mw.forward(environ)
    arns = _sub_arns(body)
    if status.startswith("200") and arns and call.params.get("Protocol") in PENDING_PROTOCOLS:
        with mw.state.lock:
            if arns[0] not in before:  # moto re-returns an existing subscription for duplicates
                mw.state.pending_subscriptions.add(arns[0])
            pending = arns[0] in mw.state.pending_subscriptions
        if pending and call.params.get("ReturnSubscriptionArn") != "true":
            body = body.replace(f">{arns[0]}<".encode(), b">pending confirmation<")
    return _response(status, headers, body)


@fillin("sns", "ListSubscriptions", "ListSubscriptionsByTopic")
def list_subscriptions(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    status, headers, body = mw.forward(environ)
    with mw.state.lock:
        pending = set(mw.state.pending_subscriptions)
    for arn in set(_sub_arns(body)) & pending:
        body = body.replace(f"<SubscriptionArn>{arn}</SubscriptionArn>".encode(),
                            b"<SubscriptionArn>PendingConfirmation</SubscriptionArn>")
    return _response(status, headers, body)


@fillin("sns", "GetTopicAttributes")
def get_topic_attributes(mw: RootGuardMiddleware, call: Call, environ: dict) -> None:
    # Refresh moto's (otherwise constant) counters on the topic, then let moto answer.
    topic_arn = call.params.get("TopicArn", "")
    backend = sns_backends[call.account_id][call.region]
    topic = backend.topics.get(topic_arn)
    if topic is not None:
        with mw.state.lock:
            subs = [s.arn for s in list(backend.subscriptions.values()) if s.topic.arn == topic_arn]
            pending = sum(arn in mw.state.pending_subscriptions for arn in subs)
        topic.subscriptions_pending = pending
        topic.subscriptions_confimed = len(subs) - pending  # sic: moto's attribute name
    return None


# ---------------------------------------------------------------- CloudTrail: ARNs across regions


def organization_trails(account_id: str, region: str) -> list[Any]:
    """The organization trails a member account sees in ``region``: its management account's
    multi-region organization trails, and those homed in ``region`` (moto shows a member none)."""
    org = organization_of(account_id)
    if org is None or org[1] == account_id or org[1] not in cloudtrail_backends:
        return []
    return [trail for backend in cloudtrail_backends[org[1]].values() for trail in backend.trails.values()
            if trail.is_org_trail and (trail.is_multi_region or trail.region_name == region)]


@fillin("cloudtrail", "DescribeTrails")
def describe_trails(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response | None:
    # A member's DescribeTrails (shadow trails included, the default) lists the organization trail
    # with the owner's ARN, HomeRegion, IsOrganizationTrail and the owner's log group ARN.
    shadows = call.params.get("includeShadowTrails", True)
    org_trails = organization_trails(call.account_id, call.region) if shadows else []
    if not org_trails:
        return None
    own = cloudtrail_backends[call.account_id][call.region].describe_trails(include_shadow_trails=True)
    trails = [t.description(include_region=True) for t in [*own, *org_trails]]
    wanted = call.params.get("trailNameList") or []
    if wanted:
        trails = [t for t in trails if t["Name"] in wanted or t["TrailARN"] in wanted]
    return render("cloudtrail", "DescribeTrails", {"trailList": trails})


@fillin("cloudtrail", "GetEventSelectors", "GetTrailStatus", "GetInsightSelectors")
def trail_by_arn(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response | None:
    # Real AWS resolves a multi-region trail's ARN from any region; moto only in the home region,
    # so re-sign the request's credential scope for the home region before moto sees it.
    name = call.params.get("TrailName") or call.params.get("Name") or ""
    parts = name.split(":")
    if not name.startswith("arn:") or len(parts) < 6:
        return None
    if call.operation == "GetTrailStatus" and parts[4] != call.account_id:
        # Documented for members: the organization trail's status, given its full ARN. (Whether a
        # member may call GetEventSelectors on it is not: the sandbox answers TrailNotFound, as moto.)
        trail = next((t for t in organization_trails(call.account_id, call.region) if t.arn == name), None)
        if trail is not None:
            return render("cloudtrail", "GetTrailStatus", trail.status.description())
        return None
    if parts[3] == call.region:
        return None
    home, owner = parts[3], parts[4]
    trails = cloudtrail_backends[owner][home].trails.values() if owner in cloudtrail_backends else []
    if any(t.arn == name and t.is_multi_region for t in trails):
        environ["HTTP_AUTHORIZATION"] = environ["HTTP_AUTHORIZATION"].replace(
            f"/{call.region}/cloudtrail/", f"/{home}/cloudtrail/")
    return None


@fillin("logs", "PutMetricFilter")
def put_metric_filter(mw: RootGuardMiddleware, call: Call, environ: dict) -> None:
    # AWS replaces a log group's metric filter of the same name; moto appends a second one.
    group, name = call.params.get("logGroupName"), call.params.get("filterName")
    if group and name and call.account_id in logs_backends:
        backend = logs_backends[call.account_id][call.region]
        if any(f["filterName"] == name and f["logGroupName"] == group for f in backend.filters.metric_filters):
            backend.delete_metric_filter(name, group)
    return None


# ---------------------------------------------------------------- Account: contact information


def _target_account(call: Call) -> str:
    target = call.params.get("AccountId")
    if not target:
        return call.account_id
    org = organization_of(call.account_id)
    if org is None or org[1] != call.account_id:
        raise AwsError("AccessDeniedException", "User is not authorized to perform this operation on "
                       f"account {target}.")
    if target == call.account_id:
        raise AwsError("ValidationException", "The management account can't specify its own AccountId; "
                       "call the operation without AccountId.")
    if organization_of(target) != org:
        raise AwsError("AccessDeniedException", f"Account {target} is not a member of your organization.")
    if not _trusted(org[1], "account.amazonaws.com"):
        raise AwsError("AccessDeniedException", "Trusted access is not enabled for account.amazonaws.com.")
    return target


@fillin("account", "GetContactInformation", "PutContactInformation", "GetPrimaryEmail")
def contact_information(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    target = _target_account(call)
    if call.operation == "GetPrimaryEmail":
        if target == call.account_id:
            raise AwsError("ValidationException", "AccountId is required and must be a member account.")
        org_id, management = organization_of(target)
        account = _org_backend(management).get_account_by_id(target)
        return render("account", call.operation, {"PrimaryEmail": account.email})
    if call.operation == "PutContactInformation":
        mw.state.update_root_facts(target, contact_information=call.params["ContactInformation"])
        return render("account", call.operation, {})
    contact = mw.state.get_root_facts(target).contact_information
    if not contact:
        raise AwsError("ResourceNotFoundException", "No contact information found for the account.")
    return render("account", call.operation, {"ContactInformation": contact})


# ---------------------------------------------------------------- control API


def reset_all(state: SandboxState) -> None:
    """Clear moto's backends and the fill-ins' state."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    state.reset()


def control_response(state: SandboxState, environ: dict[str, Any]) -> Response:
    """JSON control API under /_rootguard/:

    GET|POST root-facts/<account> (POST merges the given fields), POST root-facts ({account: facts}),
    POST sns/confirm ({account_id, topic_arn, endpoint}), POST unassumable/<account> ({unassumable}),
    POST denied/<account> ({actions: ["account:GetAlternateContact", "cloudtrail:*", ...]}),
    POST credential-report/<account> ({in_progress_calls, expired, generated_at}),
    POST events/<account> ({region: [CloudTrail records]}), POST lookup-limit/<account>
    ({region, throttle_calls, denied}), POST lookup-rate ({rate}), POST opt-in-region/<account> ({region, enabled}),
    GET|DELETE calls, POST reset (moto and fill-ins).
    """
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):].strip("/")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw else {}
        result = _control(state, method, path.split("/"), body)
    except (KeyError, ValueError, TypeError) as err:
        return Response(json.dumps({"error": str(err)}), status=400, mimetype="application/json")
    if result is None:
        return Response(json.dumps({"error": f"no route {method} /{path}"}), status=404, mimetype="application/json")
    return Response(json.dumps(result), mimetype="application/json")


def _control(state: SandboxState, method: str, parts: list[str], body: Any) -> Any:
    head, arg = parts[0], (parts[1] if len(parts) > 1 else None)
    if head == "root-facts" and arg:
        if method == "POST":
            state.update_root_facts(arg, **body)
        return state.get_root_facts(arg).to_json()
    if head == "root-facts" and method == "POST":  # bulk: {account_id: facts}
        for account_id, facts in body.items():
            state.update_root_facts(account_id, **facts)
        return {"updated": len(body)}
    if head == "sns" and arg == "confirm" and method == "POST":
        return {"confirmed": state.confirm_subscription(body["account_id"], body["topic_arn"], body["endpoint"])}
    if head == "unassumable" and arg and method == "POST":
        state.set_unassumable(arg, bool(body.get("unassumable", True)))
        return {"account_id": arg, "unassumable": arg in state.unassumable}
    if head == "denied" and arg and method == "POST":
        state.set_denied(arg, list(body.get("actions", [])))
        return {"account_id": arg, "denied": sorted(state.denied[arg])}
    if head == "credential-report" and arg and method == "POST":
        state.set_credential_report(arg, body.get("in_progress_calls"), body.get("expired"), body.get("generated_at"))
        return {"account_id": arg}
    if head == "events" and arg and method == "POST":  # {region: [CloudTrail records]}
        return {"events": {region: state.add_events(arg, region, records) for region, records in body.items()}}
    if head == "lookup-limit" and arg and method == "POST":
        state.set_lookup_limit(arg, body["region"], body.get("throttle_calls"), body.get("denied"))
        return {"account_id": arg}
    if head == "opt-in-region" and arg and method == "POST":
        state.opt_in_region(arg, body["region"], bool(body.get("enabled", True)))
        return {"account_id": arg}
    if head == "lookup-rate" and method == "POST":
        state.set_lookup_rate(body["rate"])
        return {"rate": state.lookup_rate}
    if head == "calls" and method == "GET":
        return [{"account_id": a, "service": s, "operation": o, "count": n}
                for (a, s, o), n in sorted(state.calls().items())]
    if head == "calls" and method == "DELETE":
        state.reset_calls()
        return {"reset": True}
    if head == "reset" and method == "POST":
        reset_all(state)
        return {"reset": True}
    return None


# ---------------------------------------------------------------- CloudTrail: event history (LookupEvents)


def _record_username(record: dict[str, Any]) -> str:
    """The event history's Username for a record (root for the root user, as CloudTrail shows it)."""
    ident = record.get("userIdentity") or {}
    kind = ident.get("type")
    if kind == "Root":
        return "root"
    if kind == "IAMUser":
        return ident.get("userName") or ""
    if kind == "AssumedRole":
        return str(ident.get("arn", "")).rsplit("/", 1)[-1]
    return ident.get("userName") or ident.get("principalId") or ""


def _record_matches(record: dict[str, Any], key: str, value: str) -> bool:
    ident = record.get("userIdentity") or {}
    resources = record.get("resources") or []
    return {
        "EventId": lambda: record.get("eventID") == value,
        "EventName": lambda: record.get("eventName") == value,
        "EventSource": lambda: record.get("eventSource") == value,
        "ReadOnly": lambda: str(record.get("readOnly", False)).lower() == value.lower(),
        "Username": lambda: _record_username(record) == value,
        "AccessKeyId": lambda: ident.get("accessKeyId") == value,
        "ResourceType": lambda: any(r.get("type") == value for r in resources),
        "ResourceName": lambda: any(r.get("ARN") == value for r in resources),
    }[key]()


def _lookup_time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)) or re.fullmatch(r"\d+(\.\d+)?", str(value)):
            return datetime.fromtimestamp(float(value), UTC)
        return _utc(str(value))
    except (ValueError, OverflowError):
        raise AwsError("ValidationException", f"{name} {value!r} is not a timestamp") from None


def _event_summary(record: dict[str, Any]) -> dict[str, Any]:
    ident = record.get("userIdentity") or {}
    event = {"EventId": record.get("eventID"), "EventName": record.get("eventName"),
             "ReadOnly": str(record.get("readOnly", False)).lower(), "EventTime": _utc(record["eventTime"]),
             "EventSource": record.get("eventSource"), "Username": _record_username(record),
             "Resources": [{"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
                           for r in record.get("resources") or []],
             "CloudTrailEvent": json.dumps(record)}
    if ident.get("accessKeyId"):
        event["AccessKeyId"] = ident["accessKeyId"]
    return event


def _take_lookup_token(state: SandboxState, call: Call) -> None:
    with state.lock:
        limit = state.lookup_limits.setdefault((call.account_id, call.region), LookupLimit())
        if limit.denied:
            raise AwsError("AccessDeniedException", f"User: {call.principal_arn} is not authorized to perform: "
                           f"cloudtrail:LookupEvents", 400)
        if limit.throttle_left > 0:
            limit.throttle_left -= 1
            state.lookup_throttles[(call.account_id, call.region)] += 1
            raise AwsError("ThrottlingException", "Rate exceeded", 400)
        rate = state.lookup_rate
        if rate <= 0:
            return
        now = time.monotonic()
        limit.tokens = min(rate, limit.tokens + (now - limit.refilled) * rate) if limit.refilled else rate
        limit.refilled = now
        if limit.tokens < 1:
            state.lookup_throttles[(call.account_id, call.region)] += 1
            raise AwsError("ThrottlingException", "Rate exceeded", 400)
        limit.tokens -= 1


@fillin("cloudtrail", "LookupEvents")
def lookup_events(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    """The account's last 90 days of management events in the request's region, newest first."""
    _take_lookup_token(mw.state, call)
    p = call.params
    attributes = p.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise AwsError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    for attr in attributes:
        if attr.get("AttributeKey") not in ("EventId", "EventName", "ReadOnly", "Username", "ResourceType",
                                            "ResourceName", "EventSource", "AccessKeyId"):
            raise AwsError("InvalidLookupAttributesException", f"Invalid attribute key {attr.get('AttributeKey')!r}.")
    max_results = int(p.get("MaxResults") or LOOKUP_EVENTS_PAGE)
    if not 1 <= max_results <= LOOKUP_EVENTS_PAGE:
        raise AwsError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    now = datetime.now(UTC)
    start = _lookup_time(p.get("StartTime"), "StartTime")
    end = _lookup_time(p.get("EndTime"), "EndTime")
    if start and end and start > end:
        raise AwsError("InvalidTimeRangeException", "Start time must be before end time.")
    if p.get("EventCategory") not in (None, "insight"):
        raise AwsError("InvalidEventCategoryException", f"Invalid event category {p.get('EventCategory')!r}.")
    query = json.dumps([attributes, p.get("StartTime"), p.get("EndTime"), p.get("EventCategory")],
                       sort_keys=True, default=str)
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    offset = 0
    if p.get("NextToken"):
        try:
            token = json.loads(base64.b64decode(p["NextToken"]))
            offset, token_digest = int(token["o"]), token["q"]
        except (ValueError, KeyError, TypeError):
            raise AwsError("InvalidNextTokenException", "Invalid NextToken.") from None
        if token_digest != digest:
            raise AwsError("InvalidNextTokenException", "NextToken does not match the request's parameters.")
    oldest = now - timedelta(days=LOOKUP_EVENTS_DAYS)
    with mw.state.lock:
        history = list(mw.state.event_history.get((call.account_id, call.region), []))
    found = []
    if p.get("EventCategory") != "insight":
        for record in history:
            when = _utc(record["eventTime"])
            if when < oldest or when > now or (start and when < start) or (end and when > end):
                continue
            if attributes and not _record_matches(record, attributes[0]["AttributeKey"],
                                                  str(attributes[0].get("AttributeValue", ""))):
                continue
            found.append(record)
    found.sort(key=lambda r: (_utc(r["eventTime"]), r.get("eventID", "")), reverse=True)
    page = found[offset:offset + max_results]
    result: dict[str, Any] = {"Events": [_event_summary(r) for r in page]}
    if offset + max_results < len(found):
        result["NextToken"] = base64.b64encode(json.dumps({"o": offset + max_results, "q": digest}).encode()).decode()
    return render("cloudtrail", "LookupEvents", result)


# ---------------------------------------------------------------- EC2: enabled regions

# Regions enabled in every account (opt-in-not-required); the others need an opt-in (account:EnableRegion).
DEFAULT_REGIONS = ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
                   "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
                   "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2")


@fillin("ec2", "DescribeRegions")
def describe_regions(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    """As AWS answers: enabled regions only unless AllRegions=true (moto lists every region as enabled)."""
    from moto.ec2.models import ec2_backends

    regions = ec2_backends[call.account_id][call.region].describe_regions()
    with mw.state.lock:
        opted_in = set(mw.state.opted_in_regions.get(call.account_id, ()))
    wanted = {v for k, v in call.params.items() if k.startswith("RegionName.")}
    out = []
    for region in regions:
        status = ("opt-in-not-required" if region.name in DEFAULT_REGIONS
                  else "opted-in" if region.name in opted_in else "not-opted-in")
        if status == "not-opted-in" and str(call.params.get("AllRegions", "false")).lower() != "true":
            continue
        if wanted and region.name not in wanted:
            continue
        out.append({"RegionName": region.name, "Endpoint": region.endpoint, "OptInStatus": status})
    return render("ec2", "DescribeRegions", {"Regions": out})


# ---------------------------------------------------------------- IAM: policy simulator (principal)


def _statement_list(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        from urllib.parse import unquote
        document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _action_match(pattern: str, action: str) -> bool:
    regex = "^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, action.lower()) is not None


def _simulate(statements: list[dict[str, Any]], action: str) -> str:
    """allowed / explicitDeny / implicitDeny for an action on every resource ("*"), no context: a
    statement with a Condition does not apply (its keys have no values in the simulation)."""
    decision = "implicitDeny"
    for st in statements:
        if st.get("Condition"):
            continue
        actions = st.get("Action")
        hit = (any(_action_match(p, action) for p in _as_list(actions)) if actions is not None
               else not any(_action_match(p, action) for p in _as_list(st.get("NotAction"))))
        if not hit or "*" not in _as_list(st.get("Resource")):
            continue
        if st.get("Effect") == "Deny":
            return "explicitDeny"
        if st.get("Effect") == "Allow":
            decision = "allowed"
    return decision


@fillin("iam", "SimulatePrincipalPolicy")
def simulate_principal_policy(mw: RootGuardMiddleware, call: Call, environ: dict) -> Response:
    """Identity policies only (inline, managed, and a user's groups'); no boundaries, SCPs or context."""
    backend = iam_backends[call.account_id]["global"]
    arn = call.params.get("PolicySourceArn", "")
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    holders: list[Any] = []
    if kind == "user" and name in backend.users:
        user = backend.users[name]
        holders = [user] + [g for g in backend.groups.values() if user in g.users]
    elif kind == "role" and name in backend.roles:
        holders = [backend.roles[name]]
    else:
        raise AwsError("NoSuchEntity", f"The principal {arn} cannot be found.")
    statements: list[dict[str, Any]] = []
    for holder in holders:
        for document in holder.policies.values():
            statements += _statement_list(document)
        for policy in holder.managed_policies.values():
            statements += _statement_list(next((v.document for v in policy.versions if v.is_default), "{}"))
    actions = [v for k, v in sorted(call.params.items(), key=lambda kv: kv[0]) if k.startswith("ActionNames.member.")]
    results = [{"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": _simulate(statements, action),
                "MatchedStatements": [], "MissingContextValues": []} for action in actions]
    return render("iam", "SimulatePrincipalPolicy", {"EvaluationResults": results, "IsTruncated": False})
