"""Every format renders the whole matrix: text, Markdown, HTML, JSON, CSV, and the CLI around them."""
import csv
import io
import json
from html.parser import HTMLParser

from report_trees import account_run, accounts_file, errored_run, org_resource, verdict, write, write_policy_dir
from rootguard_filters.catalog import CONTROLS, DAILY

# The sample tree holds a daily run: the break-glass review's controls are not in it.
DAILY_CONTROLS = [c for c in CONTROLS if c.cadence == DAILY]
from rootguard_filters.report import main
from rootguard_filters.report.collect import Matrix, REPORT_STATUSES, collect
from rootguard_filters.report.render import render

PROD, DEV, MGMT, GHOST = "222222222222", "333333333333", "111111111111", "555555555555"


def sample(tmp_path):
    """Every status at least once: org control, errored policy, missing account, <html> in a reason."""
    out = tmp_path / "out"
    write_policy_dir(str(out / "mgmt" / "us-east-1" / "root-scp-missing"), "root-scp-missing", MGMT,
                     "us-east-1", {MGMT: {"root-scp": verdict("compliant", "deny-root SCP on root")},
                                   PROD: {"root-scp": verdict("non-compliant", "no SCP | <b>denies</b> root")}},
                     [PROD], resource=org_resource, names={PROD: "prod"})
    account_run(str(out), "prod", PROD, "root-mfa-missing", "non-compliant", "root password, no MFA")
    account_run(str(out), "prod", PROD, "root-recently-used", "not-applicable", "no root credentials")
    account_run(str(out), "mgmt", MGMT, "root-mfa-missing", "compliant", "hardware MFA")
    errored_run(str(out / "mgmt" / "us-east-1" / "root-access-keys-present"), "root-access-keys-present", MGMT)
    accounts = accounts_file(str(tmp_path), [(MGMT, "mgmt"), (PROD, "prod"), (GHOST, "ghost")])
    return str(out), accounts


class Page(HTMLParser):
    """Collects tags, cell classes and external references of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tags, self.cells, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "td" and "cell" in (attrs.get("class") or ""):
            self.cells.append(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.external.append(attrs[key])


def test_text_table_fits_120_columns_and_lists_reasons(tmp_path):
    out, accounts = sample(tmp_path)
    text = render(collect(out, accounts), "text")
    # The table: from the severity header to the per-status totals (the source path line may be long).
    lines = text.split("\nControls:")[0].splitlines()
    table = "\n".join(lines[next(i for i, line in enumerate(lines) if line.lstrip().startswith("Critical")):])
    assert max(len(line) for line in table.splitlines()) <= 120
    assert "✘ FAIL" in text and "? UNKNOWN" in text and "· missing" in text and "✔ ok" in text
    assert "root password, no MFA" in text
    assert "AccessDenied" in text
    # Critical columns come before High before Medium.
    header = [line for line in text.splitlines() if line.startswith("account")][0]
    assert header.index("C1") < header.index("H1") < header.index("M1")


def test_markdown_has_matrix_totals_and_escaped_reasons(tmp_path):
    out, accounts = sample(tmp_path)
    text = render(collect(out, accounts), "markdown")
    assert text.startswith("# Root user checklist")
    assert "## Totals per control" in text and "## Totals per account" in text
    assert "no SCP \\| &lt;b&gt;denies&lt;/b&gt; root" in text
    rows = [line for line in text.splitlines() if line.startswith("| ghost")]
    assert rows and rows[0].count("not-evaluated") == len(DAILY_CONTROLS)


def test_html_parses_is_self_contained_and_colours_each_status(tmp_path):
    out, accounts = sample(tmp_path)
    matrix = collect(out, accounts)
    page_text = render(matrix, "html")
    page = Page()
    page.feed(page_text)
    page.close()
    assert "script" not in page.tags and page.external == []
    assert "<style>" in page_text and "overflow:auto" not in page_text   # no scrolling box
    assert len(page.cells) == len(matrix.cells) == len(matrix.accounts) * len(matrix.controls)
    statuses = {attrs["class"].split()[1] for attrs in page.cells}
    assert statuses == set(REPORT_STATUSES)
    # Reasons are on hover (title) and escaped: no raw <b> from a reason reaches the page.
    assert any("no SCP | <b>denies</b> root" in attrs["title"] for attrs in page.cells)
    assert "<b>denies</b>" not in page_text
    assert "details" in page.tags


def test_json_round_trips_to_the_same_matrix(tmp_path):
    out, accounts = sample(tmp_path)
    matrix = collect(out, accounts)
    data = json.loads(render(matrix, "json"))
    again = Matrix.from_dict(data)
    assert [a.label for a in again.accounts] == [a.label for a in matrix.accounts]
    assert again.cells == matrix.cells
    assert data["totals"]["by_control"]["root-scp-missing"]["non-compliant"] == 1
    assert json.loads(render(again, "json")) == data


def test_csv_has_header_and_one_row_per_account_and_control(tmp_path):
    out, accounts = sample(tmp_path)
    matrix = collect(out, accounts)
    rows = list(csv.DictReader(io.StringIO(render(matrix, "csv"))))
    assert len(rows) == len(matrix.accounts) * len(matrix.controls) == 3 * len(DAILY_CONTROLS)
    assert {(r["account_name"], r["control"]) for r in rows} >= {("ghost", "root-mfa-missing")}
    prod_scp = [r for r in rows if r["account_id"] == PROD and r["control"] == "root-scp-missing"][0]
    assert (prod_scp["status"], prod_scp["policy"]) == ("non-compliant", "root-scp-missing")


def test_cli_writes_each_format_to_a_file_and_exits_zero(tmp_path):
    out, accounts = sample(tmp_path)
    for fmt in ("text", "markdown", "html", "json", "csv"):
        target = tmp_path / f"report.{fmt}"
        assert main([out, "--format", fmt, "--output", str(target), "--accounts", accounts,
                     "--fail-on", "none"]) == 0
        assert "ghost" in target.read_text(encoding="utf-8")


def test_cli_defaults_to_text_on_stdout(tmp_path, capsys):
    out, _ = sample(tmp_path)
    assert main([out, "--fail-on", "none"]) == 0
    assert "root user checklist" in capsys.readouterr().out


def test_cli_exits_two_on_unreadable_input(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    out, _ = sample(tmp_path)
    assert main([out, "--accounts", str(tmp_path / "nope.yml")]) == 2


def test_cli_reports_malformed_files_in_cells_and_exits_zero(tmp_path, capsys):
    out, _ = sample(tmp_path)
    write(str(tmp_path / "out" / "prod" / "us-east-1" / "root-mfa-missing"), "resources.json", "{{{")
    assert main([out, "--format", "csv", "--fail-on", "none"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    cell = [r for r in rows if r["account_id"] == PROD and r["control"] == "root-mfa-missing"][0]
    assert cell["status"] == "could-not-evaluate"


def test_report_package_does_not_import_c7n():
    """The report must work on any past run's output, without c7n or the filters."""
    import subprocess
    import sys
    code = ("import sys, rootguard_filters.report; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'c7n' or m in "
            "('rootguard_filters.plumbing.base', 'rootguard_filters._plugins')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
