"""Root sessions reconstructed from CloudTrail event history (pure: records in, sessions out).

Input: CloudTrail records (``LookupEvents``' ``CloudTrailEvent``, parsed) of one account, from every
region read. Output: :class:`History` — sessions, and the sign-in events that stand alone.

Grouping rules (each pinned by a test in ``tests/sessions``):
- console: a successful root ``ConsoleLogin`` opens a session; root calls made with console
  credentials (``sessionCredentialFromConsole``, ``invokedBy signin.amazonaws.com``, or temporary
  credentials created at the sign-in) join the latest sign-in at or before their credentials'
  ``creationDate`` (else the call time), within ``console_hours``. CloudTrail records no sign-out:
  a session ends at its last recorded event, which is a lower bound. Console calls whose sign-in is
  not in the history (older than the window) form a session of their own, marked so.
- start: the earliest time the session's credentials are known to exist — the sign-in, the
  credentials' ``creationDate`` (when it precedes the first call), or the first call — so a session
  whose sign-in lies before the history window is judged from when it began, not from the middle.
- access-key: calls signed with a long-term root key (``AKIA``) and with temporary keys that key
  issued through ``sts:GetSessionToken``, per key, split where the key was idle longer than
  ``idle_gap_hours``.
- assume-root: in a member, root calls signed with temporary credentials that came from neither a
  console sign-in nor a root ``GetSessionToken`` (``sessionContext.assumedRoot`` when present; AWS's
  own example omits it), one session per key. In the caller's (management) account, each
  ``sts:AssumeRoot`` call, with its target account and task policy.
- Service events (``eventType AwsServiceEvent``) and calls a service made for root (``invokedBy``
  other than the console) are not sessions. Failed sign-ins and password recovery are reported
  as sign-in events whether or not a session follows.
"""
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
import hashlib

CONSOLE, ACCESS_KEY, ASSUME_ROOT = "console", "access-key", "assume-root"
# What a session's start is: its sign-in, its credentials' creationDate, or its first recorded call.
START_SIGNIN, START_CREATED, START_CALL = "sign-in", "credentials-created", "first-call"
# iam:ListOrganizationsFeatures' answer to any account but the management account and the IAM
# delegated administrator (the only accounts that can call sts:AssumeRoot).
NOT_CALLER = "AccountNotManagementOrDelegatedAdministratorException"
ACCOUNT_ID_TEXT = re.compile(r"^\d{12}$")
KINDS = (CONSOLE, ACCESS_KEY, ASSUME_ROOT)
SIGNIN_SOURCE = "signin.amazonaws.com"
CONSOLE_INVOKERS = (SIGNIN_SOURCE, "AWS Internal")
# A console call's credentials are created within seconds of the sign-in.
SIGNIN_SKEW = timedelta(seconds=120)
DEFAULT_CONSOLE_HOURS = 12
DEFAULT_IDLE_GAP_HOURS = 1

# Calls that change root's credentials (successful ones count).
CREDENTIAL_EVENTS = {
    "EnableMFADevice", "DeactivateMFADevice", "CreateVirtualMFADevice", "DeleteVirtualMFADevice",
    "ResyncMFADevice", "CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey",
    "UploadSigningCertificate", "DeleteSigningCertificate", "UpdateSigningCertificate",
    "CreateLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile", "ChangePassword",
    "PasswordUpdated", "PasswordRecoveryCompleted",
}
# Sign-in events reported on their own (with ConsoleLogin failures).
SIGNIN_REPORTED = {"PasswordRecoveryRequested", "PasswordRecoveryCompleted", "PasswordUpdated"}
DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                "Client.UnauthorizedOperation", "UnauthorizedAccess")

# AWS managed root-task policies: the actions each permits (IAM User Guide, "Perform a privileged task
# on a member account"). A member-side AssumeRoot session does not name its task; an approval for a
# task covers it only when every call it made is one the task permits.
ROOT_TASK_ACTIONS = {
    "IAMAuditRootUserCredentials": {
        "iam:GetAccountSummary", "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile", "iam:GetUser",
        "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"},
    "IAMCreateRootUserPassword": {"iam:CreateLoginProfile", "iam:GetLoginProfile", "iam:GetUser"},
    "IAMDeleteRootUserCredentials": {
        "iam:DeactivateMFADevice", "iam:DeleteAccessKey", "iam:DeleteLoginProfile",
        "iam:DeleteSigningCertificate", "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile", "iam:GetUser",
        "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates",
        "iam:DeleteVirtualMFADevice"},
    "S3UnlockBucketPolicy": {"s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:ListAllMyBuckets"},
    "SQSUnlockQueuePolicy": {"sqs:GetQueueAttributes", "sqs:ListQueues", "sqs:SetQueueAttributes"},
}
ROOT_TASKS = tuple(sorted(ROOT_TASK_ACTIONS))
# GetCallerIdentity needs no permission; every session may call it.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}


