"""Render a ``Matrix`` as a terminal table, Markdown, one HTML page, JSON or CSV.

Rows are accounts, columns are controls grouped by priority (Critical, High, Medium) in catalogue
order; every format carries totals per control and per account and every cell's reason.
"""
import csv
import html
import io
import json

from rootguard_filters.report.collect import REPORT_STATUSES, WORST_FIRST
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_APPLICABLE
from rootguard_filters.report.collect import NOT_EVALUATED

SYMBOLS = {COMPLIANT: "✔", NON_COMPLIANT: "✘", COULD_NOT_EVALUATE: "?", NOT_APPLICABLE: "–",
           NOT_EVALUATED: "·"}
# Short words for the 9-character terminal cells; the legend spells the statuses out.
SHORT = {COMPLIANT: "ok", NON_COMPLIANT: "FAIL", COULD_NOT_EVALUATE: "UNKNOWN", NOT_APPLICABLE: "n/a",
         NOT_EVALUATED: "missing"}
COLOURS = {COMPLIANT: "#d4edda", NON_COMPLIANT: "#f8d7da", COULD_NOT_EVALUATE: "#ffe8a1",
           NOT_APPLICABLE: "#e2e3e5", NOT_EVALUATED: "#ffffff"}
PROBLEMS = (COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_EVALUATED)   # statuses whose reasons text lists
CSV_FIELDS = ("account_id", "account_name", "control", "title", "severity", "status", "reason",
              "policy", "region")


def codes(matrix):
    """Short column codes: C1.. for Critical, H1.. for High, M1.. for Medium."""
    result = {}
    for severity, controls in matrix.controls_by_severity():
        for number, control in enumerate(controls, 1):
            result[control.id] = f"{severity[0]}{number}"
    return result


def label(status):
    return f"{SYMBOLS[status]} {status}"


# ---------------------------------------------------------------- text

