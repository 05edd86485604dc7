"""``rootguard sessions OUT``: the monthly break-glass review — every root session per account, what it
did and the approval that covers it (or why none does), from the ``root-sessions`` verdicts of a
custodian / c7n-org run (``rootguard-verdicts.json``, which holds compliant accounts' sessions too).

Formats as ``rootguard report``: text, Markdown, HTML (one self-contained page), JSON, CSV (one row
per session or sign-in event). Like the report, only files are read: no AWS, no c7n import.
"""
import argparse
import csv
import io
import json
import os
import sys

from rootguard_filters.report.collect import (
    ReportInputError, find_policy_dirs, load_accounts_file, normalise_id, read_policy_dir)
from rootguard_filters.report.render import esc, md as _md

FILTER = "root-sessions"
PREFERRED_POLICY = "root-session-unapproved"
CSV_FIELDS = ("account_id", "account_name", "verdict", "kind", "session_id", "start", "end", "duration_seconds",
              "source_ips", "user_agents", "mfa_used", "regions", "call_count", "calls", "errors", "access_denied",
              "credential_changes", "approval", "ticket", "approval_reason", "detail")


def collect_sessions(out, accounts_file=None):
    """{"source", "accounts": [...], "notes": [...]}: one entry per account, its review."""
    if not os.path.isdir(out):
        raise ReportInputError(f"{out} is not a directory")
    names = {account_id: name for account_id, name in (load_accounts_file(accounts_file) if accounts_file else [])}
    by_name = {name: account_id for account_id, name in names.items()}
    chosen, notes = {}, []
    try:
        dirs = list(find_policy_dirs(out))
    except OSError as error:
        raise ReportInputError(f"cannot read {out}: {error}") from error
    for account_name, region, policy, path in dirs:
        run = read_policy_dir(path, policy, account_name, region)
        if run.error:
            if os.path.exists(os.path.join(path, "rootguard-verdicts.json")) or policy == PREFERRED_POLICY:
                notes.append(f"{run.where}: {run.error}")
            continue
        for resource_id, by_filter in run.verdicts.items():
            verdict = by_filter.get(FILTER)
            if verdict is None:
                continue
            account_id = normalise_id(resource_id) or run.account_id or by_name.get(account_name)
            entry = {"account_id": account_id, "account_name": names.get(account_id) or account_name or account_id,
                     "policy": policy, "region": run.region, "status": verdict["status"],
                     "reason": verdict["reason"], **_review(verdict["details"])}
            current = chosen.get(account_id)
            if current is None or (policy == PREFERRED_POLICY and current["policy"] != PREFERRED_POLICY):
                chosen[account_id] = entry
    for account_id, name in names.items():
        if account_id not in chosen:
            notes.append(f"{name} ({account_id}): no {FILTER} verdict in {out}")
    accounts = sorted(chosen.values(), key=lambda e: (e["account_name"] or "", e["account_id"] or ""))
    # The register is one file for every account: its problems are listed once.
    registers = {}
    for entry in accounts:
        if entry["register"]:
            registers.setdefault(entry["register"], entry.pop("register_problems"))
        else:
            entry.pop("register_problems")
    return {"source": out, "accounts": accounts, "registers": registers, "notes": notes}


def _review(details):
    return {"days": details.get("days"), "sessions": list(details.get("sessions") or []),
            "signin_events": list(details.get("signin_events") or []),
            "regions_read": details.get("regions_read") or [], "regions_failed": details.get("regions_failed") or {},
            "register": details.get("register"), "register_error": details.get("register_error"),
            "register_problems": details.get("register_problems") or []}


def _approval(session):
    approval = session.get("approval") or {}
    ticket = (approval.get("approval") or {}).get("ticket") or ""
    return approval.get("status") or "not checked", ticket, approval.get("reason") or ""


def _calls(session):
    return ", ".join(f"{name}×{count}" for name, count in (session.get("calls") or {}).items()) or "none"


def _changes(session):
    return ", ".join(c["event"] for c in session.get("credential_changes") or [])


def _what(session):
    return _kind(session) + _start_note(session)


def _kind(session):
    kind = session["kind"]
    if kind == "assume-root" and session.get("side") == "caller":
        target = session.get("target_account") or f"unreadable target {session.get('target_principal')!r}"
        return f"AssumeRoot into {target} ({session.get('task')})"
    if kind == "assume-root":
        return "AssumeRoot session" + (f" ({session['task']})" if session.get("task") else "")
    if kind == "console":
        return "console sign-in" + ("" if session.get("signin") == "success" else " (sign-in not in history)")
    return f"access key {session.get('access_key_id')}"


