"""A report a new user can trust: CI exit codes, one row per unassumable account, single-account runs,
stale resource lists, and when the results hold — in every format."""
import csv
import io
import json
import os

import pytest

from report_trees import (
    account_run, accounts_file, org_resource, verdict, write, write_policy_dir)
from rootguard_filters.catalog import CONTROLS
from rootguard_filters.report import main
from rootguard_filters.report.collect import COULD_NOT_EVALUATE, NOT_EVALUATED, collect
from rootguard_filters.report.render import render

MGMT, PROD, DEV, GONE = "111111111111", "222222222222", "333333333333", "999999999999"
ACCOUNT_CONTROLS = [c.id for c in CONTROLS if c.resource != "aws.org-account"]   # per-account runs


def compliant_account(out, name, account_id):
    for control in ACCOUNT_CONTROLS:
        account_run(out, name, account_id, control, "compliant", "fine")


def scp_run(out, verdicts, flagged=(), names=None, cache_period=0):
    path = write_policy_dir(os.path.join(out, "mgmt", "us-east-1", "root-scp-missing"), "root-scp-missing",
                            MGMT, "us-east-1", verdicts, list(flagged), resource=org_resource, names=names)
    if names is not None or cache_period:
        document = json.load(open(os.path.join(path, "rootguard-verdicts.json")))
        document["names"] = names or {}
        write(path, "rootguard-verdicts.json", json.dumps(document))
        metadata = json.load(open(os.path.join(path, "metadata.json")))
        metadata["config"]["cache_period"] = cache_period
        write(path, "metadata.json", json.dumps(metadata))
    return path


# ------------------------------------------------------------------ exit codes

@pytest.mark.parametrize("status,code", [
    ("compliant", 0), ("not-applicable", 0), ("non-compliant", 5), ("could-not-evaluate", 6)])
def test_exit_status_names_the_worst_failing_status(tmp_path, status, code, capsys):
    out = str(tmp_path / "out")
    compliant_account(out, "mgmt", MGMT)
    compliant_account(out, "prod", PROD)
    account_run(out, "prod", PROD, "root-mfa-missing", status, "why")
    scp_run(out, {MGMT: {"root-scp": verdict("not-applicable", "management")},
                  PROD: {"root-scp": verdict("compliant", "covered")}})
    assert main([out]) == code
    if code:
        assert f"exit {code}" in capsys.readouterr().err


def test_not_evaluated_fails_with_four_and_fail_on_narrows_it(tmp_path):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")   # the others: no output
    assert main([out]) == 4
    assert main([out, "--fail-on", "non-compliant,could-not-evaluate"]) == 0
    assert main([out, "--fail-on", "none"]) == 0
    account_run(out, "prod", PROD, "root-access-keys-present", "non-compliant", "key")
    assert main([out]) == 5                     # non-compliant outranks not-evaluated
    assert main([out, "--fail-on", "not-evaluated"]) == 4


def test_unknown_fail_on_status_is_a_usage_error(tmp_path, capsys):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    with pytest.raises(SystemExit) as stop:
        main([out, "--fail-on", "non-complaint"])
    assert stop.value.code == 2
    assert "non-complaint" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["empty", "other-policies", "accounts-only"])
def test_directory_without_rootguard_output_exits_three_with_a_message(tmp_path, content, capsys):
    out = tmp_path / "out"
    out.mkdir()
    args = [str(out)]
    if content == "other-policies":
        (out / "prod" / "us-east-1" / "s3-public").mkdir(parents=True)
    if content == "accounts-only":
        args += ["--accounts", accounts_file(str(tmp_path), [(PROD, "prod")])]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "no rootguard output" in err and str(out) in err


# ------------------------------------------------------------------ unassumable account

