"""Read custodian / c7n-org output directories into an accounts × controls ``Matrix``.

Only files are read (no c7n import), so any past run's output can be reported. Layouts:

* c7n-org: ``OUT/<account-name>/<region>/<policy>/`` — the directory name is the account *name* from
  accounts.yml; c7n-org puts the account id into ``metadata.json`` under ``config.account_id``.
* plain custodian: ``OUT/<policy>/`` for one account (``config.account_id`` from STS or ``--assume``).

A policy directory holds ``metadata.json`` (written when the policy's run ends, even on error),
``resources.json`` (only flagged resources; written only when the resource query finished),
``rootguard-verdicts.json`` (every verdict of the pack's filters) and ``custodian-run.log``.

A *pack policy* (one that uses a pack filter, or left verdicts) gets its cells from the verdicts,
never from membership in ``resources.json``: a user policy may wrap the filter in ``not:`` or add
other filters, which changes what is flagged but not what the filter found. A pack policy that
completed without a verdict for an account is could-not-evaluate ("no verdict recorded"). Policies
with built-in filters only keep the resources.json rule: flagged is non-compliant.

A policy feeds the control its ``metadata.control`` names (else the control its name is), so renamed
and custom copies of the pack's policies are reported under their control; one mapped to a pack control
without running that control's pack filter is could-not-evaluate, never compliant.

One run, one truth: c7n rewrites ``metadata.json`` on every run but leaves an earlier run's other files in
a reused output directory (``custodian run -s out`` again and again). A policy directory's files count
only when they belong to the run ``metadata.json`` describes: ``resources.json`` and ``action-*`` files
older than its start, a verdict file stamped with another execution id, and log records from before it
are output of an earlier run — never a verdict (``stale``). c7n-org's saved log is the latest run of every
account it names: an account it could not assume, or stopped at an AccessDenied, is could-not-evaluate with
that cause whatever older output the directory still holds.
"""
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import yaml

from rootguard_filters.catalog import CUSTODIAN_FILTERS, BY_ID, CONTROLS, REVIEW, SEVERITIES
from rootguard_filters.verdict import (
    COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_APPLICABLE, STATUSES)

# A report-only status: no output exists for the cell. It is never folded into compliant.
NOT_EVALUATED = "not-evaluated"
REPORT_STATUSES = (COMPLIANT, NON_COMPLIANT, COULD_NOT_EVALUATE, NOT_APPLICABLE, NOT_EVALUATED)
PROBLEM_STATUSES = (COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_EVALUATED)

# Worst first. When one account × control has several outputs (regions, or several source
# accounts for an org-level control) the worst wins: an unknown outranks a finding because it may
# hide one *and* says the audit itself is broken; a missing output outranks not-applicable and
# compliant because nothing was checked.
WORST_FIRST = (COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_EVALUATED, NOT_APPLICABLE, COMPLIANT)
_RANK = {status: rank for rank, status in enumerate(WORST_FIRST)}

ORG_RESOURCE = "aws.org-account"
VERDICTS_FILE = "rootguard-verdicts.json"   # same name as rootguard_filters.plumbing.base (which imports c7n)
ANNOTATION_KEY = "c7n:rootguard"
RUN_FILES = ("metadata.json", "resources.json", VERDICTS_FILE, "custodian-run.log")
# Logged by c7n.output.LogOutput.__exit__ when a policy run raises (plain custodian only: c7n-org
# silences the custodian.output logger, so there a missing resources.json is the error signal).
POLICY_ERROR_LINE = "Error while executing policy"
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d+)")
# Action record results that mean a fix did not happen (as rootguard_filters.plumbing.writes, which
# imports c7n): they are listed per account and fail the report.
UNFIXED_RESULTS = ("failed", "left-behind", "not-attempted")
# What the pack raises after recording unfixed writes: the policy's evaluation itself completed.
FIXES_FAILED = "FixesFailed"
# c7n-org runs an account's policies one after another in one process: consecutive policy runs of one
# sequence are milliseconds apart, while a new c7n-org run starts a second or more after the last.
SEQUENCE_GAP = 0.5
# c7n-org logs an AccessDenied right after the policy's metadata.json is written.
LOG_SLACK = 2.0


class ReportInputError(Exception):
    """The output directory or the accounts file cannot be read at all (exit status 2)."""