def _start_note(session):
    """Where the start comes from when no recorded event shows it (its credentials' creationDate)."""
    if session.get("start_from") != "credentials-created":
        return ""
    before = ", before the history window" if session.get("started_before_window") else ""
    return f"; began at its credentials' creation{before}, first recorded call {session.get('first_event')}"


def _minutes(seconds):
    return f"{int(seconds) // 60} min {int(seconds) % 60:02d} s"


def _account_summary(entry):
    unapproved = sum(1 for s in entry["sessions"] if _approval(s)[0] != "approved")
    return (f"{len(entry['sessions'])} session(s), {unapproved} unapproved, "
            f"{len(entry['signin_events'])} failed sign-in / password event(s); verdict {entry['status']}")


def render_text(review):
    out = [f"Root sessions (break-glass review) from {review['source']}", ""]
    for entry in review["accounts"]:
        out.append(f"== {entry['account_name']} ({entry['account_id']}): {_account_summary(entry)}")
        out.append(f"   {entry['reason']}")
        for s in entry["sessions"]:
            status, ticket, reason = _approval(s)
            out.append(f"   - {s['start']} → {s['end']} ({_minutes(s['duration_seconds'])}) {_what(s)}; "
                       f"MFA {s.get('mfa_used')}; from {', '.join(s.get('source_ips') or []) or '?'}; "
                       f"regions {', '.join(s.get('regions') or [])}")
            out.append(f"     calls: {_calls(s)}; errors {s.get('errors', 0)}, AccessDenied {s.get('access_denied', 0)}"
                       + (f"; credential changes: {_changes(s)}" if _changes(s) else ""))
            out.append(f"     approval: {status.upper()}{' ' + ticket if ticket else ''} — {reason}")
        for e in entry["signin_events"]:
            out.append(f"   ! {e.get('time')} {e.get('event')} {e.get('result') or ''} from {e.get('source_ip')} "
                       f"({e.get('region')})")
        if entry["regions_failed"]:
            out.append("   not read: " + "; ".join(f"{r}: {err}" for r, err in entry["regions_failed"].items()))
        out.append("")
    for source, problems in review["registers"].items():
        out.append(f"approvals register {source}: {len(problems)} problem(s)")
        out += [f"   line {p['line']}: {p['error']}" for p in problems]
    out += [f"note: {n}" for n in review["notes"]]
    return "\n".join(out) + "\n"


def render_markdown(review):
    out = ["# Root sessions: break-glass review", "", f"From `{_md(review['source'])}`.", ""]
    for entry in review["accounts"]:
        out += [f"## {_md(entry['account_name'])} ({entry['account_id']})", "",
                f"{_md(_account_summary(entry))}. {_md(entry['reason'])}", ""]
        if entry["sessions"]:
            out += ["| start | end | duration | session | MFA | source IPs | calls | denied | credential changes "
                    "| approval |", "|---|---|---|---|---|---|---|---|---|---|"]
            for s in entry["sessions"]:
                status, ticket, reason = _approval(s)
                out.append("| " + " | ".join(_md(v) for v in (
                    s["start"], s["end"], _minutes(s["duration_seconds"]), _what(s), s.get("mfa_used"),
                    ", ".join(s.get("source_ips") or []), _calls(s), s.get("access_denied", 0),
                    _changes(s) or "-", f"{status} {ticket}: {reason}")) + " |")
            out.append("")
        for e in entry["signin_events"]:
            out.append(f"- {_md(e.get('time'))} `{_md(e.get('event'))}` {_md(e.get('result') or '')} "
                       f"from {_md(e.get('source_ip'))} ({_md(e.get('region'))})")
        for r, err in entry["regions_failed"].items():
            out.append(f"- not read: {_md(r)}: {_md(err)}")
        out.append("")
    for source, problems in review["registers"].items():
        out += [f"## Approvals register `{_md(source)}`", ""]
        out += [f"- line {p['line']}: {_md(p['error'])}" for p in problems] or ["- no problems"]
        out.append("")
    out += [f"- note: {_md(n)}" for n in review["notes"]]
    return "\n".join(out) + "\n"