def unassumable_tree(tmp_path):
    """What c7n-org leaves when AssumeRole is denied: the first policy's directory, an empty log."""
    out = str(tmp_path / "out")
    compliant_account(out, "mgmt", MGMT)
    compliant_account(out, "prod", PROD)
    stopped = os.path.join(out, "locked", "us-east-1", "root-mfa-missing")
    os.makedirs(stopped)
    write(stopped, "custodian-run.log", "")
    scp_run(out, {MGMT: {"root-scp": verdict("not-applicable", "management")},
                  PROD: {"root-scp": verdict("compliant", "covered")},
                  DEV: {"root-scp": verdict("compliant", "covered")}},
            names={MGMT: "mgmt", PROD: "prod", DEV: "locked"})
    log = tmp_path / "c7n-org.log"
    log.write_text("2026-11-28 04:09:40,331: c7n_org:WARNING Access denied api:AssumeRole "
                   "policy:root-mfa-missing account:locked region:us-east-1\n")
    return out, str(log)


@pytest.mark.parametrize("with_accounts", [False, True])
def test_unassumable_account_is_one_row_one_status_one_cause(tmp_path, with_accounts):
    out, log = unassumable_tree(tmp_path)
    accounts = accounts_file(str(tmp_path), [(MGMT, "mgmt"), (PROD, "prod"), (DEV, "locked")]) \
        if with_accounts else None
    matrix = collect(out, accounts, log)
    rows = [a for a in matrix.accounts if a.name == "locked" or a.id == DEV]
    assert len(rows) == 1 and rows[0].id == DEV
    cells = [matrix.cell(DEV, control) for control in ACCOUNT_CONTROLS]
    assert {c.status for c in cells} == {COULD_NOT_EVALUATE}
    assert len({c.reason for c in cells}) == 1
    assert "AccessDenied on AssumeRole" in cells[0].reason
    assert matrix.cell(DEV, "root-scp-missing").status == "compliant"   # evaluated from the organization


def test_unassumable_account_without_the_log_still_names_the_likely_cause(tmp_path):
    out, _ = unassumable_tree(tmp_path)
    matrix = collect(out)
    cells = [matrix.cell(DEV, control) for control in ACCOUNT_CONTROLS]
    assert {c.status for c in cells} == {COULD_NOT_EVALUATE}
    assert "AssumeRole" in cells[0].reason and "--c7n-org-log" in cells[0].reason


# ------------------------------------------------------------------ single-account run

def test_single_account_run_reports_members_only_for_organization_controls(tmp_path):
    out = tmp_path / "out"
    for control in ACCOUNT_CONTROLS:
        write_policy_dir(str(out / control), control, MGMT, "us-east-1",
                         {MGMT: {BY_FILTER[control]: verdict("compliant", "fine")}}, [])
    write_policy_dir(str(out / "root-scp-missing"), "root-scp-missing", MGMT, "us-east-1",
                     {MGMT: {"root-scp": verdict("not-applicable", "management")},
                      PROD: {"root-scp": verdict("non-compliant", "no deny-root SCP")},
                      DEV: {"root-scp": verdict("compliant", "covered")}}, [PROD], resource=org_resource,
                     names={PROD: "prod"})
    matrix = collect(str(out))
    assert {a.id for a in matrix.accounts} == {MGMT, PROD, DEV}
    for member in (PROD, DEV):
        assert all(matrix.cell(member, c) is None for c in ACCOUNT_CONTROLS)
    assert matrix.cell(PROD, "root-scp-missing").status == "non-compliant"
    assert not any(c.status == NOT_EVALUATED for c in matrix.cells.values())
    assert main([str(out), "--fail-on", "not-evaluated,could-not-evaluate"]) == 0
    data = json.loads(render(matrix, "json"))
    assert {(c["account_id"], c["control"]) for c in data["cells"] if c["account_id"] == DEV} == \
        {(DEV, "root-scp-missing")}
    rows = list(csv.DictReader(io.StringIO(render(matrix, "csv"))))
    assert len(rows) == len(ACCOUNT_CONTROLS) + 1 + 2


BY_FILTER = {c.id: c.filters[0] for c in CONTROLS}


# ------------------------------------------------------------------ stale resource list