def iso(epoch):
    """An epoch time as ISO 8601 UTC (``2026-11-28T04:09:40Z``), or None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Cell:
    status: str
    reason: str
    details: dict = field(default_factory=dict)
    policy: str = None
    region: str = None
    evaluated_at: str = None     # ISO 8601 UTC end of the policy run that produced the cell

    def as_dict(self):
        return {"status": self.status, "reason": self.reason, "details": self.details,
                "policy": self.policy, "region": self.region, "evaluated_at": self.evaluated_at}


@dataclass(eq=False)
class Account:
    """One account row; ``id`` may be unknown (a c7n-org directory without metadata)."""
    id: str = None
    name: str = None
    declared: bool = False      # listed in the accounts file

    @property
    def key(self):
        return self.id or f"name:{self.name}"

    @property
    def label(self):
        if self.name and self.id and self.name != self.id:
            return f"{self.name} ({self.id})"
        return self.name or self.id or "?"


def worst(cells):
    """The worst cell (ties keep the first, i.e. the first region in directory order)."""
    return min(cells, key=lambda cell: _RANK[cell.status])


@dataclass
class Matrix:
    accounts: list
    cells: dict                  # (account.key, control id) -> Cell
    controls: tuple = CONTROLS
    source: str = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # shown first in every format (e.g. a stale resource list)
    run_started: float = None    # earliest policy start in the output (epoch seconds)
    run_ended: float = None      # latest policy end: the results are "as of" this time
    generated: float = None      # when the report was made
    stale: list = field(default_factory=list)    # earlier runs' files seen and not used ("where: what")
    fixes: list = field(default_factory=list)    # action records whose fix did not happen (dicts, see FIX_FIELDS)

    def cell(self, account, control_id):
        """The account × control cell, or None when the control was not run for the account at all
        (e.g. a member seen only through organization-level policies of a single-account run)."""
        key = account if isinstance(account, str) else account.key
        return self.cells.get((key, control_id))

    def has_output(self):
        """Whether any rootguard policy output was found (an accounts file alone gives none): a cell, or
        a remediation policy's failed fix."""
        return bool(self.fixes) or any(cell.status != NOT_EVALUATED for cell in self.cells.values())

    def times(self):
        """{"as_of", "run_started", "run_ended", "generated"} as ISO 8601 UTC strings (None if unknown)."""
        return {"as_of": iso(self.run_ended), "run_started": iso(self.run_started),
                "run_ended": iso(self.run_ended), "generated": iso(self.generated)}

    def problems(self, account):
        """Cells of the account that need attention, worst first: [(control, cell)]."""
        found = [(c, self.cell(account, c.id)) for c in self.ordered_controls()]
        found = [(c, cell) for c, cell in found if cell is not None and cell.status in PROBLEM_STATUSES]
        return sorted(found, key=lambda item: (_RANK[item[1].status], SEVERITIES.index(item[0].severity)))

    def ranked_accounts(self):
        """Accounts worst first: failing Critical controls outweigh High, High outweigh Medium;
        then not-evaluated cells; ties keep the accounts file / label order."""
        weight = {severity: 100 ** (len(SEVERITIES) - rank) for rank, severity in enumerate(SEVERITIES)}

        def badness(account):
            score, missing = 0, 0
            for control in self.controls:
                cell = self.cell(account, control.id)
                if cell is None:
                    continue
                if cell.status in (COULD_NOT_EVALUATE, NON_COMPLIANT):
                    score += weight[control.severity]
                elif cell.status == NOT_EVALUATED:
                    missing += 1
            return (-score, -missing)
        order = {a.key: i for i, a in enumerate(self.accounts)}
        return sorted(self.accounts, key=lambda a: (badness(a), order[a.key]))

    def counts(self, statuses):
        """How many cells have one of ``statuses``."""
        return sum(1 for cell in self.cells.values() if cell.status in statuses)

    def ordered_controls(self):
        """Controls grouped by priority (Critical, High, Medium), catalogue order within a group."""
        return [c for severity in SEVERITIES for c in self.controls if c.severity == severity]

    def controls_by_severity(self):
        groups = [(s, [c for c in self.controls if c.severity == s]) for s in SEVERITIES]
        return [(severity, controls) for severity, controls in groups if controls]

    def totals_by_control(self):
        return {c.id: self._count(self.cell(a, c.id) for a in self.accounts) for c in self.controls}

    def totals_by_account(self):
        return {a.key: self._count(self.cell(a, c.id) for c in self.controls) for a in self.accounts}

    @staticmethod
    def _count(cells):
        totals = dict.fromkeys(REPORT_STATUSES, 0)
        for cell in cells:
            if cell is not None:
                totals[cell.status] += 1
        return totals

    def to_dict(self):
        return {
            "source": self.source,
            **self.times(),
            "warnings": list(self.warnings),
            "stale_output_seen": bool(self.stale),
            "stale_output": list(self.stale),
            "failed_fixes": [dict(f) for f in self.fixes],
            "statuses_worst_first": list(WORST_FIRST),
            "controls": [{"id": c.id, "title": c.title, "severity": c.severity, "cis": list(c.cis),
                          "security_hub": list(c.security_hub), "resource": c.resource}
                         for c in self.ordered_controls()],
            "accounts": [{"id": a.id, "name": a.name, "declared": a.declared} for a in self.accounts],
            "cells": [dict(account_id=a.id, account_name=a.name, control=c.id,
                           **self.cell(a, c.id).as_dict())
                      for a in self.accounts for c in self.ordered_controls() if self.cell(a, c.id)],
            "totals": {"by_control": self.totals_by_control(),
                       "by_account": {a.label: t for a, t in
                                      zip(self.accounts, self.totals_by_account().values())}},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data):
        """Rebuild a matrix from ``to_dict()`` output (the JSON format)."""
        accounts = [Account(a["id"], a["name"], a.get("declared", False)) for a in data["accounts"]]
        by_pair = {(a.id, a.name): a for a in accounts}
        cells = {}
        for row in data["cells"]:
            account = by_pair[(row["account_id"], row["account_name"])]
            cells[(account.key, row["control"])] = Cell(
                row["status"], row["reason"], row.get("details") or {}, row.get("policy"), row.get("region"),
                row.get("evaluated_at"))
        controls = tuple(BY_ID[c["id"]] for c in data["controls"] if c["id"] in BY_ID)
        return cls(accounts, cells, controls or CONTROLS, data.get("source"), list(data.get("notes", [])),
                   list(data.get("warnings", [])), parse_iso(data.get("run_started")),
                   parse_iso(data.get("run_ended")), parse_iso(data.get("generated")),
                   list(data.get("stale_output", [])), [dict(f) for f in data.get("failed_fixes", [])])


# One failed fix as the report carries it (JSON "failed_fixes", CSV rows of kind "fix").
FIX_FIELDS = ("account_id", "account_name", "policy", "control", "region", "action", "call", "target",
              "result", "detail", "error_code", "evaluated_at")


def parse_iso(text):
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


# ---------------------------------------------------------------- accounts

def normalise_id(value):
    """Account ids as 12-digit strings (YAML may have read an unquoted id as an int)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return str(value).zfill(12)
    return str(value)


class AccountIndex:
    """Maps account ids ↔ names from every source; the accounts file's names win."""

    def __init__(self):
        self.accounts = []
        self._by_id = {}
        self._by_name = {}

    def resolve(self, account_id=None, name=None, declared=False):
        account_id = normalise_id(account_id)
        account = self._by_id.get(account_id) if account_id else None
        if account is None and name in self._by_name:
            candidate = self._by_name[name]
            # A name only merges with an account whose id is unknown or equal.
            if account_id is None or candidate.id in (None, account_id):
                account = candidate
        if account is None:
            account = Account(account_id, name, declared)
            self.accounts.append(account)
        if account_id and not account.id:
            account.id = account_id
        if name and not account.name:
            account.name = name
        account.declared = account.declared or declared
        if account.id:
            self._by_id[account.id] = account
        if account.name:
            self._by_name.setdefault(account.name, account)
        return account

    def id_for_name(self, name):
        account = self._by_name.get(name)
        return account.id if account else None

    def ordered(self):
        """Accounts file order first, then the others by label."""
        declared = [a for a in self.accounts if a.declared]
        others = sorted((a for a in self.accounts if not a.declared), key=lambda a: a.label.lower())
        return declared + others