def clip(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"


def render_text(matrix, width=120):
    """A fixed-width table for a terminal (≤ 120 columns), then legend, totals and reasons."""
    code = codes(matrix)
    controls = matrix.ordered_controls()
    # Wide enough for the per-status total rows ("? could-not-evaluate").
    name_width = max([len(label(COULD_NOT_EVALUATE))] + [len(a.label) for a in matrix.accounts])
    name_width = min(name_width, width - 10 * len(controls) - 8)
    cell_width = 9
    lines = [f"rootguard: root user checklist — {len(matrix.accounts)} account(s) × {len(controls)} controls",
             f"from: {matrix.source}", ""]

    def row(first, cells, last=""):
        return (clip(first, name_width).ljust(name_width) + " " +
                " ".join(c.ljust(cell_width) for c in cells) + " " + last).rstrip()

    groups = []
    for severity, group in matrix.controls_by_severity():
        groups.append(clip(severity, cell_width * len(group) + len(group) - 1)
                      .ljust(cell_width * len(group) + len(group) - 1))
    lines.append((" " * name_width + " " + " ".join(groups)).rstrip())
    lines.append(row("account", [code[c.id] for c in controls], "issues"))
    lines.append("-" * min(width, name_width + 1 + 10 * len(controls) + 6))
    totals = matrix.totals_by_account()
    for account in matrix.accounts:
        cells = [f"{SYMBOLS[s]} {SHORT[s]}" for s in (matrix.cell(account, c.id).status for c in controls)]
        issues = sum(totals[account.key][s] for s in PROBLEMS)
        lines.append(row(account.label, cells, str(issues)))
    if not matrix.accounts:
        lines.append("(no accounts: no rootguard output found and no accounts file)")
    lines.append("-" * min(width, name_width + 1 + 10 * len(controls) + 6))
    by_control = matrix.totals_by_control()
    for status in REPORT_STATUSES:
        lines.append(row(label(status), [str(by_control[c.id][status]) for c in controls]))
    lines += ["", "Controls:"]
    for c in controls:
        lines.append(clip(f"  {code[c.id]:<3} {c.severity:<8} {c.id} — {c.title}", width))
    lines += ["", "Legend: " + "  ".join(f"{SYMBOLS[s]} {SHORT[s]}: {s}" for s in REPORT_STATUSES[:3]),
              "        " + "  ".join(f"{SYMBOLS[s]} {SHORT[s]}: {s}" for s in REPORT_STATUSES[3:])]
    lines += ["", "Totals per account:"]
    for account in matrix.accounts:
        counts = ", ".join(f"{n} {s}" for s, n in totals[account.key].items() if n)
        lines.append(f"  {account.label}: {counts}")
    reasons = [(a, c, matrix.cell(a, c.id)) for a in matrix.accounts for c in controls
               if matrix.cell(a, c.id).status in PROBLEMS]
    lines += ["", "Reasons (could-not-evaluate, non-compliant, not-evaluated; every reason: --format json):"]
    reasons.sort(key=lambda item: WORST_FIRST.index(item[2].status))
    for account, control, cell in reasons:
        where = f" [{cell.region}]" if cell.region else ""
        lines.append(f"  {SYMBOLS[cell.status]} {account.label} / {code[control.id]} {control.id}{where}: "
                     f"{cell.status}: {cell.reason}")
    if not reasons:
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
    out = ["# Root user checklist", "",
           f"{len(matrix.accounts)} account(s) × {len(controls)} controls, from `{md(matrix.source)}`.", "",
           "| account | " + " | ".join(f"{code[c.id]} `{c.id}`" for c in controls) + " | issues |",
           "|---|" + "---|" * len(controls) + "---|"]
    for account in matrix.accounts:
        cells = [label(matrix.cell(account, c.id).status) for c in controls]
        issues = sum(totals[account.key][s] for s in PROBLEMS)
        out.append(f"| {md(account.label)} | " + " | ".join(cells) + f" | {issues} |")
    out += ["", "## Totals per control", "",
            "| control | severity | title | " + " | ".join(REPORT_STATUSES) + " |",
            "|---|---|---|" + "---|" * len(REPORT_STATUSES)]
    by_control = matrix.totals_by_control()
    for c in controls:
        out.append(f"| {code[c.id]} `{c.id}` | {c.severity} | {md(c.title)} | " +
                   " | ".join(str(by_control[c.id][s]) for s in REPORT_STATUSES) + " |")
    out += ["", "## Totals per account", "", "| account | " + " | ".join(REPORT_STATUSES) + " |",
            "|---|" + "---|" * len(REPORT_STATUSES)]
    for account in matrix.accounts:
        out.append(f"| {md(account.label)} | " +
                   " | ".join(str(totals[account.key][s]) for s in REPORT_STATUSES) + " |")
    out += ["", "## Reasons", ""]
    for account in matrix.accounts:
        out.append(f"### {md(account.label)}")
        out.append("")
        for c in controls:
            cell = matrix.cell(account, c.id)
            region = f" ({cell.region})" if cell.region else ""
            out.append(f"- {SYMBOLS[cell.status]} **{c.id}**{region}: {cell.status} — {md(cell.reason)}")
        out.append("")
    if matrix.notes:
        out += ["## Notes", ""] + [f"- {md(n)}" for n in matrix.notes] + [""]
    return "\n".join(out)


# ---------------------------------------------------------------- html

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1d2125}
h1{font-size:1.4rem} h2{font-size:1.15rem;margin-top:2rem}
.wrap{max-height:75vh;overflow:auto;border:1px solid #ccc}
table{border-collapse:separate;border-spacing:0;font-size:.85rem}
th,td{border-right:1px solid #ddd;border-bottom:1px solid #ddd;padding:.3rem .5rem;white-space:nowrap}
th.control{white-space:normal;min-width:7.5rem;max-width:10rem}
thead th{position:sticky;background:#f1f3f5;z-index:2}
thead tr:first-child th{top:0} thead tr:nth-child(2) th{top:1.9rem}
th.account{position:sticky;left:0;background:#f8f9fa;text-align:left;z-index:1}
thead th.account{z-index:3}
th.Critical{background:#f5c2c7} th.High{background:#ffe69c} th.Medium{background:#cfe2ff}
tfoot td,tfoot th{background:#f8f9fa;font-weight:600}
td.cell{text-align:center;cursor:help}
""" + "".join(f"td.{s}{{background:{c}}}\n" for s, c in COLOURS.items()) + """
td.not-evaluated{color:#6c757d;font-style:italic}
.legend span{display:inline-block;padding:.15rem .5rem;margin-right:.4rem;border:1px solid #ccc}
details{margin:.3rem 0} summary{cursor:pointer;font-weight:600}
dl{margin:.3rem 0 .8rem 1rem} dt{font-weight:600;margin-top:.3rem} dd{margin-left:1rem}
"""


def esc(text):
    return html.escape(str(text), quote=True)


def render_html(matrix):
    """One self-contained page: inline CSS, no scripts, no external assets."""
    controls = matrix.ordered_controls()
    code = codes(matrix)
    totals = matrix.totals_by_account()
    by_control = matrix.totals_by_control()
    p = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>rootguard: root user checklist</title>", f"<style>{CSS}</style></head><body>",
         "<h1>Root user checklist</h1>",
         f"<p>{len(matrix.accounts)} account(s) × {len(controls)} controls, from <code>{esc(matrix.source)}</code>."
         " Hover a cell for its reason.</p>",
         '<p class="legend">' + "".join(f'<span class="{s}" style="background:{COLOURS[s]}">{esc(label(s))}</span>'
                                        for s in REPORT_STATUSES) + "</p>",
         '<div class="wrap"><table>', "<thead><tr>", '<th class="account" rowspan="2">account</th>']
    for severity, group in matrix.controls_by_severity():
        p.append(f'<th class="{severity}" colspan="{len(group)}">{severity}</th>')
    p.append('<th colspan="5">totals per account</th></tr><tr>')
    for c in controls:
        # break long control ids at their hyphens so the matrix fits a laptop screen
        wrapped = esc(c.id).replace("-", "-<wbr>")
        p.append(f'<th class="{c.severity} control" title="{esc(c.title)}">{code[c.id]}<br><code>{wrapped}</code></th>')
    p += [f'<th title="{s}">{SYMBOLS[s]}</th>' for s in REPORT_STATUSES]
    p.append("</tr></thead><tbody>")
    for account in matrix.accounts:
        p.append(f'<tr><th class="account" scope="row">{esc(account.label)}</th>')
        for c in controls:
            cell = matrix.cell(account, c.id)
            tip = f"{c.id}: {cell.status} — {cell.reason}" + (f" ({cell.region})" if cell.region else "")
            p.append(f'<td class="cell {cell.status}" title="{esc(tip)}">{esc(label(cell.status))}</td>')
        p += [f"<td>{totals[account.key][s]}</td>" for s in REPORT_STATUSES]
        p.append("</tr>")
    p.append("</tbody><tfoot>")
    for status in REPORT_STATUSES:
        p.append(f'<tr><th class="account" scope="row">{esc(label(status))}</th>')
        p += [f"<td>{by_control[c.id][status]}</td>" for c in controls]
        p.append('<td colspan="5"></td></tr>')
    p.append("</tfoot></table></div>")
    p.append("<h2>Controls</h2><dl>")
    for c in controls:
        refs = ", ".join([f"CIS {x}" for x in c.cis] + list(c.security_hub)) or "-"
        p.append(f"<dt>{code[c.id]} <code>{esc(c.id)}</code> ({c.severity})</dt>"
                 f"<dd>{esc(c.title)} — {esc(refs)}<br><small>{esc(c.remediation)}</small></dd>")
    p.append("</dl><h2>Reasons</h2>")
    for account in matrix.accounts:
        issues = sum(totals[account.key][s] for s in PROBLEMS)
        p.append(f"<details{' open' if issues else ''}><summary>{esc(account.label)} — {issues} issue(s)"
                 "</summary><dl>")
        for c in controls:
            cell = matrix.cell(account, c.id)
            where = f" · {esc(cell.region)}" if cell.region else ""
            p.append(f'<dt>{SYMBOLS[cell.status]} <code>{esc(c.id)}</code>: {esc(cell.status)}{where}</dt>'
                     f"<dd>{esc(cell.reason)}</dd>")
        p.append("</dl></details>")
    if matrix.notes:
        p.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in matrix.notes) + "</ul>")
    p.append("</body></html>")
    return "\n".join(p) + "\n"


# ---------------------------------------------------------------- json, csv

def render_json(matrix):
    return json.dumps(matrix.to_dict(), indent=2, default=str) + "\n"


def render_csv(matrix):
    """One row per account × control."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for account in matrix.accounts:
        for c in matrix.ordered_controls():
            cell = matrix.cell(account, c.id)
            writer.writerow({"account_id": account.id or "", "account_name": account.name or "",
                             "control": c.id, "title": c.title, "severity": c.severity,
                             "status": cell.status, "reason": cell.reason,
                             "policy": cell.policy or "", "region": cell.region or ""})
    return buffer.getvalue()


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html,
             "json": render_json, "csv": render_csv}


def render(matrix, fmt="text"):
    return RENDERERS[fmt](matrix)
