"""Render a ``Matrix`` as a terminal table, Markdown, one HTML page, JSON or CSV.

Rows are accounts, worst first in the formats people read (text, Markdown, HTML); columns are controls
grouped by priority (Critical, High, Medium) in catalogue order. Every format carries when the results
hold ("as of", the run's time span), any warning about the output (e.g. a stale resource list), totals
per control and per account, and every cell's reason; the formats people read put each failure's fix
next to it. A control that was not run for an account (a member seen only through organization-level
policies of a single-account run) has no cell: blank in the matrix, absent from JSON and CSV.
"""
import csv
import html
import io
import json

from rootguard_filters.catalog import BY_ID
from rootguard_filters.report.collect import NOT_EVALUATED, PROBLEM_STATUSES, REPORT_STATUSES
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_APPLICABLE

SYMBOLS = {COMPLIANT: "✔", NON_COMPLIANT: "✘", COULD_NOT_EVALUATE: "?", NOT_APPLICABLE: "–",
           NOT_EVALUATED: "·"}
# Short words for the 9-character terminal cells; the legend spells the statuses out.
SHORT = {COMPLIANT: "ok", NON_COMPLIANT: "FAIL", COULD_NOT_EVALUATE: "UNKNOWN", NOT_APPLICABLE: "n/a",
         NOT_EVALUATED: "missing"}
COLOURS = {COMPLIANT: "#d4edda", NON_COMPLIANT: "#f8d7da", COULD_NOT_EVALUATE: "#ffe8a1",
           NOT_APPLICABLE: "#e2e3e5", NOT_EVALUATED: "#ffffff"}
PROBLEMS = PROBLEM_STATUSES      # statuses whose reasons and fixes are listed
# Severity header colours: dark, white text, none of them a status colour.
SEVERITY_COLOURS = {"Critical": "#5b2c83", "High": "#8a4b08", "Medium": "#2f5d8a"}
# kind: "control" (one account × control cell) or "fix" (an action record whose fix did not happen:
# status is its result, reason its call, target and error).
CSV_FIELDS = ("account_id", "account_name", "control", "title", "severity", "status", "reason",
              "policy", "region", "evaluated_at", "run_started", "run_ended", "kind")


def codes(matrix):
    """Short column codes: C1.. for Critical, H1.. for High, M1.. for Medium."""
    result = {}
    for severity, controls in matrix.controls_by_severity():
        for number, control in enumerate(controls, 1):
            result[control.id] = f"{severity[0]}{number}"
    return result


def label(status):
    return f"{SYMBOLS[status]} {status}"


def fix(control, cell):
    """What to do about a problem cell: the control's remediation, or how to make the audit work."""
    if cell.status == NON_COMPLIANT:
        return control.remediation
    if cell.status == COULD_NOT_EVALUATE and "AssumeRole" in cell.reason:
        return ("make the account's audit role assumable (its trust policy must allow the caller; accounts.yml "
                "must name the role), then re-run the account's policies")
    if cell.status == COULD_NOT_EVALUATE and "--cache-period 0" in cell.reason:
        return "re-run the organization policies with --cache-period 0"
    if cell.status == COULD_NOT_EVALUATE:
        return "make the check work (the reason names the failing call or option), then re-run the policy"
    return f"run {control.id} for this account" + (
        " (in the management account)" if control.resource == "aws.org-account" else "")


def when(matrix):
    """One line: as of / the run's time span / when the report was made (ISO 8601 UTC)."""
    t = matrix.times()
    if not t["as_of"]:
        return f"as of: unknown (no metadata.json with run times); report generated {t['generated']}"
    return (f"as of {t['as_of']} (policies ran {t['run_started']} → {t['run_ended']}); "
            f"report generated {t['generated']}")


def fix_line(record):
    """One failed fix: result, call, target and error (the record's detail names the error)."""
    call = record.get("call") or "(no call)"
    target = f" on {record['target']}" if record.get("target") else ""
    return f"{record.get('result')}: {record.get('action')} {call}{target}: {record.get('detail')}"


def fixes_by_account(matrix):
    """[(account label, [fix])] in report order: accounts of the matrix first, then any other."""
    labels = {(a.id, a.name): a.label for a in matrix.accounts}
    grouped = {}
    for record in matrix.fixes:
        key = (record.get("account_id"), record.get("account_name"))
        name = labels.get(key) or record.get("account_name") or record.get("account_id") or "?"
        grouped.setdefault(name, []).append(record)
    return list(grouped.items())


def issues(matrix, account):
    return len(matrix.problems(account))