def load_accounts_file(path):
    """[(account_id, name)] from a c7n-org accounts file (YAML or JSON)."""
    try:
        with open(path, encoding="utf-8") as f:
            # BaseLoader keeps every scalar a string: an unquoted 0123... id stays intact.
            data = yaml.load(f, Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError) as error:
        raise ReportInputError(f"cannot read accounts file {path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise ReportInputError(f"accounts file {path} has no 'accounts' list")
    entries = []
    for entry in data["accounts"]:
        if not isinstance(entry, dict) or not (entry.get("account_id") or entry.get("name")):
            raise ReportInputError(f"accounts file {path}: entry without account_id or name: {entry!r}")
        entries.append((normalise_id(entry.get("account_id")), entry.get("name") or entry.get("account_id")))
    return entries


# ---------------------------------------------------------------- one policy directory

PACK_FILTERS = frozenset(f for control in CONTROLS for f in control.filters) - CUSTODIAN_FILTERS


def uses_pack_filter(filters, types=PACK_FILTERS):
    """Does a policy's ``filters`` (as in metadata.json) use a pack filter (one of ``types``), at any depth
    of and/or/not?"""
    if isinstance(filters, list):
        return any(uses_pack_filter(f, types) for f in filters)
    if isinstance(filters, dict):
        if filters.get("type") in types:
            return True
        return any(uses_pack_filter(v, types) for k, v in filters.items() if k in ("and", "or", "not"))
    return filters in types if isinstance(filters, str) else False


@dataclass
class PolicyRun:
    """What one ``<policy>/`` directory says."""
    policy: str
    path: str
    account_name: str = None     # c7n-org directory name
    region: str = None
    account_id: str = None       # metadata.json config.account_id
    error: str = None            # the run failed: every cell it feeds is could-not-evaluate
    resources: list = field(default_factory=list)
    verdicts: dict = field(default_factory=dict)
    has_verdict_file: bool = False
    names: dict = field(default_factory=dict)   # resource id -> Name, from the verdict file
    started: float = None        # metadata.json execution start / end_time (epoch seconds)
    ended: float = None
    cache_period: int = None     # c7n's resource cache age limit the run used (minutes)
    pack: bool = False           # uses a pack filter: cells come from verdicts only
    control: str = None          # the control the policy feeds (metadata.control, else its name); None: not ours
    execution_id: str = None     # metadata.json execution id: the run the directory's files must belong to
    stale: list = field(default_factory=list)    # files of an earlier run that were not used, and why
    fixes: list = field(default_factory=list)    # action records whose fix did not happen
    earlier: bool = False        # c7n-org's log shows this output is from before the account's latest run
    logged_at: float = None      # when c7n-org's log says the account's latest run failed or stopped
    unfit: str = None            # the policy maps to a pack control but does not run its filter: why
    fixes_error: str = None      # the pack's FixesFailed, logged by plain custodian (not an evaluation error)

    @property
    def where(self):
        parts = [p for p in (self.account_name, self.region) if p]
        return "/".join(parts + [self.policy])


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def log_time(line):
    """The epoch time of a logging record (``2026-11-28 04:09:40,331``: local time, as logging writes
    it on the machine that ran the policy), or None."""
    match = LOG_TIME.match(line)
    if not match:
        return None
    try:
        return time.mktime(time.strptime(match[1], "%Y-%m-%d %H:%M:%S")) + int(match[2][:3]) / 1000
    except (ValueError, OverflowError):
        return None


def log_error(log_path, since=None):
    """The exception a policy run logged as fatal, or None. c7n appends to ``custodian-run.log``:
    with ``since`` (the run's start), records of earlier runs are skipped."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = None
    for index, line in enumerate(lines):
        if POLICY_ERROR_LINE in line:
            logged = log_time(line)
            if since is not None and logged is not None and logged < since - 1:
                continue
            # The traceback follows the record; its last line names the exception.
            trace = [t for t in lines[index + 1:] if t.strip()]
            end = next((i for i, t in enumerate(trace) if LOG_RECORD.match(t)), len(trace))
            found = trace[end - 1].strip() if end else line.split(" - ", 3)[-1]
    return found


def mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def older_than_run(path, run):
    """Whether a file was last written before the run ``metadata.json`` describes started."""
    written = mtime(path)
    return run.started is not None and written is not None and written < run.started


def read_action_files(path, run):
    """The records of the run's ``action-*`` files whose fix did not happen (earlier runs' files: stale)."""
    try:
        names = sorted(n for n in os.listdir(path) if n.startswith("action-"))
    except OSError:
        return
    for name in names:
        file_path = os.path.join(path, name)
        if older_than_run(file_path, run):
            run.stale.append(f"{name} from an earlier run ({iso(mtime(file_path))})")
            continue
        try:
            records = read_json(file_path)
        except (OSError, ValueError):
            continue
        for record in records if isinstance(records, list) else ():
            if isinstance(record, dict) and record.get("result") in UNFIXED_RESULTS:
                run.fixes.append({key: record.get(key) for key in
                                  ("action", "account", "call", "target", "result", "detail", "error_code")})


def policy_control(policy, metadata):
    """The control a policy feeds: its ``metadata.control`` when that is a rootguard control, else its name
    when that is one, else None (not a rootguard control)."""
    data = metadata.get("policy") if isinstance(metadata.get("policy"), dict) else {}
    declared = data.get("metadata", {}).get("control") if isinstance(data.get("metadata"), dict) else None
    if isinstance(declared, str) and declared in BY_ID:
        return declared
    return policy if policy in BY_ID else None


def check_verdict(entry, where):
    """A verdict dict as the pack writes it, or a ValueError."""
    if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
        raise ValueError(f"malformed verdict in {where}: {entry!r:.120}")
    return {"status": entry["status"], "reason": str(entry.get("reason") or ""),
            "details": entry.get("details") if isinstance(entry.get("details"), dict) else {}}


def read_verdict_file(document):
    """{resource id: {filter type: verdict}} from ``rootguard-verdicts.json``'s parsed document."""
    if not isinstance(document, dict) or not isinstance(document.get("verdicts"), dict):
        raise ValueError(f"{VERDICTS_FILE} has no 'verdicts' object")
    verdicts = {}
    for resource_id, by_filter in document["verdicts"].items():
        if not isinstance(by_filter, dict):
            raise ValueError(f"{VERDICTS_FILE}: verdicts of {resource_id} are not an object")
        verdicts[str(resource_id)] = {ftype: check_verdict(v, VERDICTS_FILE) for ftype, v in by_filter.items()}
    return verdicts


