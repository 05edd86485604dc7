"""The break-glass approvals register and the ``root-sessions`` verdict (pure).

A register is YAML (a list of entries, or ``{approvals: [...]}``) or CSV (a header row), each entry:

``account`` (a 12-digit string), ``start`` and ``end`` (ISO 8601; no offset means UTC), ``ticket``,
``justification``, ``approvers`` (a list, or one cell separated by ``;``, ``,``, ``|`` or a line break),
optional ``task`` (an AssumeRoot root-task policy name: the entry then covers only AssumeRoot sessions
whose task is that one, or whose every call that task permits).

Registers come from spreadsheets and ticket systems: CSV may be UTF-8 (with or without BOM) or UTF-16,
delimited by ``,``, ``;`` or a tab (sniffed from the header row). An account id YAML read as a number
(``account: 012345670123`` unquoted is octal to YAML 1.1) is a problem naming the row, never
coerced. Approvers are compared as identities: trimmed, ``Name <addr>`` and ``mailto:addr`` reduced to
the address, NFKC-normalised, case-folded; an approver or ticket with an invisible character
(zero-width space, bidi control, ...), an address with a non-ASCII character or a name mixing
scripts (a Cyrillic 'а' in a Latin name) cannot be told apart from another and makes the row fall short.

Rows that cannot be an approval (no account, unreadable times, end before start, unknown fields)
are reported with their line number and dropped. Rows that are approvals but fall short of dual
control (no ticket, no justification, fewer than two distinct approvers, an invisible character)
are reported too and kept: a session they cover is unapproved, and the reason names the row.
"""
import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field


from rootguard_filters.decide.root_sessions import (
    ASSUME_ROOT, ROOT_TASKS, START_CREATED, iso, parse_time, task_permits)
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


def _invisible(text):
    """The first character of ``text`` no reader can see (format and control characters other than
    the spaces, tabs and line breaks trimming removes), as ``U+XXXX NAME``; None when there is none."""
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cf", "Co", "Cn") or (category == "Cc" and char not in "\t\n\r"):
            return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"
    return None


def _account(value, raw=None):
    """(account id, problem): the id as written, or why the cell is not a 12-digit string."""
    if value is None:
        return "", None
    if not isinstance(value, str):
        # YAML read an unquoted id as a number: leading zeros dropped, and 0-prefixed ids read as octal.
        shown = raw if raw is not None else value
        return "", (f"account {shown} is not a string: YAML read it as the number {value!r}; "
                    f"quote it ('{shown}')")
    account = value.strip()
    if account and not ACCOUNT_ID.match(account):
        return account, f"account {account!r} is not a 12-digit account id"
    return account, None


APPROVER_SPLIT = re.compile(r"[;,|\n\r]")
NAMED_ADDRESS = re.compile(r"^[^<>]*<([^<>]+)>$")


def approver_identity(text):
    """The identity an approver cell names: ``Name <addr>`` and ``mailto:addr`` reduced to the address,
    surrounding quotes and spaces dropped, inner runs of spaces collapsed, case-folded."""
    name = text.strip().strip("'\"").strip()
    named = NAMED_ADDRESS.match(name)
    if named:
        name = named.group(1).strip()
    if name.lower().startswith("mailto:"):
        name = name[len("mailto:"):].split("?", 1)[0].strip()
    return unicodedata.normalize("NFKC", " ".join(name.split())).casefold()


def _lookalike(identity):
    """Why an identity could pass for another one (a Cyrillic 'а' in a Latin address), or None: an
    address with a non-ASCII character, or a name mixing the letters of several scripts."""
    if "@" in identity:
        odd = next((c for c in identity if ord(c) > 127), None)
        return f"non-ASCII character {odd!r} ({unicodedata.name(odd, '?')}) in an address" if odd else None
    scripts = {unicodedata.name(c, "?").split()[0] for c in identity if c.isalpha()}
    return f"letters of several scripts ({', '.join(sorted(scripts))})" if len(scripts) > 1 else None


def _approvers(value):
    """(identities in order, distinct; [problems]) of an approvers cell or list."""
    if isinstance(value, (list, tuple)):
        names = [_text(v) for v in value]
    else:
        names = APPROVER_SPLIT.split(_text(value))
    identities, problems = [], []
    for number, name in enumerate((n for n in names if n.strip()), 1):
        hidden = _invisible(name)
        if hidden:
            problems.append(f"approver {number} {name!r} contains an invisible character ({hidden}): "
                            "retype it")
            continue
        identity = approver_identity(name)
        lookalike = _lookalike(identity)
        if lookalike:
            problems.append(f"approver {number} {name!r} could pass for someone else: {lookalike}; "
                            "write it in one script (an address in ASCII)")
            continue
        if identity and identity not in identities:
            identities.append(identity)
    return tuple(identities), problems


