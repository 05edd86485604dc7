"""The break-glass approvals register and the ``root-sessions`` verdict (pure).

A register is YAML (a list of entries, or ``{approvals: [...]}``) or CSV (a header row), each entry:

``account`` (12 digits), ``start`` and ``end`` (ISO 8601; no offset means UTC), ``ticket``,
``justification``, ``approvers`` (a list, or one cell separated by ``;``, ``,`` or ``|``), optional
``task`` (an AssumeRoot root-task policy name: the entry then covers only AssumeRoot sessions whose
task is that one, or whose every call that task permits).

Rows that cannot be an approval (no account, unreadable times, end before start, unknown fields)
are reported with their line number and dropped. Rows that are approvals but fall short of dual
control (no ticket, no justification, fewer than two distinct approvers) are reported too and kept:
a session they cover is unapproved, and the reason names the row.
"""
import csv
import io
import re
from dataclasses import dataclass, field


from rootguard_filters.decide.root_sessions import (
    ASSUME_ROOT, ROOT_TASKS, iso, parse_time, task_permits)
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

FIELDS = ("account", "start", "end", "ticket", "justification", "approvers", "task", "id", "notes")
REQUIRED = ("account", "start", "end")
ACCOUNT_ID = re.compile(r"^\d{12}$")
MISSING_REGISTER = ("no approvals register given (filter option approvals, or ROOTGUARD_APPROVALS): "
                    "every root session is unapproved")


class RegisterError(Exception):
    """The register as a whole cannot be read (not found, denied, not YAML/CSV)."""


@dataclass(frozen=True)
class Approval:
    line: int
    account: str
    start: object
    end: object
    ticket: str
    justification: str
    approvers: tuple
    task: str = None
    shortfalls: tuple = ()

    @property
    def label(self):
        return f"ticket {self.ticket}" if self.ticket else f"register line {self.line}"

    def as_dict(self):
        return {"line": self.line, "account": self.account, "start": iso(self.start), "end": iso(self.end),
                "ticket": self.ticket, "justification": self.justification,
                "approvers": list(self.approvers), "task": self.task, "shortfalls": list(self.shortfalls)}


@dataclass
class Register:
    source: str
    approvals: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # {"line", "error"}


def _text(value):
    return "" if value is None else str(value).strip()


def _account(value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:012d}"     # YAML reads an unquoted id as a number (leading zeros lost)
    return _text(value)


def _approvers(value):
    if isinstance(value, (list, tuple)):
        names = [_text(v) for v in value]
    else:
        names = re.split(r"[;,|]", _text(value))
    return tuple(n for n in names if n)