def read_verdict_names(document):
    """{resource id: Name} the pack recorded beside the verdicts (organization members), if any."""
    names = document.get("names")
    return {str(k): str(v) for k, v in names.items() if v} if isinstance(names, dict) else {}


def run_times(metadata):
    """(start, end, cache_period) of a policy run from its metadata.json; None where absent."""
    execution = metadata.get("execution") if isinstance(metadata.get("execution"), dict) else {}
    config = metadata.get("config") if isinstance(metadata.get("config"), dict) else {}

    def number(value):
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    start = number(execution.get("start"))
    end = number(execution.get("end_time"))
    if end is None and start is not None and number(execution.get("duration")) is not None:
        end = start + number(execution["duration"])
    period = config.get("cache_period")
    return start, end, period if isinstance(period, int) and not isinstance(period, bool) else None


def read_policy_dir(path, policy, account_name=None, region=None):
    """Read one policy directory; never raises for a bad file (the error lands in ``run.error``).

    Only the files of the run ``metadata.json`` describes count (see the module docstring)."""
    run = PolicyRun(policy, path, account_name, region, control=policy if policy in BY_ID else None)
    metadata_path = os.path.join(path, "metadata.json")
    if not os.path.exists(metadata_path):
        run.error = "no metadata.json: the policy did not run to completion"
        return run
    try:
        metadata = read_json(metadata_path)
        config = metadata.get("config") or {}
        run.account_id = normalise_id(config.get("account_id"))
        run.region = run.region or config.get("region")
        run.started, run.ended, run.cache_period = run_times(metadata)
        execution = metadata.get("execution") if isinstance(metadata.get("execution"), dict) else {}
        run.execution_id = str(execution["id"]) if execution.get("id") else None
        run.control = policy_control(policy, metadata)
        filters = (metadata.get("policy") or {}).get("filters")
        run.pack = uses_pack_filter(filters)
    except (OSError, ValueError, AttributeError) as error:
        run.error = f"metadata.json unreadable: {error}"
        return run
    read_action_files(path, run)
    if run.control is None:
        return run          # not a rootguard control: only its failed fixes are reported
    own = sorted(set(BY_ID[run.control].filters) - CUSTODIAN_FILTERS)
    if own and not uses_pack_filter(filters, own):
        # It ran (the account's output is there) but proves nothing about the control.
        run.unfit = (f"policy {policy} does not run {' or '.join(own)}: it cannot evaluate {run.control} "
                     "(its metadata.control or name maps it there)")
        return run
    resources_path = os.path.join(path, "resources.json")
    earlier = iso(mtime(resources_path)) if older_than_run(resources_path, run) else None
    if earlier:
        run.stale.append(f"resources.json from an earlier run ({earlier})")
    logged = log_error(os.path.join(path, "custodian-run.log"), run.started)
    if logged and FIXES_FAILED in logged:
        run.fixes_error = logged
    elif logged:
        run.error = f"policy errored: {logged}" + (
            f"; output from an earlier run ({earlier}) is not used" if earlier else "")
        return run
    if not os.path.exists(resources_path):
        # c7n writes resources.json once the query and filters finished; metadata.json always.
        run.error = "policy errored: no resources.json (the resource query or a filter failed)"
        return run
    if earlier:
        run.error = (f"policy errored: its latest run ({iso(run.started)}) wrote no resources.json (the resource "
                     f"query or a filter failed); output from an earlier run ({earlier}) is not used")
        return run
    try:
        run.resources = read_json(resources_path)
        if not isinstance(run.resources, list) or not all(isinstance(r, dict) for r in run.resources):
            raise ValueError("not a list of resources")
    except (OSError, ValueError) as error:
        run.error = f"resources.json unreadable: {error}"
        return run
    verdicts_path = os.path.join(path, VERDICTS_FILE)
    if os.path.exists(verdicts_path):
        try:
            document = read_json(verdicts_path)
            stamped = document.get("execution_id") if isinstance(document, dict) else None
            if (stamped and run.execution_id and str(stamped) != run.execution_id) or (
                    not stamped and older_than_run(verdicts_path, run)):
                # an earlier run's verdicts: this run stopped before the pack filter, or ran none
                run.stale.append(f"{VERDICTS_FILE} from an earlier run ({iso(mtime(verdicts_path))})")
            else:
                run.verdicts = read_verdict_file(document)
                run.has_verdict_file = run.pack = True
                run.names = read_verdict_names(document)
        except (OSError, ValueError, AttributeError) as error:
            run.error = f"{VERDICTS_FILE} unreadable: {error}"
    return run


# ---------------------------------------------------------------- verdicts → cell

def annotations(resource, where):
    """The pack's ``c7n:rootguard`` annotation of a flagged resource."""
    annotated = resource.get(ANNOTATION_KEY) or {}
    if not isinstance(annotated, dict):
        raise ValueError(f"malformed {ANNOTATION_KEY} annotation in {where}")
    return {ftype: check_verdict(v, where) for ftype, v in annotated.items()}


