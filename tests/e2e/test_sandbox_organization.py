"""End to end: the sandbox organization, plain c7n-org running the whole pack, and the checklist report.

This is `rootguard demo` (which `make demo` runs) with its verdicts pinned: every account's status for every
control of the catalogue.
"""
import json
import sysconfig
from pathlib import Path

import pytest

from rootguard_filters import catalog
from rootguard_filters.report import collect, render

ROOT = Path(__file__).resolve().parents[2]

C, NC, NA = "compliant", "non-compliant", "not-applicable"
UNKNOWN = {"could-not-evaluate", "not-evaluated"}

# posture -> control -> expected status; controls not listed are compliant.
EXPECTED = {
    "management": {"root-scp-missing": NA, "root-only-admin": NC},
    "compliant": {"root-credentials-management-disabled": NA},
    "root-access-key": {"root-access-keys-present": NC, "root-recently-used": NC,
                        "root-credentials-management-disabled": NA, "root-session-unapproved": NC},
    "virtual-mfa-only": {"root-mfa-not-hardware": NC, "root-credentials-management-disabled": NA,
                         "root-session-unapproved": NC},
    # its own chain is broken (pending subscription); the organization trail's chain covers it
    "broken-alarm-chain": {"root-credentials-management-disabled": NA, "admin-users-without-mfa": NC},
    "outside-scp": {"root-scp-missing": NC, "root-credentials-management-disabled": NA,
                    "root-session-unapproved": NC},
    "root-credentials-removed": {"root-credentials-management-disabled": NA},
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    purelib = Path(sysconfig.get_paths()["purelib"])
    assert (purelib / "rootguard.pth").exists(), (
        "plain c7n-org sees the pack through rootguard.pth: run `make venv` (or `make test`)")
    from rootguard_filters.cli.demo import main
    workdir = tmp_path_factory.mktemp("demo")
    assert main(["--policies", str(ROOT / "policies"), "--workdir", str(workdir)]) == 0
    expected = json.loads((workdir / "expected.json").read_text())
    matrix = collect(str(workdir / "output"), str(workdir / "accounts.yml"))
    return workdir, expected, matrix


def postures(expected):
    return {info["posture"]: account_id for account_id, info in expected.items()}


@pytest.mark.parametrize("posture", sorted(EXPECTED))
def test_every_control_of_each_posture(demo_run, posture):
    _, expected, matrix = demo_run
    account_id = postures(expected)[posture]
    got = {c.id: matrix.cell(account_id, c.id).status for c in catalog.CONTROLS}
    want = {c.id: EXPECTED[posture].get(c.id, C) for c in catalog.CONTROLS}
    assert got == want


def test_unassumable_account_is_never_compliant_in_its_own_controls(demo_run):
    _, expected, matrix = demo_run
    account_id = postures(expected)["unassumable"]
    for control in catalog.CONTROLS:
        status = matrix.cell(account_id, control.id).status
        if control.resource == "aws.org-account":
            # evaluated from the management account, which needs no role in the member
            assert status == C, control.id
        else:
            assert status in UNKNOWN, control.id


def test_non_compliant_cells_say_why(demo_run):
    _, expected, matrix = demo_run
    ids = postures(expected)
    assert "virtual" in matrix.cell(ids["virtual-mfa-only"], "root-mfa-not-hardware").reason
    assert "3 days ago" in matrix.cell(ids["root-access-key"], "root-recently-used").reason
    # break-glass: the seed's register approves some root sessions and not others
    assert "no approval for account" in matrix.cell(ids["root-access-key"], "root-session-unapproved").reason
    assert "dual control" in matrix.cell(ids["outside-scp"], "root-session-unapproved").reason
    assert "approved" in matrix.cell(ids["management"], "root-session-unapproved").reason
    assert "root is the only administrator" in matrix.cell(ids["management"], "root-only-admin").reason
    assert "OrganizationAccountAccessRole" in matrix.cell(ids["compliant"], "root-only-admin").reason


def test_sessions_review_lists_every_root_session_with_its_approval(demo_run):
    from rootguard_filters.report.sessions import collect_sessions, render_csv
    workdir, expected, _ = demo_run
    review = collect_sessions(str(workdir / "output"), str(workdir / "accounts.yml"))
    by_posture = {expected[e["account_id"]]["posture"]: e for e in review["accounts"]}
    kinds = {p: sorted(s["kind"] for s in e["sessions"]) for p, e in by_posture.items()}
    assert kinds["management"] == ["assume-root", "console"]
    assert kinds["root-credentials-removed"] == ["assume-root"]
    assert kinds["root-access-key"] == ["access-key"] and kinds["compliant"] == []
    failed = [e["event"] for e in by_posture["virtual-mfa-only"]["signin_events"]]
    assert failed.count("ConsoleLogin") == 3 and "PasswordRecoveryRequested" in failed
    assert len(review["registers"]) == 1 and list(review["registers"].values())[0]
    assert "CHG-1002" in render_csv(review)


def test_members_rely_on_the_organization_trail_and_their_cells_name_its_chain(demo_run):
    _, expected, matrix = demo_run
    for account_id, info in expected.items():
        if info["posture"] in ("management", "unassumable"):
            continue
        cell = matrix.cell(account_id, "root-usage-alarm-missing")
        assert cell.status == C, info["posture"]
        assert ("organization trail arn:aws:cloudtrail:us-east-1:123456789012:trail/organization-trail, "
                "chain in owner account 123456789012") in cell.reason, cell.reason
        assert "aws-cloudtrail-logs-organization" in cell.reason and "confirmed email" in cell.reason


def test_html_report_is_written(demo_run):
    workdir, _, matrix = demo_run
    html = (workdir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert all(c.id in html for c in catalog.CONTROLS)
    assert render(matrix, "csv").count("\n") >= len(catalog.CONTROLS) * 8