def parse_entry(row, line):
    """(Approval or None, [problems]) for one row."""
    if not isinstance(row, dict):
        return None, [{"line": line, "error": "entry is not a mapping of fields"}]
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    problems = []
    unknown = sorted(k for k in row if k not in FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    missing = [k for k in REQUIRED if not _text(row.get(k))]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    account = _account(row.get("account"))
    if account and not ACCOUNT_ID.match(account):
        problems.append(f"account {account!r} is not a 12-digit account id")
    start, end = parse_time(_text(row.get("start"))), parse_time(_text(row.get("end")))
    for name, value, parsed in (("start", row.get("start"), start), ("end", row.get("end"), end)):
        if _text(value) and parsed is None:
            problems.append(f"{name} {_text(value)!r} is not an ISO 8601 time")
    if start and end and end <= start:
        problems.append("end is not after start")
    task = _text(row.get("task")) or None
    if task and task.rsplit("/", 1)[-1] not in ROOT_TASKS:
        problems.append(f"task {task!r} is not a root task ({', '.join(ROOT_TASKS)})")
    if problems:
        return None, [{"line": line, "error": "; ".join(problems)}]
    approvers = _approvers(row.get("approvers"))
    distinct = {a.lower() for a in approvers}
    shortfalls = []
    if not _text(row.get("ticket")):
        shortfalls.append("no ticket")
    if not _text(row.get("justification")):
        shortfalls.append("no justification")
    if len(distinct) < 2:
        shortfalls.append(f"{len(distinct)} distinct approver(s), dual control needs 2")
    approval = Approval(line, account, start, end, _text(row.get("ticket")), _text(row.get("justification")),
                        approvers, task.rsplit("/", 1)[-1] if task else None, tuple(shortfalls))
    return approval, [{"line": line, "error": s} for s in shortfalls]


def parse_register(text, source="register"):
    """A :class:`Register` from YAML or CSV text (CSV when ``source`` ends in .csv)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RegisterError(f"{source}: not UTF-8 text: {error}") from None
    register = Register(source)
    rows = _csv_rows(text, source) if source.lower().endswith(".csv") else _yaml_rows(text, source)
    for line, row in rows:
        approval, problems = parse_entry(row, line)
        register.problems.extend(problems)
        if approval is not None:
            register.approvals.append(approval)
    return register


def _csv_rows(text, source):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise RegisterError(f"{source}: empty CSV, no header row")
    header = [str(h).strip().lower() for h in reader.fieldnames]
    if "account" not in header:
        raise RegisterError(f"{source}: CSV header has no 'account' column: {reader.fieldnames}")
    rows = []
    for row in reader:
        if not any(_text(v) for k, v in row.items() if k is not None):
            continue
        extra = row.pop(None, None)      # more cells than the header names
        if extra:
            row["(extra cells)"] = extra
        rows.append((reader.line_num, row))
    return rows


def _yaml_rows(text, source):
    try:
        import yaml   # not in the Lambda archive: a CSV register needs no PyYAML
    except ImportError:
        raise RegisterError(f"{source}: reading a YAML register needs PyYAML; use a .csv register") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RegisterError(f"{source}: not YAML: {error}") from None
    if data is None:
        return []
    if isinstance(data, dict) and set(data) == {"approvals"}:
        data = data["approvals"] or []
        node = node.value[0][1]
    if not isinstance(data, list):
        raise RegisterError(f"{source}: expected a list of approvals (or 'approvals: [...]')")
    return [(item.start_mark.line + 1, row) for item, row in zip(node.value, data)]


# ---- approval of one session --------------------------------------------------------------

APPROVED, UNAPPROVED = "approved", "unapproved"


def _fits_task(approval, session):
    if approval.task is None:
        return True
    if session.kind != ASSUME_ROOT:
        return False
    if session.task:
        return session.task == approval.task
    return task_permits(approval.task, session.actions())


def approval_for(session, account_id, register):
    """{"status", "reason", "approval"} for one session against the register (None = no register)."""
    if register is None:
        return {"status": UNAPPROVED, "reason": MISSING_REGISTER, "approval": None}
    account = session.target_account if session.side == "caller" else account_id
    start, end = session.start, session.end
    covering = [a for a in register.approvals if a.account == account and a.start <= start <= a.end]
    if not covering:
        return {"status": UNAPPROVED, "approval": None,
                "reason": f"no approval for account {account} covers {iso(start)}"}
    fitting = [a for a in covering if _fits_task(a, session)]
    if not fitting:
        a = covering[0]
        what = f"task {session.task}" if session.task else f"calls {', '.join(sorted(session.actions())) or 'none'}"
        return {"status": UNAPPROVED, "approval": a.as_dict(),
                "reason": f"{a.label} approves task {a.task}, not this {session.kind} session ({what})"}
    # Best first: sound approvals, then those that contain the whole session.
    fitting.sort(key=lambda a: (bool(a.shortfalls), end > a.end, a.line))
    best = fitting[0]
    if best.shortfalls:
        return {"status": UNAPPROVED, "approval": best.as_dict(),
                "reason": f"{best.label} (line {best.line}) falls short: {'; '.join(best.shortfalls)}"}
    if end > best.end:
        return {"status": UNAPPROVED, "approval": best.as_dict(),
                "reason": f"session outlasted {best.label}: ran until {iso(end)}, window ended {iso(best.end)}"}
    return {"status": APPROVED, "approval": best.as_dict(),
            "reason": f"approved by {best.label} ({', '.join(best.approvers)})"}


def describe(session):
    where = ", ".join(sorted({e.get("sourceIPAddress") for e in session.events if e.get("sourceIPAddress")}))
    text = f"{session.kind} session {iso(session.start)}"
    if session.side == "caller":
        text = f"AssumeRoot into {session.target_account} ({session.task}) at {iso(session.start)}"
    return f"{text} from {where}" if where else text


def decide_root_sessions(account_id, history, register, days, regions_read, regions_failed,
                         register_error=None, match="unapproved"):
    """The ``root-sessions`` verdict.

    ``regions_failed``: {region: error}; ``register``: a Register, None when no register was given;
    ``register_error``: why the given register could not be read. ``match``: ``unapproved`` flags
    sessions no sound approval covers; ``any`` flags any root session, failed sign-in or password
    recovery.
    """
    sessions = []
    for session in history.sessions:
        entry = session.as_dict()
        entry["approval"] = (None if register_error else approval_for(session, account_id, register))
        sessions.append((session, entry))
    details = {
        "days": days, "sessions": [e for _, e in sessions], "signin_events": history.signin_events,
        "regions_read": sorted(regions_read), "regions_failed": dict(sorted(regions_failed.items())),
        "register": None if register is None else register.source,
        "register_problems": [] if register is None else register.problems,
    }
    if register_error:
        details["register_error"] = register_error
    unread = (f"; event history not read in {len(regions_failed)} region(s): "
              + "; ".join(f"{r}: {e}" for r, e in sorted(regions_failed.items()))) if regions_failed else ""
    counts = (f"{len(sessions)} root session(s), {len(history.signin_events)} failed sign-in / "
              f"password event(s) in the last {days} days")

    if match == "any":
        if sessions or history.signin_events:
            first = describe(sessions[0][0]) if sessions else (
                f"{history.signin_events[0]['event']} at {history.signin_events[0]['time']}")
            return non_compliant(f"root activity: {counts}; first: {first}{unread}", **details)
    else:
        if register_error and sessions:
            return could_not_evaluate(f"approvals register unreadable: {register_error}; {counts}", **details)
        bad = [(s, e) for s, e in sessions if e["approval"]["status"] != APPROVED]
        if bad:
            listed = "; ".join(f"{describe(s)}: {e['approval']['reason']}" for s, e in bad[:3])
            more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
            return non_compliant(f"{len(bad)} of {len(sessions)} root session(s) in the last {days} days "
                                 f"unapproved: {listed}{more}{unread}", **details)
        if register_error:
            return could_not_evaluate(f"approvals register unreadable: {register_error}", **details)
    if regions_failed:
        return could_not_evaluate(f"root activity unknown{unread}", **details)
    if not sessions:
        return compliant(f"no root session in the last {days} days ({len(regions_read)} region(s) read)"
                         + (f"; {len(history.signin_events)} failed sign-in / password event(s)"
                            if history.signin_events else ""), **details)
    if match == "any":
        return compliant(f"no root activity in the last {days} days", **details)
    failed = (f"; {len(history.signin_events)} failed sign-in / password event(s)"
              if history.signin_events else "")
    return compliant(f"all {len(sessions)} root session(s) in the last {days} days approved{failed}", **details)