def join_reasons(verdicts):
    return "; ".join(dict.fromkeys(f"{ftype}: {v['reason']}" for ftype, v in verdicts.items() if v["reason"]))


def decide_cell(run, flagged, verdicts):
    """The cell rules: flagged → could-not-evaluate / non-compliant; else not-applicable / compliant."""
    def pick(status):
        return {ftype: v for ftype, v in verdicts.items() if v["status"] == status}

    def cell(status, chosen, fallback):
        details = {ftype: v["details"] for ftype, v in chosen.items() if v["details"]}
        return Cell(status, join_reasons(chosen) or fallback, details, run.policy, run.region, iso(run.ended))

    if flagged:
        if pick(COULD_NOT_EVALUATE):
            return cell(COULD_NOT_EVALUATE, pick(COULD_NOT_EVALUATE), "could not evaluate")
        return cell(NON_COMPLIANT, pick(NON_COMPLIANT), f"flagged by {run.policy}")
    if pick(NOT_APPLICABLE):
        return cell(NOT_APPLICABLE, pick(NOT_APPLICABLE), "not applicable")
    return cell(COMPLIANT, pick(COMPLIANT), f"not flagged by {run.policy}")


def verdict_cell(run, verdicts):
    """A pack policy's cell: the verdicts of the control's own filter, worst first.

    What the policy flagged does not matter (``not:`` or extra filters change that, not what the
    filter found). No verdict of the control's filter for the account is could-not-evaluate.
    """
    own_filters = BY_ID[run.control].filters
    own = {f: v for f, v in verdicts.items() if f in own_filters}
    if not own:
        others = f" (only {', '.join(sorted(verdicts))})" if verdicts else ""
        return Cell(COULD_NOT_EVALUATE,
                    f"no verdict recorded: {run.policy} completed but {'/'.join(own_filters)} left no "
                    f"verdict for this account{others}; another filter may have dropped the account "
                    "first, or the run was cut short", {}, run.policy, run.region, iso(run.ended))
    status = min((v["status"] for v in own.values()), key=lambda s: _RANK[s])
    chosen = {f: v for f, v in own.items() if v["status"] == status}
    details = {f: v["details"] for f, v in chosen.items() if v["details"]}
    return Cell(status, join_reasons(chosen) or status, details, run.policy, run.region, iso(run.ended))


def error_cell(run, reason=None):
    # the cell's time is the run that failed: c7n-org's log record when that is newer than the output
    times = [t for t in (run.ended, run.logged_at) if t is not None]
    return Cell(COULD_NOT_EVALUATE, reason or f"{run.where}: {run.error}", {}, run.policy, run.region,
                iso(max(times)) if times else None)


def account_cell(run, account_id):
    """The cell of an ``aws.account`` control from the account's own run."""
    if run.error or run.unfit:
        return error_cell(run, run.error or run.unfit)
    try:
        verdicts = dict(run.verdicts.get(account_id, {})) if account_id else {}
        if not verdicts and len(run.verdicts) == 1:
            # One account per run: a lone verdict key is that account even if the id is unknown.
            verdicts = dict(next(iter(run.verdicts.values())))
        for resource in run.resources:
            for ftype, verdict in annotations(resource, f"{run.where}/resources.json").items():
                verdicts.setdefault(ftype, verdict)
    except ValueError as error:
        return error_cell(run, str(error))
    if run.pack or verdicts:
        return verdict_cell(run, verdicts)
    return decide_cell(run, bool(run.resources), verdicts)


def member_cells(run):
    """{member id: (cell, name)} of an ``aws.org-account`` control from the management account's run."""
    if run.unfit:
        raise ValueError(run.unfit)
    where = f"{run.where}/resources.json"
    flagged = {}
    for resource in run.resources:
        member = normalise_id(resource.get("Id") or resource.get("account_id"))
        if member is None:
            raise ValueError(f"flagged resource without Id in {where}")
        flagged[member] = resource
    members = {}
    for member in dict.fromkeys(list(run.verdicts) + list(flagged)):
        verdicts = dict(run.verdicts.get(member, {}))
        resource = flagged.get(member, {})
        for ftype, verdict in annotations(resource, where).items():
            verdicts.setdefault(ftype, verdict)
        cell = (verdict_cell(run, verdicts) if run.pack or verdicts
                else decide_cell(run, member in flagged, verdicts))
        members[member] = (cell, resource.get("Name") or run.names.get(member))
    return members


# ---------------------------------------------------------------- the output tree

def subdirs(path):
    return sorted(e.path for e in os.scandir(path) if e.is_dir())


def is_policy_dir(path):
    return any(os.path.exists(os.path.join(path, name)) for name in RUN_FILES)


def find_policy_dirs(out):
    """(account dir name | None, region | None, policy, path) for every policy directory."""
    children = subdirs(out)
    plain = any(os.path.basename(c) in BY_ID or is_policy_dir(c) for c in children)
    if plain:
        for path in children:
            yield None, None, os.path.basename(path), path
        return
    for account_dir in children:
        for region_dir in subdirs(account_dir):
            for path in subdirs(region_dir):
                yield os.path.basename(account_dir), os.path.basename(region_dir), os.path.basename(path), path


# c7n-org's own log lines (c7n_org.cli.run_account) naming why an account's policies did not run.
C7N_ORG_ACCESS_DENIED = re.compile(
    r"Access denied api:(?P<api>\S+) policy:(?P<policy>\S+) account:(?P<account>\S+) region:(?P<region>\S+)")
C7N_ORG_EXCEPTION = re.compile(
    r"Exception running policy:(?P<policy>\S+) account:(?P<account>\S+) region:(?P<region>\S+) "
    r"error:(?P<error>.*)")