def grouped_problems(matrix, account):
    """The account's problems, cells with the same status, reason and fix in one group (one cause, one
    story: an account whose role cannot be assumed is one line, not eight): [([controls], cell)]."""
    groups = {}
    for control, cell in matrix.problems(account):
        groups.setdefault((cell.status, cell.reason, fix(control, cell)), ([], cell))[0].append(control)
    return list(groups.values())


# ---------------------------------------------------------------- text

def clip(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"


def render_text(matrix, width=120):
    """A fixed-width table (≤ 120 columns unless account names are longer: they are never cut), then
    warnings, legend, totals and each problem with its fix, worst account first."""
    code = codes(matrix)
    controls = matrix.ordered_controls()
    accounts = matrix.ranked_accounts()
    # Wide enough for the per-status total rows ("? could-not-evaluate") and every account label.
    name_width = max([len(label(COULD_NOT_EVALUATE))] + [len(a.label) for a in accounts])
    cell_width, short = 9, SHORT
    if name_width + 1 + (cell_width + 1) * len(controls) + 6 > width:
        # Many controls: symbol and the word's first letters, so the table still fits the terminal.
        cell_width, short = 6, {s: w[:4] for s, w in SHORT.items()}
    lines = [f"rootguard: root user checklist — {len(accounts)} account(s) × {len(controls)} controls",
             f"from: {matrix.source}", when(matrix), ""]
    for warning in matrix.warnings:
        lines.append(f"WARNING: {warning}")
    if matrix.warnings:
        lines.append("")
    if matrix.fixes:
        lines.append(f"Fixes that did not happen ({len(matrix.fixes)}):")
        for account_label, fixes in fixes_by_account(matrix):
            for record in fixes:
                where = "/".join(p for p in (record.get("region"), record.get("policy")) if p)
                lines.append(f"  ✘ {account_label} [{where}]: {fix_line(record)}")
        lines.append("")

    def row(first, cells, last=""):
        return (first.ljust(name_width) + " " + " ".join(c.ljust(cell_width) for c in cells) + " " + last).rstrip()

    groups = []
    for severity, group in matrix.controls_by_severity():
        groups.append(clip(severity, cell_width * len(group) + len(group) - 1)
                      .ljust(cell_width * len(group) + len(group) - 1))
    rule = "-" * (name_width + 1 + (cell_width + 1) * len(controls) + 6)
    lines.append((" " * name_width + " " + " ".join(groups)).rstrip())
    lines.append(row("account", [code[c.id] for c in controls], "issues"))
    lines.append(rule)
    totals = matrix.totals_by_account()
    for account in accounts:
        cells = []
        for c in controls:
            cell = matrix.cell(account, c.id)
            cells.append(f"{SYMBOLS[cell.status]} {short[cell.status]}" if cell else "")
        lines.append(row(account.label, cells, str(issues(matrix, account))))
    if not accounts:
        lines.append("(no accounts: no rootguard output found and no accounts file)")
    lines.append(rule)
    by_control = matrix.totals_by_control()
    for status in REPORT_STATUSES:
        lines.append(row(label(status), [str(by_control[c.id][status]) for c in controls]))
    lines += ["", "Controls:"]
    for c in controls:
        lines.append(clip(f"  {code[c.id]:<3} {c.severity:<8} {c.id} — {c.title}", width))
    lines += ["", "Legend: " + "  ".join(f"{SYMBOLS[s]} {SHORT[s]}: {s}" for s in REPORT_STATUSES[:3]),
              "        " + "  ".join(f"{SYMBOLS[s]} {SHORT[s]}: {s}" for s in REPORT_STATUSES[3:]),
              "        blank: not run for this account (organization-level policies only)"]
    lines += ["", "Totals per account:"]
    for account in accounts:
        counts = ", ".join(f"{n} {s}" for s, n in totals[account.key].items() if n)
        lines.append(f"  {account.label}: {counts}")
    lines += ["", "To fix, worst account first (could-not-evaluate, non-compliant, not-evaluated; "
                  "every reason: --format json):"]
    any_problem = False
    for account in accounts:
        for group, cell in grouped_problems(matrix, account):
            any_problem = True
            where = f" [{cell.region}]" if cell.region else ""
            names = ", ".join(f"{code[c.id]} {c.id}" for c in group)
            lines.append(f"  {SYMBOLS[cell.status]} {account.label} / {names}{where}: {cell.status}: {cell.reason}")
            lines.append(f"      fix: {fix(group[0], cell)}")
    if not any_problem:
        lines.append("  none")
    for note in matrix.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- markdown

def md(text):
    """Escape a Markdown table cell (pipes, and HTML so a reason can't inject markup)."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(matrix):
    controls = matrix.ordered_controls()
    code = codes(matrix)
    totals = matrix.totals_by_account()
    accounts = matrix.ranked_accounts()
    out = ["# Root user checklist", "",
           f"{len(accounts)} account(s) × {len(controls)} controls, from `{md(matrix.source)}`.", "",
           f"*{md(when(matrix))}*", ""]
    for warning in matrix.warnings:
        out.append(f"> **Warning:** {md(warning)}")
        out.append("")
    if matrix.fixes:
        out += [f"## Fixes that did not happen ({len(matrix.fixes)})", ""]
        for account_label, fixes in fixes_by_account(matrix):
            out += [f"- **{md(account_label)}** ({md(r.get('policy'))}): {md(fix_line(r))}" for r in fixes]
        out.append("")
    out += ["| account | " + " | ".join(f"{code[c.id]} `{c.id}`" for c in controls) + " | issues |",
            "|---|" + "---|" * len(controls) + "---|"]
    for account in accounts:
        cells = [label(cell.status) if cell else "" for cell in (matrix.cell(account, c.id) for c in controls)]
        out.append(f"| {md(account.label)} | " + " | ".join(cells) + f" | {issues(matrix, account)} |")
    out += ["", "## To fix, worst account first", ""]
    if not any(matrix.problems(a) for a in accounts):
        out += ["None.", ""]
    for account in accounts:
        problems = matrix.problems(account)
        if not problems:
            continue
        out += [f"### {md(account.label)}", ""]
        for group, cell in grouped_problems(matrix, account):
            region = f" ({cell.region})" if cell.region else ""
            names = ", ".join(f"**{c.id}**" for c in group)
            out.append(f"- {SYMBOLS[cell.status]} {names}{region}: {cell.status} — {md(cell.reason)}  ")
            out.append(f"  **Fix:** {md(fix(group[0], cell))}")
        out.append("")
    out += ["## Totals per control", "",
            "| control | severity | title | " + " | ".join(REPORT_STATUSES) + " |",
            "|---|---|---|" + "---|" * len(REPORT_STATUSES)]
    by_control = matrix.totals_by_control()
    for c in controls:
        out.append(f"| {code[c.id]} `{c.id}` | {c.severity} | {md(c.title)} | " +
                   " | ".join(str(by_control[c.id][s]) for s in REPORT_STATUSES) + " |")
    out += ["", "## Totals per account", "", "| account | " + " | ".join(REPORT_STATUSES) + " |",
            "|---|" + "---|" * len(REPORT_STATUSES)]
    for account in accounts:
        out.append(f"| {md(account.label)} | " +
                   " | ".join(str(totals[account.key][s]) for s in REPORT_STATUSES) + " |")
    out += ["", "## Passing and not applicable", ""]
    for account in accounts:
        passing = [(c, matrix.cell(account, c.id)) for c in controls]
        passing = [(c, cell) for c, cell in passing if cell and cell.status not in PROBLEMS]
        if passing:
            out.append(f"### {md(account.label)}")
            out.append("")
            for c, cell in passing:
                region = f" ({cell.region})" if cell.region else ""
                out.append(f"- {SYMBOLS[cell.status]} **{c.id}**{region}: {cell.status} — {md(cell.reason)}")
            out.append("")
    if matrix.notes:
        out += ["## Notes", ""] + [f"- {md(n)}" for n in matrix.notes] + [""]
    return "\n".join(out)


# ---------------------------------------------------------------- html

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1d2125;max-width:1800px}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.when{color:#495057;margin-top:0}
.warning{border:2px solid #b02a37;background:#fff3cd;padding:.6rem .8rem;margin:.6rem 0;font-weight:600}
table.matrix{border-collapse:collapse;font-size:.8rem;table-layout:fixed;width:100%;max-width:1360px}
table.matrix col.account{width:15rem} table.matrix col.issues{width:3.5rem}
th,td{border:1px solid #d0d4d8;padding:.25rem .3rem;overflow-wrap:anywhere}
thead th{background:#f1f3f5;vertical-align:bottom}
th.sev{color:#fff;letter-spacing:.03em}
th.control{font-weight:600;font-size:.75rem}
th.control code{font-size:.7rem;font-weight:400}
th.account{text-align:left;background:#f8f9fa;font-weight:600}
tfoot td,tfoot th{background:#f8f9fa;font-weight:600}
td.cell{text-align:center;cursor:help;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td.blank{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#f1f3f5 4px,#f1f3f5 8px)}
td.issues{text-align:center;font-weight:700}
""" + "".join(f"th.{s}{{background:{c}}}\n" for s, c in SEVERITY_COLOURS.items()) \
    + "".join(f"td.{s},span.{s}{{background:{c}}}\n" for s, c in COLOURS.items()) + """
td.not-evaluated{color:#6c757d;font-style:italic}
.legend span{display:inline-block;padding:.15rem .5rem;margin:.1rem .4rem .1rem 0;border:1px solid #ccc}
table.fix{border-collapse:collapse;font-size:.85rem;width:100%;max-width:1360px;margin-bottom:1rem}
table.fix td{vertical-align:top} table.fix td.status{white-space:nowrap;width:9rem}
table.fix col.control{width:14rem} table.fix col.status{width:9rem}
details{margin:.3rem 0} summary{cursor:pointer;font-weight:600}
dl{margin:.3rem 0 .8rem 1rem} dt{font-weight:600;margin-top:.3rem} dd{margin-left:1rem}
"""


def esc(text):
    return html.escape(str(text), quote=True)


def render_html(matrix):
    """One self-contained page: inline CSS, no scripts, no external assets; fits 1366 px without
    sideways scrolling. Order: when, warnings, the matrix (worst account first), what to fix (each
    failure with its fix), passing cells folded away, the controls."""
    controls = matrix.ordered_controls()
    code = codes(matrix)
    by_control = matrix.totals_by_control()
    accounts = matrix.ranked_accounts()
    t = matrix.times()
    p = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>rootguard: root user checklist</title>", f"<style>{CSS}</style></head><body>",
         "<h1>Root user checklist</h1>",
         f'<p class="when"><time datetime="{esc(t["as_of"] or "")}">{esc(when(matrix))}</time></p>']
    p += [f'<p class="warning">Warning: {esc(w)}</p>' for w in matrix.warnings]
    if matrix.fixes:
        p.append(f"<h2>Fixes that did not happen ({len(matrix.fixes)})</h2>")
        p.append('<table class="fix"><thead><tr><th>account</th><th>policy</th><th>result</th><th>call</th>'
                 "<th>target</th><th>error</th></tr></thead><tbody>")
        for account_label, fixes in fixes_by_account(matrix):
            for record in fixes:
                p.append(f"<tr><td>{esc(account_label)}</td><td><code>{esc(record.get('policy'))}</code></td>"
                         f'<td class="status non-compliant">{esc(record.get("result"))}</td>'
                         f"<td><code>{esc(record.get('call') or '')}</code></td>"
                         f"<td>{esc(record.get('target') or '')}</td><td>{esc(record.get('detail'))}</td></tr>")
        p.append("</tbody></table>")
    p += [f"<p>{len(accounts)} account(s) × {len(controls)} controls, from <code>{esc(matrix.source)}</code>; "
          "worst account first. Hover a cell for its reason; what to fix is listed below the matrix.</p>",
          '<p class="legend">' + "".join(f'<span class="{s}">{esc(label(s))}</span>' for s in REPORT_STATUSES)
          + '<span class="blank" style="background:#fff">blank: not run for this account</span></p>',
          '<table class="matrix"><colgroup><col class="account">' + "<col>" * len(controls)
          + '<col class="issues"></colgroup>',
          "<thead><tr>", '<th class="account" rowspan="2">account</th>']
    for severity, group in matrix.controls_by_severity():
        p.append(f'<th class="sev {severity}" colspan="{len(group)}">{severity}</th>')
    p.append('<th rowspan="2" title="cells to act on: could-not-evaluate, non-compliant, not-evaluated">issues</th>'
             "</tr><tr>")
    for c in controls:
        wrapped = esc(c.id).replace("-", "-<wbr>")
        p.append(f'<th class="control" title="{esc(c.title)}">{code[c.id]}<br><code>{wrapped}</code></th>')
    p.append("</tr></thead><tbody>")
    for account in accounts:
        p.append(f'<tr><th class="account" scope="row">{esc(account.label)}</th>')
        for c in controls:
            cell = matrix.cell(account, c.id)
            if cell is None:
                p.append(f'<td class="blank" title="{esc(c.id)}: not run for this account"></td>')
                continue
            tip = f"{c.id}: {cell.status} — {cell.reason}" + (f" ({cell.region})" if cell.region else "")
            p.append(f'<td class="cell {cell.status}" title="{esc(tip)}">'
                     f"{SYMBOLS[cell.status]} {esc(SHORT[cell.status])}</td>")
        p.append(f'<td class="issues">{issues(matrix, account)}</td></tr>')
    p.append("</tbody><tfoot>")
    for status in REPORT_STATUSES:
        p.append(f'<tr><th class="account" scope="row">{esc(label(status))}</th>')
        p += [f"<td>{by_control[c.id][status]}</td>" for c in controls]
        p.append("<td></td></tr>")
    p.append("</tfoot></table>")
    p.append("<h2>To fix, worst account first</h2>")
    if not any(matrix.problems(a) for a in accounts):
        p.append("<p>Nothing: every evaluated control passes or does not apply.</p>")
    for account in accounts:
        problems = matrix.problems(account)
        if not problems:
            continue
        p.append(f"<h3>{esc(account.label)} — {len(problems)} issue(s)</h3>")
        p.append('<table class="fix"><colgroup><col class="control"><col class="status"><col><col></colgroup>'
                 "<thead><tr><th>control</th><th>status</th><th>why</th><th>fix</th></tr></thead><tbody>")
        for group, cell in grouped_problems(matrix, account):
            region = f"<br><small>{esc(cell.region)}</small>" if cell.region else ""
            names = "<br>".join(f"{code[c.id]} <code>{esc(c.id)}</code> <small>{esc(c.severity)}</small>"
                                for c in group)
            p.append(f"<tr><td>{names}</td>"
                     f'<td class="status {cell.status}">{esc(label(cell.status))}{region}</td>'
                     f"<td>{esc(cell.reason)}</td><td>{esc(fix(group[0], cell))}</td></tr>")
        p.append("</tbody></table>")
    p.append("<h2>Passing and not applicable</h2>")
    for account in accounts:
        passing = [(c, matrix.cell(account, c.id)) for c in controls]
        passing = [(c, cell) for c, cell in passing if cell and cell.status not in PROBLEMS]
        if not passing:
            continue
        p.append(f"<details><summary>{esc(account.label)} — {len(passing)} passing or not applicable"
                 "</summary><dl>")
        for c, cell in passing:
            where = f" · {esc(cell.region)}" if cell.region else ""
            p.append(f'<dt>{SYMBOLS[cell.status]} <code>{esc(c.id)}</code>: {esc(cell.status)}{where}</dt>'
                     f"<dd>{esc(cell.reason)}</dd>")
        p.append("</dl></details>")
    p.append("<h2>Controls</h2><dl>")
    for c in controls:
        refs = ", ".join([f"CIS {x}" for x in c.cis] + list(c.security_hub)) or "-"
        p.append(f"<dt>{code[c.id]} <code>{esc(c.id)}</code> ({c.severity})</dt>"
                 f"<dd>{esc(c.title)} — {esc(refs)}<br><small>{esc(c.remediation)}</small></dd>")
    p.append("</dl>")
    if matrix.notes:
        p.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in matrix.notes) + "</ul>")
    p.append("</body></html>")
    return "\n".join(p) + "\n"