def render_html(review):
    e = esc
    p = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         "<title>rootguard: root sessions</title>",
         "<style>body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;font-size:90%}"
         ".approved{background:#d4edda}.unapproved{background:#f8d7da}</style></head><body>",
         "<h1>Root sessions: break-glass review</h1>", f"<p>From <code>{e(review['source'])}</code>.</p>"]
    for entry in review["accounts"]:
        p.append(f"<h2>{e(entry['account_name'])} ({e(entry['account_id'])})</h2>"
                 f"<p>{e(_account_summary(entry))}. {e(entry['reason'])}</p>")
        if entry["sessions"]:
            p.append("<table><tr><th>start</th><th>end</th><th>duration</th><th>session</th><th>MFA</th>"
                     "<th>source IPs</th><th>calls</th><th>denied</th><th>credential changes</th>"
                     "<th>approval</th></tr>")
            for s in entry["sessions"]:
                status, ticket, reason = _approval(s)
                cells = (s["start"], s["end"], _minutes(s["duration_seconds"]), _what(s), s.get("mfa_used"),
                         ", ".join(s.get("source_ips") or []), _calls(s), s.get("access_denied", 0),
                         _changes(s) or "-")
                p.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells)
                         + f'<td class="{e(status)}">{e(status)} {e(ticket)}<br><small>{e(reason)}</small></td></tr>')
            p.append("</table>")
        items = [f"{x.get('time')} {x.get('event')} {x.get('result') or ''} from {x.get('source_ip')} "
                 f"({x.get('region')})" for x in entry["signin_events"]]
        items += [f"not read: {r}: {err}" for r, err in entry["regions_failed"].items()]
        if items:
            p.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")
    for source, problems in review["registers"].items():
        p.append(f"<h2>Approvals register <code>{e(source)}</code></h2><ul>"
                 + "".join(f"<li>line {e(x['line'])}: {e(x['error'])}</li>" for x in problems) + "</ul>")
    if review["notes"]:
        p.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in review["notes"]) + "</ul>")
    p.append("</body></html>")
    return "\n".join(p) + "\n"


def render_json(review):
    return json.dumps(review, indent=2, default=str) + "\n"


def render_csv(review):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in review["accounts"]:
        base = {"account_id": entry["account_id"], "account_name": entry["account_name"], "verdict": entry["status"]}
        for s in entry["sessions"]:
            status, ticket, reason = _approval(s)
            writer.writerow({**base, "kind": s["kind"], "session_id": s.get("id"), "start": s["start"],
                             "end": s["end"], "duration_seconds": s["duration_seconds"],
                             "source_ips": " ".join(s.get("source_ips") or []),
                             "user_agents": " | ".join(s.get("user_agents") or []), "mfa_used": s.get("mfa_used"),
                             "regions": " ".join(s.get("regions") or []), "call_count": s.get("call_count"),
                             "calls": _calls(s), "errors": s.get("errors"), "access_denied": s.get("access_denied"),
                             "credential_changes": _changes(s), "approval": status, "ticket": ticket,
                             "approval_reason": reason, "detail": _what(s)})
        for x in entry["signin_events"]:
            writer.writerow({**base, "kind": f"signin-event:{x.get('event')}", "start": x.get("time"),
                             "end": x.get("time"), "source_ips": x.get("source_ip") or "",
                             "user_agents": x.get("user_agent") or "", "mfa_used": x.get("mfa_used"),
                             "regions": x.get("region") or "", "detail": x.get("result") or x.get("error") or ""})
    return buffer.getvalue()


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html,
             "json": render_json, "csv": render_csv}


def main(argv=None):
    """Exit 0 with the review, or 2 when OUT or the accounts file cannot be read."""
    parser = argparse.ArgumentParser(
        prog="rootguard sessions",
        description="The monthly break-glass review: every root session per account, what it did and its "
                    "approval, from the root-sessions verdicts of a custodian / c7n-org run.")
    parser.add_argument("out", metavar="OUT", help="output directory of custodian run or c7n-org run")
    parser.add_argument("--format", "-f", choices=sorted(RENDERERS), default="text")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--accounts", "-c", metavar="ACCOUNTS_YML", help="c7n-org accounts file (names)")
    args = parser.parse_args(argv)
    try:
        text = RENDERERS[args.format](collect_sessions(args.out, args.accounts))
    except ReportInputError as error:
        print(f"rootguard sessions: {error}", file=sys.stderr)
        return 2
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        except OSError as error:
            print(f"rootguard sessions: cannot write {args.output}: {error}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