def _field_text(row, name, shortfalls):
    """A free-text field trimmed; an invisible character in it is a shortfall (it could hide a
    different ticket), a field of nothing but spaces and invisible characters is missing."""
    text = _text(row.get(name))
    hidden = _invisible(text)
    if hidden:
        visible = "".join(c for c in text if not _invisible(c)).strip()
        if not visible:
            return ""
        shortfalls.append(f"{name} {text!r} contains an invisible character ({hidden}): retype it")
    return text


def parse_entry(row, line, raw=None):
    """(Approval or None, [problems]) for one row; ``raw``: the row's cells as written (YAML scalars),
    to show a value YAML converted."""
    if not isinstance(row, dict):
        return None, [{"line": line, "error": "entry is not a mapping of fields"}]
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    problems = []
    unknown = sorted(k for k in row if k not in FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    missing = [k for k in REQUIRED if row.get(k) is None or not _text(row.get(k))]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    account, account_problem = _account(row.get("account"), (raw or {}).get("account"))
    if account_problem:
        problems.append(account_problem)
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
    shortfalls = []
    ticket = _field_text(row, "ticket", shortfalls)
    justification = _field_text(row, "justification", shortfalls)
    approvers, approver_problems = _approvers(row.get("approvers"))
    shortfalls.extend(approver_problems)
    if not ticket:
        shortfalls.append("no ticket")
    if not justification:
        shortfalls.append("no justification")
    if len(approvers) < 2:
        shortfalls.append(f"{len(approvers)} distinct approver(s), dual control needs 2")
    approval = Approval(line, account, start, end, ticket, justification,
                        approvers, task.rsplit("/", 1)[-1] if task else None, tuple(shortfalls))
    return approval, [{"line": line, "error": s} for s in shortfalls]


def decode_register(body, source="register"):
    """Text of a register file: UTF-8 with or without BOM, or UTF-16 (BOM, or ASCII-range text
    whose every other byte is NUL, as Excel's "Unicode Text" writes). Anything else is a
    :class:`RegisterError` that says how to save the file."""
    if isinstance(body, str):
        return body[1:] if body.startswith("\ufeff") else body
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif body.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif len(body) >= 2 and body[1::2][:64].count(0) == len(body[1::2][:64]) and body[0] != 0:
        encoding = "utf-16-le"
    elif len(body) >= 2 and body[0::2][:64].count(0) == len(body[0::2][:64]) and body[1] != 0:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        raise RegisterError(
            f"{source}: not {encoding.upper()} text (byte 0x{body[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)') or UTF-16") from None
    if "\x00" in text:
        raise RegisterError(f"{source}: NUL characters in {encoding.upper()} text: not a text file, "
                            "or a mixed encoding; save it as UTF-8")
    return text


def parse_register(text, source="register"):
    """A :class:`Register` from YAML or CSV text or bytes (CSV when ``source`` ends in .csv)."""
    text = decode_register(text, source)
    register = Register(source)
    rows = _csv_rows(text, source) if source.lower().endswith(".csv") else _yaml_rows(text, source)
    for line, row, raw in rows:
        approval, problems = parse_entry(row, line, raw)
        register.problems.extend(problems)
        if approval is not None:
            register.approvals.append(approval)
    return register


CSV_DELIMITERS = (",", ";", "\t")


SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)     # Excel's delimiter hint line