# Run errors that mean a policy left no complete output (not an unreadable file).
NO_OUTPUT = re.compile(r"no metadata\.json|no resources\.json|policy errored|no policy (ran|completed)")
EARLIER = re.compile(r"output from an earlier run \(([^)]*)\)")
CACHE_FIX = ("re-run with --cache-period 0 (c7n reuses a resource list for --cache-period minutes, "
             "default 15) and regenerate accounts.yml (c7n-org aws-accounts -f accounts.yml)")


@dataclass(frozen=True)
class LogEvent:
    """One c7n-org log record saying a policy did not run to the end in an account × region."""
    account: str
    policy: str
    region: str
    at: float          # epoch seconds, None when the record has no time
    cause: str
    stops: bool        # an AccessDenied: c7n-org ran no further policy in the account × region


def read_c7n_org_events(path):
    """[LogEvent] from a saved c7n-org log (``c7n-org run ... 2> c7n-org.log``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as error:
        raise ReportInputError(f"cannot read c7n-org log {path}: {error}") from error
    events = []
    for line in lines:
        denied = C7N_ORG_ACCESS_DENIED.search(line)
        if denied:
            events.append(LogEvent(
                denied["account"], denied["policy"], denied["region"], log_time(line),
                f"AccessDenied on {denied['api']} (c7n-org's log, policy {denied['policy']}"
                f"{' — the account role cannot be assumed' if denied['api'] == 'AssumeRole' else ''})", True))
            continue
        failed = C7N_ORG_EXCEPTION.search(line)
        if failed:
            events.append(LogEvent(failed["account"], failed["policy"], failed["region"], log_time(line),
                                   f"{failed['error'].strip()} (c7n-org's log)", False))
    return events


def read_c7n_org_log(path):
    """{(account name, policy): cause} from a saved c7n-org log."""
    return {(event.account, event.policy): event.cause for event in read_c7n_org_events(path)}


def sequence_start(run, task):
    """When the c7n-org sequence of policy runs that ended with ``run`` began: walk back through the
    account × region's runs that ended just before the next one started (see SEQUENCE_GAP)."""
    current, seen = run, {id(run)}
    while True:
        before = [r for r in task if id(r) not in seen and r.ended is not None and current.started is not None
                  and r.started is not None and 0 <= current.started - r.ended <= SEQUENCE_GAP]
        if not before:
            return current.started
        current = max(before, key=lambda r: r.ended)
        seen.add(id(current))


def apply_c7n_org_log(runs, events):
    """Make the saved c7n-org log the truth for the accounts it names (it is their latest run).

    The named policy is could-not-evaluate with the log's cause. After an AccessDenied c7n-org runs no
    further policy in the account × region, so every other policy output there from before that run's
    sequence of policies is from an earlier run: could-not-evaluate, never its old verdict. Output newer
    than the log record is newer than the log: the log does not apply to it.
    """
    for event in events:
        task = [r for r in runs if r.account_name == event.account and r.region in (event.region, None)]
        failed = next((r for r in task if r.policy == event.policy), None)
        if event.at is not None and failed is not None and failed.started is not None \
                and failed.started > event.at + LOG_SLACK:
            continue
        fresh = (failed is not None and failed.ended is not None and event.at is not None
                 and abs(event.at - failed.ended) <= LOG_SLACK)
        if failed is not None:
            failed.logged_at = event.at
            if fresh or event.at is None or failed.started is None:
                failed.error = f"{event.cause}; {failed.error}" if failed.error else event.cause
            else:
                failed.earlier = True
                failed.stale.append(f"output from an earlier run ({iso(failed.ended)})")
                failed.error = f"{event.cause}; output from an earlier run ({iso(failed.ended)}) is not used"
        if not event.stops or event.at is None:
            continue
        began = sequence_start(failed, task) if fresh else event.at
        for run in task:
            if run is failed or run.started is None or run.started >= began or run.started > event.at + LOG_SLACK:
                continue
            run.earlier, run.logged_at = True, event.at
            run.stale.append(f"output from an earlier run ({iso(run.ended)})")
            run.error = (f"not run: c7n-org stopped the account at {event.policy}: {event.cause}; "
                         f"output from an earlier run ({iso(run.ended)}) is not used")