def parse_time(value):
    """A CloudTrail time (ISO 8601, or "Mar 5, 2025, 2:17:11 PM" inside responseElements) in UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not value:
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in ("%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _yes(value):
    return str(value).strip().lower() in ("yes", "true")


def _action(record):
    return f"{str(record.get('eventSource', '')).split('.')[0]}:{record.get('eventName')}"


@dataclass
class Session:
    kind: str
    start: datetime
    end: datetime
    key: str = None                 # access key id (or the sign-in's event id)
    signin: dict = None             # the ConsoleLogin that opened it (console)
    signin_found: bool = True
    mfa_used: bool = None
    task: str = None                # AssumeRoot task policy, when the history names it
    target_account: str = None      # the AssumeRoot call's target (caller side)
    side: str = None                # assume-root: "caller" (management) or "member"
    target_principal: str = None    # the AssumeRoot call's targetPrincipal as recorded
    events: list = field(default_factory=list)
    start_from: str = None          # what dates the start: START_SIGNIN, START_CREATED or START_CALL

    def add(self, record, when, created=None):
        self.events.append(record)
        self.end = max(self.end, when)
        if when < self.start:
            self.start, self.start_from = when, START_CALL
        # Credentials exist from their creationDate on; one after the call is no start.
        if created is not None and created < self.start and created <= when:
            self.start, self.start_from = created, START_CREATED

    @property
    def first_event(self):
        times = [parse_time(e.get("eventTime")) for e in self.events]
        return min((t for t in times if t is not None), default=None)

    @property
    def id(self):
        basis = f"{self.kind}/{self.key}/{iso(self.start)}/{self.target_account}"
        return hashlib.sha256(basis.encode()).hexdigest()[:12]

    @property
    def duration_seconds(self):
        return int((self.end - self.start).total_seconds())

    def calls(self):
        return [e for e in self.events if e.get("eventName") != "ConsoleLogin"
                and not (self.side == "caller" and e.get("eventName") == "AssumeRoot")]

    def as_dict(self):
        calls = self.calls()
        errors = [e for e in calls if e.get("errorCode")]
        denied = [e for e in errors if str(e.get("errorCode")) in DENIED_CODES
                  or "AccessDenied" in str(e.get("errorCode"))]
        changes = [{"event": e.get("eventName"), "time": iso(parse_time(e.get("eventTime"))),
                    "region": e.get("awsRegion")}
                   for e in calls if e.get("eventName") in CREDENTIAL_EVENTS and not e.get("errorCode")]
        mfa = self.mfa_used
        if mfa is None and calls:
            flags = [((e.get("userIdentity") or {}).get("sessionContext") or {}).get("attributes", {})
                     .get("mfaAuthenticated") for e in calls]
            flags = [f for f in flags if f is not None]
            mfa = any(_yes(f) for f in flags) if flags else None
        out = {
            "id": self.id, "kind": self.kind, "start": iso(self.start), "end": iso(self.end),
            "start_from": self.start_from or START_CALL, "first_event": iso(self.first_event),
            "duration_seconds": self.duration_seconds,
            "source_ips": sorted({e.get("sourceIPAddress") for e in self.events if e.get("sourceIPAddress")}),
            "user_agents": sorted({e.get("userAgent") for e in self.events if e.get("userAgent")}),
            "regions": sorted({e.get("awsRegion") for e in self.events if e.get("awsRegion")}),
            "mfa_used": mfa,
            "calls": dict(sorted(Counter(_action(e) for e in calls).items())),
            "call_count": len(calls),
            "errors": len(errors),
            "access_denied": len(denied),
            "denied_calls": sorted({_action(e) for e in denied}),
            "credential_changes": changes,
            "changed_credentials": bool(changes),
        }
        if self.key:
            out["access_key_id"] = self.key
        if self.kind == CONSOLE:
            out["signin"] = "success" if self.signin_found else "not in history"
        if self.kind == ASSUME_ROOT:
            out.update(task=self.task, side=self.side, target_account=self.target_account)
            if self.side == "caller":
                out["target_principal"] = self.target_principal
        return out

    def actions(self):
        return {_action(e) for e in self.calls()}


@dataclass
class History:
    sessions: list
    signin_events: list     # failed sign-ins, password recovery / change (dicts)
    skipped: int = 0        # service events and service-invoked calls


def _identity(record):
    return record.get("userIdentity") or {}


def _session_context(record):
    return _identity(record).get("sessionContext") or {}


def _assumed_root(record):
    return _yes(_session_context(record).get("assumedRoot")) or _yes(_identity(record).get("assumedRoot"))


def _created(record):
    return parse_time((_session_context(record).get("attributes") or {}).get("creationDate"))


def _signin_event(record, when):
    response = record.get("responseElements") or {}
    extra = record.get("additionalEventData") or {}
    name = record.get("eventName")
    result = response.get(name) if isinstance(response, dict) else None
    return {"event": name, "time": iso(when), "result": result or ("Failure" if record.get("errorMessage") else None),
            "error": record.get("errorMessage") or record.get("errorCode"),
            "source_ip": record.get("sourceIPAddress"), "user_agent": record.get("userAgent"),
            "mfa_used": _yes(extra.get("MFAUsed")) if "MFAUsed" in extra else None,
            "region": record.get("awsRegion"), "event_id": record.get("eventID")}


def group_sessions(records, account_id=None, console_hours=DEFAULT_CONSOLE_HOURS,
                   idle_gap_hours=DEFAULT_IDLE_GAP_HOURS):
    """:class:`History` of one account from its CloudTrail records (any order, duplicates dropped)."""
    seen, timed = set(), []
    for record in records:
        if not isinstance(record, dict):
            continue
        event_id = record.get("eventID")
        if event_id and event_id in seen:
            continue
        seen.add(event_id)
        when = parse_time(record.get("eventTime"))
        if when is not None:
            timed.append((when, record))
    timed.sort(key=lambda item: (item[0], str(item[1].get("eventID"))))

    console_window = timedelta(hours=console_hours)
    sessions, signins, skipped = [], [], 0
    logins = []                    # successful root sign-ins, in time order
    session_keys = {}              # temporary key -> parent long-term key (root GetSessionToken)
    by_key = {}                    # (kind, key) -> open session
    orphans = {}                   # console calls without a sign-in, by credentials' creation
    calls = []

    for when, record in timed:
        identity = _identity(record)
        if record.get("eventType") == "AwsServiceEvent":
            skipped += 1
            continue
        if record.get("eventSource") == "sts.amazonaws.com" and record.get("eventName") == "AssumeRoot" \
                and identity.get("type") != "Root":
            if not record.get("errorCode"):       # a refused AssumeRoot opened no session
                sessions.append(_assume_root_call(record, when))
            continue
        if identity.get("type") != "Root":
            continue
        if account_id and identity.get("accountId") and identity.get("accountId") != account_id:
            continue
        invoked_by = identity.get("invokedBy")
        if invoked_by and invoked_by not in CONSOLE_INVOKERS:
            skipped += 1
            continue
        if record.get("eventSource") == SIGNIN_SOURCE:
            name = record.get("eventName")
            if name == "ConsoleLogin":
                result = str((record.get("responseElements") or {}).get("ConsoleLogin", ""))
                if result.lower() == "success" and not record.get("errorMessage"):
                    extra = record.get("additionalEventData") or {}
                    session = Session(CONSOLE, when, when, key=record.get("eventID"), signin=record,
                                      mfa_used=_yes(extra.get("MFAUsed")), start_from=START_SIGNIN)
                    session.events.append(record)
                    logins.append(session)
                    sessions.append(session)
                else:
                    signins.append(_signin_event(record, when))
                continue
            if name in SIGNIN_REPORTED:
                signins.append(_signin_event(record, when))
            calls.append((when, record))
            continue
        if record.get("eventName") == "GetSessionToken" and not record.get("errorCode"):
            issued = (((record.get("responseElements") or {}).get("credentials") or {}).get("accessKeyId"))
            if issued:
                session_keys[issued] = identity.get("accessKeyId")
        calls.append((when, record))

    def login_for(created, when):
        # The latest sign-in whose credentials these are: created at the sign-in (when known),
        # and the call within the console session's lifetime.
        for login in reversed(logins):
            if when < login.start - SIGNIN_SKEW or when > login.start + console_window:
                continue
            if created is None or abs(created - login.start) <= SIGNIN_SKEW:
                return login
        return None

    for when, record in calls:
        identity = _identity(record)
        if record.get("eventSource") == SIGNIN_SOURCE:
            # password changes and other sign-in events belong to a session only when one is open
            login = login_for(None, when)
            if login is not None:
                login.add(record, when)
            continue
        key = identity.get("accessKeyId") or ""
        created = _created(record)
        console_flag = (_yes(record.get("sessionCredentialFromConsole"))
                        or identity.get("invokedBy") in CONSOLE_INVOKERS
                        or record.get("eventSource") == SIGNIN_SOURCE)
        if not console_flag and not key.startswith("AKIA") and key not in session_keys \
                and not _assumed_root(record) and created is not None:
            # temporary credentials created at a sign-in are console credentials
            console_flag = login_for(created, when) is not None
        if not key and not console_flag:
            console_flag = True       # no credentials at all: only the console signs like that
        if console_flag and not _assumed_root(record):
            login = login_for(created, when)
            if login is not None:
                login.add(record, when)      # the sign-in is the start; its credentials follow it
                continue
            anchor = iso(created) if created else key
            orphan = orphans.get(anchor)
            if orphan is None or when - orphan.end > console_window:
                orphan = orphans[anchor] = Session(CONSOLE, when, when, key=key or None, signin_found=False,
                                                   start_from=START_CALL)
                sessions.append(orphan)
            orphan.add(record, when, created)
            continue
        if key.startswith("AKIA") or key in session_keys:
            parent = session_keys.get(key, key)
            session = by_key.get((ACCESS_KEY, parent))
            if session is None or when - session.end > timedelta(hours=idle_gap_hours):
                session = by_key[(ACCESS_KEY, parent)] = Session(ACCESS_KEY, when, when, key=parent,
                                                                  start_from=START_CALL)
                sessions.append(session)
            # a long-term key has no creationDate; GetSessionToken credentials do
            session.add(record, when, created if key != parent else None)
            continue
        session = by_key.get((ASSUME_ROOT, key))
        if session is None:
            session = by_key[(ASSUME_ROOT, key)] = Session(
                ASSUME_ROOT, when, when, key=key, side="member",
                target_account=identity.get("accountId") or account_id, start_from=START_CALL)
            sessions.append(session)
        session.add(record, when, created)

    sessions.sort(key=lambda s: (s.start, s.kind, str(s.key)))
    return History(sessions, signins, skipped)


def _assume_root_call(record, when):
    params = record.get("requestParameters") or {}
    task_arn = str((params.get("taskPolicyArn") or {}).get("arn") or "")
    creds = (record.get("responseElements") or {}).get("credentials") or {}
    expires = parse_time(creds.get("expiration"))
    end = expires if expires and expires > when else when
    principal = str(params.get("targetPrincipal") or "")
    session = Session(ASSUME_ROOT, when, end, key=creds.get("accessKeyId"), side="caller",
                      task=task_arn.rsplit("/", 1)[-1] or None, target_account=target_account(principal),
                      target_principal=principal or None, start_from=START_CALL)
    session.events.append(record)
    return session


def caller_lookup(ok, error_code=None, error=None, always=False):
    """Whether this account's event history must be searched for ``sts:AssumeRoot`` calls.

    Only the management account and the IAM delegated administrator for centralized root access can
    call AssumeRoot (STS API reference), and the call is recorded in the caller's history. The same
    two, and no other account, can read ``iam:ListOrganizationsFeatures``: any other account is told
    ``AccountNotManagementOrDelegatedAdministratorException``. ``ok``/``error_code``/``error`` are that
    read's outcome. Skipping misses no root session: what a privileged session does is recorded in
    the member's own history as root activity (the ``Username = root`` lookup). Any other answer
    (AccessDenied, throttling, no organization) cannot rule the account out, so the lookup is made.
    """
    if always:
        return {"read": True, "why": "assume-root-calls: always"}
    if ok:
        return {"read": True, "why": "iam:ListOrganizationsFeatures answers here: the management account or "
                                     "the IAM delegated administrator, which can call AssumeRoot"}
    if error_code == NOT_CALLER:
        return {"read": False, "why": f"not the management account or the IAM delegated administrator "
                                      f"({NOT_CALLER}): AssumeRoot cannot be called from here"}
    return {"read": True, "why": f"cannot tell whether AssumeRoot can be called from here ({error}): looked up"}


def target_account(principal):
    """The account an AssumeRoot ``targetPrincipal`` names: "the member account principal ARN or
    account ID" (STS API reference), e.g. ``444455556666`` or ``arn:aws:iam::444455556666:root``.
    None when it is neither (the session's target is then unknown, never guessed)."""
    text = str(principal or "").strip()
    if ACCOUNT_ID_TEXT.match(text):
        return text
    parts = text.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") \
            and ACCOUNT_ID_TEXT.match(parts[4]):
        return parts[4]
    return None


def task_permits(task, actions):
    """True when every action is one the root task policy permits."""
    allowed = ROOT_TASK_ACTIONS.get(task)
    return allowed is not None and set(actions) <= (allowed | ALWAYS_ALLOWED)