def test_stale_organization_resource_list_is_a_loud_warning_with_the_fix(tmp_path, capsys):
    """After the organization changed, a cached aws.org-account list names old ids; accounts.yml the new."""
    out = str(tmp_path / "out")
    compliant_account(out, "mgmt", MGMT)
    compliant_account(out, "prod", PROD)
    scp_run(out, {MGMT: {"root-scp": verdict("not-applicable", "management")},
                  GONE: {"root-scp": verdict("could-not-evaluate",
                                             f"account {GONE} is not in the organization snapshot")}},
            flagged=[GONE], names={GONE: "old-prod"}, cache_period=15)
    matrix = collect(out)
    text = " ".join(matrix.warnings)
    assert "stale resource list" in text
    assert GONE in text and PROD in text                     # the phantom and the lacking member
    assert "--cache-period 0" in text and "--cache-period 15" in text
    for fmt in ("text", "markdown", "html", "json"):
        assert "stale resource list" in render(matrix, fmt)
    main([out, "--fail-on", "none"])
    assert "WARNING: stale resource list" in capsys.readouterr().err


def test_matching_resource_lists_raise_no_warning(tmp_path):
    out = str(tmp_path / "out")
    compliant_account(out, "mgmt", MGMT)
    compliant_account(out, "prod", PROD)
    scp_run(out, {MGMT: {"root-scp": verdict("not-applicable", "management")},
                  PROD: {"root-scp": verdict("compliant", "covered")}}, cache_period=15)
    assert collect(out).warnings == []


# ------------------------------------------------------------------ timestamps

def test_every_format_says_as_of_and_the_run_span(tmp_path):
    out = str(tmp_path / "out")
    compliant_account(out, "prod", PROD)
    matrix = collect(out)
    start, end = "2025-01-01T10:00:00Z", "2025-01-01T10:00:01Z"   # report_trees' metadata.json times
    for fmt in ("text", "markdown", "html"):
        page = render(matrix, fmt)
        assert f"as of {end}" in page and start in page, fmt
    data = json.loads(render(matrix, "json"))
    assert (data["as_of"], data["run_started"], data["run_ended"]) == (end, start, end)
    evaluated = [c for c in data["cells"] if c["status"] != NOT_EVALUATED]
    assert data["generated"] and evaluated and all(c["evaluated_at"] == end for c in evaluated)
    assert all(c["evaluated_at"] is None for c in data["cells"] if c["status"] == NOT_EVALUATED)
    rows = list(csv.DictReader(io.StringIO(render(matrix, "csv"))))
    assert {(r["evaluated_at"], r["run_started"], r["run_ended"]) for r in rows
            if r["status"] != NOT_EVALUATED} == {(end, start, end)}


def test_html_orders_worst_accounts_first_with_the_fix_beside_each_failure(tmp_path):
    out = str(tmp_path / "out")
    compliant_account(out, "aaa-clean", MGMT)
    compliant_account(out, "zzz-bad", PROD)
    account_run(out, "zzz-bad", PROD, "root-access-keys-present", "non-compliant", "an access key")
    scp_run(out, {MGMT: {"root-scp": verdict("not-applicable", "management")},
                  PROD: {"root-scp": verdict("compliant", "covered")}})
    page = render(collect(out), "html")
    assert page.index("zzz-bad") < page.index("aaa-clean")
    fix_section = page.split("To fix, worst account first")[1].split("Passing and not applicable")[0]
    assert "an access key" in fix_section and "Delete root&#x27;s access keys" in fix_section
    assert "aaa-clean" not in fix_section


def test_text_table_never_cuts_account_names(tmp_path):
    out = str(tmp_path / "out")
    name = "platform-shared-services-production-eu"
    compliant_account(out, name, PROD)
    text = render(collect(out), "text")
    row = [line for line in text.splitlines() if line.startswith(name)]
    assert row and row[0].startswith(f"{name} ({PROD})") and "…" not in row[0]