class _Collector:
    def __init__(self, out, declared, org_log=None, org_events=()):
        self.out = out
        self.index = AccountIndex()
        for account_id, name in declared:
            self.index.resolve(account_id, name, declared=True)
        self.found = {}            # (account, control id) -> [Cell]
        self.with_output = set()   # accounts where at least one policy ran to completion
        self.ran_in = set()        # accounts with a policy directory of their own
        self.failed = {}           # account -> [PolicyRun] that did not complete
        self.org_runs = {}         # control id -> [(source account, PolicyRun)]
        self.notes = []
        self.warnings = []
        self.runs = []
        self.org_log = org_log or {}
        self.org_events = list(org_events)
        self.stale = []            # "where: what" of every earlier run's file not used
        self.fixes = []            # unfixed action records, with the run that made them

    def read(self, policy_dirs):
        """Read every policy directory of the pack; other policies' output is noted and skipped."""
        runs, others = [], []
        for account_name, region, policy, path in policy_dirs:
            run = read_policy_dir(path, policy, account_name, region)
            if run.control is not None:
                runs.append(run)
            else:
                others.append(run)
                self.notes.append(f"ignored {os.path.relpath(path, self.out)}: not a rootguard control")
        apply_c7n_org_log(runs, self.org_events)
        self.runs = runs
        self.plain = bool(runs) and all(r.account_name is None for r in runs)
        # Plain layout: one account ran everything; any run that knows its id names it.
        self.plain_id = next((r.account_id or self.resource_account_id(r) for r in runs
                              if r.account_name is None and (r.account_id or self.resource_account_id(r))), None)
        for run in runs:
            self.add(run)
        for run in runs + others:
            self.stale += [f"{run.where}: {what}" for what in run.stale]
            if run.fixes:
                source = self.source_account(run)
                for record in run.fixes:
                    target = normalise_id(record.get("account")) if str(record.get("account") or "").isdigit() else None
                    account = self.index.resolve(target) if target and target != source.id else source
                    self.fixes.append((account, run, record))

    def add(self, run):
        control = run.control
        source = self.source_account(run)
        self.ran_in.add(source)
        if run.error:
            self.failed.setdefault(source, []).append(run)
        else:
            self.with_output.add(source)
        if BY_ID[control].resource == ORG_RESOURCE:
            self.org_runs.setdefault(control, []).append((source, run))
        else:
            self.found.setdefault((source, control), []).append(account_cell(run, source.id))

    def source_account(self, run):
        """The account whose credentials ran the policy."""
        if run.account_name is not None:      # c7n-org: the directory is the accounts.yml name
            known = self.index.id_for_name(run.account_name)
            return self.index.resolve(known or run.account_id, run.account_name)
        account_id = run.account_id or self.plain_id
        return self.index.resolve(account_id, None if account_id else "(this account)")

    @staticmethod
    def resource_account_id(run):
        """An aws.account resource names its account (used when metadata.json is missing)."""
        if BY_ID[run.control].resource == ORG_RESOURCE:
            return None
        for resource in run.resources:
            if resource.get("account_id"):
                return normalise_id(resource["account_id"])
        return None

    def add_org_control(self, control_id):
        runs = self.org_runs.get(control_id, [])
        good = [(src, run) for src, run in runs if not run.error]
        for source, run in runs:
            if run.error and good:
                # Members can't list the organization; the management account's run answers.
                self.notes.append(f"{control_id}: ignored failed run in {source.label}: {run.error}")
        if not good:
            for source, run in runs:
                for account in self.index.accounts:
                    self.found.setdefault((account, control_id), []).append(
                        error_cell(run, f"{run.error} (in {source.label}, which evaluates the organization)"))
            return
        for source, run in good:
            try:
                members = member_cells(run)
            except ValueError as error:
                for account in self.index.accounts:
                    self.found.setdefault((account, control_id), []).append(error_cell(run, str(error)))
                continue
            for member_id, (cell, name) in members.items():
                account = self.index.resolve(member_id, name)
                self.found.setdefault((account, control_id), []).append(cell)

    def stopped_cause(self, account):
        """Why no policy completed in an account that has policy directories, or None.

        c7n-org stops an account at the first AccessDenied (typically AssumeRole: the account's role
        cannot be assumed), leaving one policy directory without metadata.json: every control of the
        account then has the same cause and status, not one could-not-evaluate and the rest missing.
        """
        runs = self.failed.get(account)
        if not runs or account in self.with_output:
            return None
        for run in runs:
            logged = self.org_log.get((run.account_name, run.policy))
            if logged:
                return f"no policy ran in this account: {logged}"
        if all(run.error.startswith("no metadata.json") for run in runs):
            first = runs[0]
            return (f"no policy ran in this account: c7n-org stopped it at {first.policy} before any output (no metadata.json) — "
                    "an AccessDenied, usually on AssumeRole (the account's role cannot be assumed); "
                    "c7n-org's log names the call (pass it with --c7n-org-log)")
        return f"no policy completed in this account: {runs[0].where}: {runs[0].error}"

    def expects_account_controls(self, account):
        """Whether the account-level controls were meant to run in the account.

        A single-account run (plain custodian) evaluates only its own account; the members it sees
        through organization-level policies show those controls only, not a row of missing ones.
        """
        return not self.plain or account.declared or account in self.ran_in

    def check_resource_lists(self):
        """Warn loudly when the organization-level and account-level output disagree on the members.

        The organization policies list the members (aws.org-account); the account policies ran in the
        accounts of accounts.yml. c7n reuses a resource list for --cache-period minutes, so after the
        organization changed one side can name accounts the other lacks.
        """
        reported = {}
        for control_id, runs in self.org_runs.items():
            for _, run in runs:
                if not run.error:
                    ids = set(run.verdicts) | {normalise_id(r.get("Id")) for r in run.resources if r.get("Id")}
                    reported.setdefault(control_id, set()).update(i for i in ids if i)
        if not reported or self.plain:
            return
        members = set.union(*reported.values())

        def labels(accounts):
            return ", ".join(sorted(a.label for a in accounts))
        gone = [a for a in self.index.accounts if a.id in members and any(
            "not in the organization" in cell.reason
            for control_id in reported for cell in self.found.get((a, control_id), []))]
        ran = [a for a in self.with_output if a.id and a.id not in members]
        listed = [a for a in self.index.accounts if a.declared and a.id and a.id not in members
                  and a not in self.with_output]
        unrun = [a for a in self.index.accounts if a.id in members and a not in gone
                 and a not in self.ran_in and not a.declared]
        cached = sorted({run.cache_period for runs in self.org_runs.values() for _, run in runs if run.cache_period})
        cache_text = f"; the organization policies ran with --cache-period {cached[-1]}" if cached else ""
        if gone:
            self.warnings.append(
                f"stale resource list: the organization-level output names {len(gone)} account(s) the organization "
                f"no longer has ({labels(gone)}){cache_text}: {CACHE_FIX}")
        if ran:
            self.warnings.append(
                f"stale resource list: {len(ran)} account(s) ran the account policies but the organization-level "
                f"output does not list them ({labels(ran)}){cache_text}: {CACHE_FIX}")
        if listed:
            self.warnings.append(
                f"accounts.yml lists {len(listed)} account(s) the organization-level output does not "
                f"({labels(listed)}): they left the organization or the resource list is stale{cache_text}: "
                f"{CACHE_FIX}")
        if unrun and self.ran_in:
            self.warnings.append(
                f"{len(unrun)} organization member(s) have no account-level output ({labels(unrun)}): not in "
                "accounts.yml (regenerate it: c7n-org aws-accounts -f accounts.yml) or excluded from the "
                f"c7n-org run{cache_text}")

    def missing_cell(self, account, control):
        if control.resource == ORG_RESOURCE and self.org_runs.get(control.id):
            sources = ", ".join(sorted({src.label for src, _ in self.org_runs[control.id]}))
            return Cell(NOT_EVALUATED, f"not among the accounts {control.id} reported (run in {sources})",
                        policy=control.id)
        if control.resource == ORG_RESOURCE:
            return Cell(NOT_EVALUATED, f"no output of {control.id} (runs in the management account)",
                        policy=control.id)
        if account not in self.with_output:
            return Cell(NOT_EVALUATED, "no policy completed in this account (its role could not be assumed, "
                                       "access was denied, or it was not run: see c7n-org's log)", policy=control.id)
        stopped_at = [cause for (name, _), cause in self.org_log.items()
                      if name == account.name and cause.startswith("AccessDenied")]
        if stopped_at:
            # c7n-org runs no further policy in an account after an AccessDenied outside a filter
            return Cell(NOT_EVALUATED, f"no output of policy {control.id}: not run, c7n-org stopped the account "
                                       f"at {stopped_at[0]}", policy=control.id)
        return Cell(NOT_EVALUATED, f"no output of policy {control.id} for this account (c7n-org stops an "
                                   "account's remaining policies at an AccessDenied outside a filter: its log "
                                   "says where, pass it with --c7n-org-log)", policy=control.id)

    def no_output_notes(self, accounts, cells):
        """Per account: which account-level policies of this run left no complete output, and why."""
        ran = [c for c in CONTROLS if c.resource != ORG_RESOURCE and any(k[1] == c.id for k in self.found)]
        notes = []
        for account in accounts:
            missing = [c for c in ran if (account.key, c.id) in cells
                       and self.lacks_output(cells[(account.key, c.id)])]
            if missing:
                whys = dict.fromkeys(cells[(account.key, c.id)].reason for c in missing)
                notes.append(f"{account.label}: no output for {len(missing)} of {len(ran)} policies "
                             f"({', '.join(c.id for c in missing)}): {' | '.join(whys)}")
        return notes

    @staticmethod
    def lacks_output(cell):
        return cell.status == NOT_EVALUATED or (
            cell.status == COULD_NOT_EVALUATE and NO_OUTPUT.search(cell.reason or "") is not None)

    def matrix(self):
        for control in CONTROLS:
            if control.resource == ORG_RESOURCE:
                self.add_org_control(control.id)
        self.check_resource_lists()
        run_anywhere = {control_id for (_, control_id) in self.found} | {r.control for r in self.runs}
        # The break-glass review runs on its own schedule (policies/break-glass.yml): a daily run's
        # output does not hold it, and its controls are not run there rather than missing everywhere.
        # The review's controls come as a set: once any of them ran, a missing one is not-evaluated.
        review_ran = any(c.id in run_anywhere for c in CONTROLS if c.cadence == REVIEW)
        controls = tuple(c for c in CONTROLS if c.cadence != REVIEW or review_ran)
        skipped = [c.id for c in CONTROLS if c not in controls]
        if skipped:
            self.notes.append(f"not in this output (the break-glass review, policies/break-glass.yml, runs on "
                              f"its own schedule): {', '.join(skipped)}")
        accounts = self.index.ordered()
        cells = {}
        for account in accounts:
            stopped = self.stopped_cause(account)
            for control in controls:
                key = (account.key, control.id)
                found = self.found.get((account, control.id))
                if control.resource != ORG_RESOURCE and stopped and control.id in run_anywhere:
                    earlier = sorted({m[1] for c in found or () for m in EARLIER.finditer(c.reason)})
                    stale = f"; output from an earlier run ({earlier[-1]}) is not used" if earlier else ""
                    logged = [r.logged_at for r in self.failed.get(account, ()) if r.logged_at is not None]
                    cells[key] = Cell(COULD_NOT_EVALUATE, stopped + stale, {}, control.id,
                                      evaluated_at=iso(max(logged)) if logged else None)
                elif found:
                    cells[key] = worst(found)
                elif control.resource != ORG_RESOURCE and not self.expects_account_controls(account):
                    continue
                else:
                    cells[key] = self.missing_cell(account, control)
        # Only the runs the cells come from set the "as of" span: an earlier run's leftovers do not.
        current = [r for r in self.runs if not r.earlier]
        starts = [r.started for r in current if r.started is not None]
        ends = [r.ended for r in current if r.ended is not None]
        if self.stale:
            self.warnings.insert(0, (
                f"this output directory also holds output of earlier runs ({len(self.stale)} file(s) or policy "
                "output(s), e.g. " + "; ".join(self.stale[:3]) + "): c7n rewrites metadata.json on every run "
                "but leaves older files; they are not used as verdicts (those cells say \"output from an "
                "earlier run\"). Use a fresh output directory per run to avoid this."))
        fixes = [dict(zip(FIX_FIELDS, (account.id, account.name, run.policy, run.control, run.region,
                                       record.get("action"), record.get("call"), record.get("target"),
                                       record.get("result"), record.get("detail"), record.get("error_code"),
                                       iso(run.ended))))
                 for account, run, record in self.fixes]
        if fixes:
            self.warnings.append(f"{len(fixes)} fix(es) did not happen (failed, left-behind or not-attempted "
                                 "action records): see \"Fixes that did not happen\"")
        return Matrix(accounts, cells, controls, self.out, self.notes + self.no_output_notes(accounts, cells),
                      self.warnings,
                      min(starts) if starts else None, max(ends) if ends else None,
                      datetime.now(timezone.utc).timestamp(), list(self.stale), fixes)


def collect(out, accounts_file=None, c7n_org_log=None):
    """Read the output tree ``out`` (optionally a c7n-org accounts file and c7n-org's saved log) into a Matrix."""
    declared = load_accounts_file(accounts_file) if accounts_file else []
    if not os.path.isdir(out):
        raise ReportInputError(f"{out} is not a directory")
    events = read_c7n_org_events(c7n_org_log) if c7n_org_log else []
    collector = _Collector(out, declared, {(e.account, e.policy): e.cause for e in events}, events)
    try:
        collector.read(list(find_policy_dirs(out)))
    except OSError as error:
        raise ReportInputError(f"cannot read {out}: {error}") from error
    return collector.matrix()