def _csv_header(text, source):
    """(delimiter whose reading of the header row has an ``account`` column, lines before the header
    to skip: Excel's ``sep=;`` hint)."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise RegisterError(f"{source}: empty CSV, no header row")
    hint = SEP_LINE.match(first)
    if hint:
        skip = lines.index(first) + 1
        header = next(csv.reader([next((line for line in lines[skip:] if line.strip()), "")],
                                 delimiter=hint.group(1)), [])
        if "account" not in (h.strip().lower() for h in header):
            raise RegisterError(f"{source}: CSV header row (after {first!r}) has no 'account' column")
        return hint.group(1), skip
    for delimiter in CSV_DELIMITERS:
        header = next(csv.reader([first], delimiter=delimiter))
        if "account" in (h.strip().lower() for h in header):
            return delimiter, 0
    raise RegisterError(
        f"{source}: CSV header row has no 'account' column with ',', ';' or tab as delimiter: {first[:120]!r}; "
        f"the first row must name the columns ({', '.join(FIELDS[:6])}, ...)")


def _csv_rows(text, source):
    delimiter, skip = _csv_header(text, source)
    stream = io.StringIO(text)
    for _ in range(skip):
        stream.readline()
    reader = csv.DictReader(stream, delimiter=delimiter)
    rows = []
    for row in reader:
        if not any(_text(v) for k, v in row.items() if k is not None):
            continue
        extra = row.pop(None, None)      # more cells than the header names
        if extra:
            row["(extra cells)"] = extra
        rows.append((reader.line_num + skip, row, None))
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
    return [(item.start_mark.line + 1, row, _raw_scalars(item)) for item, row in zip(node.value, data)]


def _raw_scalars(node):
    """{field: the scalar as written} of one YAML entry (to name what YAML turned into a number)."""
    if not hasattr(node, "value") or not isinstance(node.value, list):
        return {}
    raw = {}
    for pair in node.value:
        if isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1].value, str):
            raw[str(pair[0].value).strip().lower()] = pair[1].value
    return raw


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
    if not account:
        return {"status": UNAPPROVED, "approval": None,
                "reason": f"AssumeRoot target {session.target_principal!r} is neither an account id nor a "
                          "member principal ARN: no approval can be matched to it"}
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


def describe(session, since=None):
    where = ", ".join(sorted({e.get("sourceIPAddress") for e in session.events if e.get("sourceIPAddress")}))
    text = f"{session.kind} session {iso(session.start)}"
    if session.side == "caller":
        target = session.target_account or session.target_principal
        text = f"AssumeRoot into {target} ({session.task}) at {iso(session.start)}"
    elif session.start_from == START_CREATED:
        before = " (before the history window)" if since is not None and session.start < since else ""
        text += f"{before}, from its credentials' creationDate; first recorded call {iso(session.first_event)}"
    return f"{text} from {where}" if where else text


def decide_root_sessions(account_id, history, register, days, regions_read, regions_failed,
                         register_error=None, match="unapproved", since=None, caller_lookup=None):
    """The ``root-sessions`` verdict.

    ``regions_failed``: {region: error}; ``register``: a Register, None when no register was given;
    ``register_error``: why the given register could not be read. ``match``: ``unapproved`` flags
    sessions no sound approval covers; ``any`` flags any root session, failed sign-in or password
    recovery. ``since``: the start of the history read; a session that began before it says so.
    ``caller_lookup``: {"read": bool, "why": str}, whether AssumeRoot calls (made only from the
    management account or the IAM delegated administrator) were looked up here.
    """
    sessions = []
    for session in history.sessions:
        entry = session.as_dict()
        if since is not None:
            entry["started_before_window"] = session.start < since
        entry["approval"] = (None if register_error else approval_for(session, account_id, register))
        sessions.append((session, entry))
    details = {
        "days": days, "sessions": [e for _, e in sessions], "signin_events": history.signin_events,
        "regions_read": sorted(regions_read), "regions_failed": dict(sorted(regions_failed.items())),
        "register": None if register is None else register.source,
        "register_problems": [] if register is None else register.problems,
    }
    if caller_lookup is not None:
        details["assume_root_calls"] = caller_lookup
    if register_error:
        details["register_error"] = register_error
    unread = (f"; event history not read in {len(regions_failed)} region(s): "
              + "; ".join(f"{r}: {e}" for r, e in sorted(regions_failed.items()))) if regions_failed else ""
    counts = (f"{len(sessions)} root session(s), {len(history.signin_events)} failed sign-in / "
              f"password event(s) in the last {days} days")

    if match == "any":
        if sessions or history.signin_events:
            first = describe(sessions[0][0], since) if sessions else (
                f"{history.signin_events[0]['event']} at {history.signin_events[0]['time']}")
            return non_compliant(f"root activity: {counts}; first: {first}{unread}", **details)
    else:
        if register_error and sessions:
            return could_not_evaluate(f"approvals register unreadable: {register_error}; {counts}", **details)
        bad = [(s, e) for s, e in sessions if e["approval"]["status"] != APPROVED]
        if bad:
            listed = "; ".join(f"{describe(s, since)}: {e['approval']['reason']}" for s, e in bad[:3])
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