# ---------------------------------------------------------------- json, csv

def render_json(matrix):
    return json.dumps(matrix.to_dict(), indent=2, default=str) + "\n"


def render_csv(matrix):
    """One row per account × control that was run (with its time, and the run's time span)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    times = matrix.times()
    for account in matrix.accounts:
        for c in matrix.ordered_controls():
            cell = matrix.cell(account, c.id)
            if cell is None:
                continue
            writer.writerow({"account_id": account.id or "", "account_name": account.name or "",
                             "control": c.id, "title": c.title, "severity": c.severity,
                             "status": cell.status, "reason": cell.reason,
                             "policy": cell.policy or "", "region": cell.region or "",
                             "evaluated_at": cell.evaluated_at or "", "run_started": times["run_started"] or "",
                             "run_ended": times["run_ended"] or "", "kind": "control"})
    for record in matrix.fixes:
        control = BY_ID.get(record.get("control") or "")
        writer.writerow({"account_id": record.get("account_id") or "",
                         "account_name": record.get("account_name") or "",
                         "control": record.get("control") or "", "title": control.title if control else "",
                         "severity": control.severity if control else "", "status": record.get("result") or "",
                         "reason": fix_line(record), "policy": record.get("policy") or "",
                         "region": record.get("region") or "", "evaluated_at": record.get("evaluated_at") or "",
                         "run_started": times["run_started"] or "",
                         "run_ended": times["run_ended"] or "", "kind": "fix"})
    return buffer.getvalue()


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html,
             "json": render_json, "csv": render_csv}


def render(matrix, fmt="text"):
    return RENDERERS[fmt](matrix)
