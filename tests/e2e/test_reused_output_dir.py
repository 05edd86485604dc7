"""One output directory, run into again and again (CI's `custodian run -s out` / `c7n-org run -s out`):
the report takes each cell from the newest run and never shows an earlier run's output as today's.

Plain custodian and c7n-org run against the sandbox organization; each scenario reuses one directory.
"""
import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.report import main
from rootguard_filters.report.collect import collect
from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization
from rootguard_filters.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
POLICIES = {p["name"]: p for p in yaml.safe_load((ROOT / "policies" / "account.yml").read_text())["policies"]}
ORG_REMEDIATION = {p["name"]: p for p in
                   yaml.safe_load((ROOT / "remediation" / "organization.yml").read_text())["policies"]}
AUDIT = [POLICIES["root-mfa-missing"], POLICIES["root-access-keys-present"]]
STRICT = "non-compliant,could-not-evaluate"


def write_policies(path, policies):
    path.write_text(yaml.safe_dump({"policies": policies}))
    return str(path)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    work = tmp_path_factory.mktemp("reused-out")
    (work / "home").mkdir()
    with Sandbox() as sandbox:
        try:
            seeded = seed_organization(sandbox.endpoint_url, str(work), members=["compliant", "compliant",
                                                                                   "root-access-key"])
            env = offline_env(sandbox.endpoint_url, work / "home")
            yield {"sandbox": sandbox, "seeded": seeded, "env": env, "work": work,
                   "names": {a: i["name"] for a, i in seeded["accounts"].items()}}
        finally:
            sandbox.reset()   # moto's state is process-wide: leave no organization for the next sandbox


def c7n_org(org, out, policy_file, log):
    run = subprocess.run([tool("c7n-org"), "run", "-c", org["seeded"]["accounts_yml"], "-s", str(out),
                          "-u", policy_file, "-r", "us-east-1", "--cache-period", "0"],
                         env=org["env"], capture_output=True, text=True, timeout=300)
    log.write_text(run.stderr)
    return run


def custodian(org, out, policy_file, *args):
    return subprocess.run([tool("custodian"), "run", "-s", str(out), "-r", "us-east-1", "--cache-period", "0",
                           *args, policy_file], env=org["env"], capture_output=True, text=True, timeout=300)


def members(org, posture):
    return sorted(a for a, i in org["seeded"]["accounts"].items() if i["posture"] == posture)


@pytest.fixture(scope="module")
def org_reruns(org):
    """Run 1: every account assumable. Run 2 into the same directory: one member's role cannot be
    assumed, another's lacks iam:ListAccountAliases (c7n's own aws.account query)."""
    sandbox, work = org["sandbox"], org["work"]
    policy_file = write_policies(work / "audit.yml", AUDIT)
    out = work / "org-out"
    first = c7n_org(org, out, policy_file, work / "run1.log")
    time.sleep(1.1)   # the next scheduled run, later
    locked, denied = members(org, "compliant")
    sandbox.set_unassumable(locked)
    sandbox.set_denied(denied, ["iam:ListAccountAliases"])
    try:
        second = c7n_org(org, out, policy_file, work / "run2.log")
    finally:
        sandbox.set_unassumable(locked, False)
        sandbox.set_denied(denied, [])
    return {"out": out, "log": work / "run2.log", "first": first, "second": second,
            "locked": org["names"][locked], "denied": org["names"][denied], "ids": (locked, denied)}


def cells_of(data, name):
    return {c["control"]: c for c in data["cells"] if c["account_name"] == name}


def report_json(args, capsys):
    status = main(args + ["--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def test_run_one_is_clean_and_run_two_fails_in_two_accounts(org_reruns):
    assert org_reruns["first"].returncode == 0, org_reruns["first"].stderr[-2000:]
    assert org_reruns["second"].returncode == 1
    log = org_reruns["log"].read_text()
    assert f"api:AssumeRole policy:root-mfa-missing account:{org_reruns['locked']}" in log
    assert f"api:ListAccountAliases policy:root-mfa-missing account:{org_reruns['denied']}" in log


def test_run_two_log_makes_both_accounts_could_not_evaluate_never_run_ones_compliant(org_reruns, org, capsys):
    status, data = report_json([str(org_reruns["out"]), "--accounts", org["seeded"]["accounts_yml"],
                                "--c7n-org-log", str(org_reruns["log"]), "--fail-on", STRICT], capsys)
    assert status == 6
    for name, api in ((org_reruns["locked"], "AssumeRole"), (org_reruns["denied"], "ListAccountAliases")):
        cells = cells_of(data, name)
        for control in ("root-mfa-missing", "root-access-keys-present"):
            assert cells[control]["status"] == "could-not-evaluate", (name, cells[control])
            assert f"AccessDenied on {api}" in cells[control]["reason"]
            assert "output from an earlier run (" in cells[control]["reason"]
    assert data["stale_output_seen"] is True and data["stale_output"]
    assert any("output of earlier runs" in w for w in data["warnings"])
    # the accounts that ran in run 2 keep their verdicts, with run 2's time
    management = cells_of(data, org["names"][MANAGEMENT_ACCOUNT_ID])
    assert management["root-mfa-missing"]["status"] == "compliant"
    keys = cells_of(data, org["names"][members(org, "root-access-key")[0]])["root-access-keys-present"]
    assert keys["status"] == "non-compliant"
    second_start = min(json.loads(p.read_text())["execution"]["start"]
                       for p in (org_reruns["out"] / org["names"][MANAGEMENT_ACCOUNT_ID]).rglob("metadata.json"))
    assert keys["evaluated_at"] >= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(second_start)))


def test_text_header_warns_about_earlier_runs(org_reruns, org, capsys):
    main([str(org_reruns["out"]), "--c7n-org-log", str(org_reruns["log"])])
    text = capsys.readouterr().out
    header = text.split("account ")[0]
    assert "WARNING: this output directory also holds output of earlier runs" in header


def test_without_the_log_the_denied_accounts_first_policy_is_not_run_ones_verdict(org_reruns):
    """c7n rewrote metadata.json of the policy c7n-org stopped at; its resources.json is run 1's."""
    matrix = collect(str(org_reruns["out"]))
    denied = next(a for a in matrix.accounts if a.name == org_reruns["denied"])
    cell = matrix.cell(denied, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert "output from an earlier run (" in cell.reason and "no resources.json" in cell.reason
    assert matrix.stale


# ------------------------------------------------------------------ plain custodian, one directory

@pytest.fixture(scope="module")
def plain_reruns(org):
    """Plain custodian in the management account, five runs into one directory."""
    work = org["work"]
    out = work / "plain-out"
    runs = {}
    # 1: the shipped root-mfa-missing: compliant, with its verdict file
    runs["clean"] = custodian(org, out, write_policies(work / "p1.yml", [POLICIES["root-mfa-missing"]]))
    time.sleep(1.1)
    # 2: a filter before root-mfa drops the account: root-mfa never runs, run 1's verdict file stays
    stopped = dict(POLICIES["root-mfa-missing"], filters=[
        {"type": "value", "key": "account_id", "value": "000000000000"}] + POLICIES["root-mfa-missing"]["filters"])
    runs["stopped"] = custodian(org, out, write_policies(work / "p2.yml", [stopped]))
    return {"out": out, "runs": runs}


def test_a_verdict_file_of_an_earlier_run_is_never_a_verdict(plain_reruns):
    assert all(r.returncode == 0 for r in plain_reruns["runs"].values()), \
        [r.stderr[-1500:] for r in plain_reruns["runs"].values()]
    document = json.loads((plain_reruns["out"] / "root-mfa-missing" / "rootguard-verdicts.json").read_text())
    metadata = json.loads((plain_reruns["out"] / "root-mfa-missing" / "metadata.json").read_text())
    assert document["execution_id"] and document["execution_id"] != metadata["execution"]["id"]
    cell = collect(str(plain_reruns["out"])).cell(MANAGEMENT_ACCOUNT_ID, "root-mfa-missing")
    assert cell.status == "could-not-evaluate" and cell.reason.startswith("no verdict recorded"), cell


def test_value_filter_policy_named_for_the_mfa_control_is_never_compliant(org, tmp_path):
    out = tmp_path / "out"
    value_only = {"name": "root-mfa-missing", "resource": "aws.account",
                  "filters": [{"type": "value", "key": "account_id", "value": "000000000000"}]}
    run = custodian(org, out, write_policies(tmp_path / "p.yml", [value_only]))
    assert run.returncode == 0, run.stderr[-2000:]
    cell = collect(str(out)).cell(MANAGEMENT_ACCOUNT_ID, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert "policy root-mfa-missing does not run root-mfa" in cell.reason


def test_renamed_pack_policy_is_reported_under_its_control(org, tmp_path):
    """c7n-org (every account) with the pack's policy renamed; metadata.control says which control."""
    renamed = dict(POLICIES["root-access-keys-present"], name="prod-root-access-keys")
    out, log = tmp_path / "out", tmp_path / "c7n-org.log"
    run = c7n_org(org, out, write_policies(tmp_path / "p.yml", [renamed]), log)
    assert run.returncode == 0, run.stderr[-2000:]
    matrix = collect(str(out), org["seeded"]["accounts_yml"], str(log))
    key_owner = members(org, "root-access-key")[0]
    cell = matrix.cell(key_owner, "root-access-keys-present")
    assert cell.status == "non-compliant" and cell.policy == "prod-root-access-keys", cell
    assert matrix.cell(members(org, "compliant")[0], "root-access-keys-present").status == "compliant"
    assert not [n for n in matrix.notes if "not a rootguard control" in n]


# ------------------------------------------------------------------ a fix that failed

@pytest.fixture(scope="module")
def failed_fix(org):
    """delete-member-root-credentials where the member denies iam:DeleteAccessKey (plain custodian)."""
    sandbox, work = org["sandbox"], org["work"]
    key_owner = members(org, "root-access-key")[0]
    out = work / "fix-out"
    sandbox.set_denied(key_owner, ["iam:DeleteAccessKey"])
    try:
        fix_file = write_policies(work / "fix.yml", [ORG_REMEDIATION["delete-member-root-credentials"]])
        plain = custodian(org, out, fix_file)
        org_out, log = work / "fix-org-out", work / "fix-org.log"
        accounts = yaml.safe_load(Path(org["seeded"]["accounts_yml"]).read_text())
        management = [a for a in accounts["accounts"] if a["account_id"] == MANAGEMENT_ACCOUNT_ID]
        only_management = work / "management.yml"
        only_management.write_text(yaml.safe_dump({"accounts": management}))
        org_run = subprocess.run(
            [tool("c7n-org"), "run", "-c", str(only_management), "-s", str(org_out), "-u", str(work / "fix.yml"),
             "-r", "us-east-1", "--cache-period", "0"], env=org["env"], capture_output=True, text=True, timeout=300)
        log.write_text(org_run.stderr)
    finally:
        sandbox.set_denied(key_owner, [])
    return {"out": out, "plain": plain, "org_out": org_out, "org_run": org_run, "key_owner": key_owner}


def test_a_failed_deletion_ends_custodian_and_c7n_org_non_zero_after_the_records(failed_fix):
    assert failed_fix["plain"].returncode == 2, failed_fix["plain"].stderr[-2000:]
    assert "FixesFailed" in failed_fix["plain"].stderr
    assert failed_fix["org_run"].returncode == 1, failed_fix["org_run"].stderr[-2000:]
    for out in (failed_fix["out"], failed_fix["org_out"]):
        (action_file,) = list(out.rglob("action-*"))
        records = json.loads(action_file.read_text())
        assert any(r["result"] == "failed" and r["call"].startswith("iam:DeleteAccessKey") for r in records)


@pytest.mark.parametrize("fmt", ["text", "html", "json", "csv"])
def test_report_lists_the_failed_fix_and_exits_8(failed_fix, fmt, tmp_path, capsys):
    target = tmp_path / f"report.{fmt}"
    status = main([str(failed_fix["out"]), "--format", fmt, "--output", str(target), "--fail-on", "failed-fix"])
    assert status == 8
    text = target.read_text()
    assert "iam:DeleteAccessKey" in text and "AccessDenied" in text and failed_fix["key_owner"] in text
    if fmt == "json":
        fixes = json.loads(text)["failed_fixes"]
        assert {f["result"] for f in fixes} >= {"failed"}
        assert all(f["account_id"] == failed_fix["key_owner"] for f in fixes)
    if fmt == "csv":
        assert ",failed," in text and text.rstrip().endswith("fix")
    # by default too (a failed fix is never a passing run)
    assert main([str(failed_fix["out"]), "--format", fmt, "--output", str(target)]) == 8


def test_the_report_of_c7n_org_output_lists_the_failed_fix(failed_fix):
    matrix = collect(str(failed_fix["org_out"]))
    assert [f["account_id"] for f in matrix.fixes if f["result"] == "failed"] == [failed_fix["key_owner"]]


def test_plain_custodian_error_of_an_earlier_run_does_not_stick_and_a_new_one_hides_the_old_verdict(org, tmp_path):
    """custodian-run.log is appended to: an earlier run's error must not fail today's run, and today's
    error must not let yesterday's resources.json through."""
    sandbox, out = org["sandbox"], tmp_path / "out"
    policy_file = write_policies(tmp_path / "p.yml", [POLICIES["root-mfa-missing"]])
    sandbox.set_denied(MANAGEMENT_ACCOUNT_ID, ["iam:ListAccountAliases"])
    try:
        denied = custodian(org, out, policy_file)
    finally:
        sandbox.set_denied(MANAGEMENT_ACCOUNT_ID, [])
    assert denied.returncode == 2
    time.sleep(1.1)
    clean = custodian(org, out, policy_file)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert "Error while executing policy" in (out / "root-mfa-missing" / "custodian-run.log").read_text()
    assert collect(str(out)).cell(MANAGEMENT_ACCOUNT_ID, "root-mfa-missing").status == "compliant"

    time.sleep(1.1)
    sandbox.set_denied(MANAGEMENT_ACCOUNT_ID, ["iam:ListAccountAliases"])
    try:
        denied_again = custodian(org, out, policy_file)
    finally:
        sandbox.set_denied(MANAGEMENT_ACCOUNT_ID, [])
    assert denied_again.returncode == 2
    matrix = collect(str(out))
    cell = matrix.cell(MANAGEMENT_ACCOUNT_ID, "root-mfa-missing")
    assert cell.status == "could-not-evaluate" and "ListAccountAliases" in cell.reason, cell
    assert matrix.stale


# ------------------------------------------------------------------ runs interleaved across accounts

def test_runs_interleaved_across_accounts_each_account_keeps_its_newest_run(org, tmp_path, capsys):
    """Run A: every account. Run B (-a one member): that member only, later. Run C (-a another member,
    whose role is now unassumable). Each account's cells come from its own newest run; run C's log
    speaks only for the account it ran."""
    sandbox, out = org["sandbox"], tmp_path / "out"
    policy_file = write_policies(tmp_path / "p.yml", AUDIT)
    first, second = members(org, "compliant")
    key_owner = members(org, "root-access-key")[0]
    names = org["names"]

    def run(log, *accounts):
        selected = [arg for name in accounts for arg in ("-a", name)]
        result = subprocess.run([tool("c7n-org"), "run", "-c", org["seeded"]["accounts_yml"], "-s", str(out),
                                 "-u", policy_file, "-r", "us-east-1", "--cache-period", "0", *selected],
                                env=org["env"], capture_output=True, text=True, timeout=300)
        log.write_text(result.stderr)
        return result

    assert run(tmp_path / "a.log").returncode == 0
    time.sleep(1.1)
    assert run(tmp_path / "b.log", names[first]).returncode == 0
    time.sleep(1.1)
    sandbox.set_unassumable(second)
    try:
        assert run(tmp_path / "c.log", names[second]).returncode == 1
    finally:
        sandbox.set_unassumable(second, False)

    status, data = report_json([str(out), "--accounts", org["seeded"]["accounts_yml"],
                                "--c7n-org-log", str(tmp_path / "c.log"), "--fail-on", STRICT], capsys)
    times = {name: {c["control"]: c["evaluated_at"] for c in data["cells"] if c["account_name"] == name}
             for name in (names[first], names[key_owner])}
    # run B's account is newer than run A's, and both keep their verdicts
    assert times[names[first]]["root-mfa-missing"] > times[names[key_owner]]["root-mfa-missing"]
    assert cells_of(data, names[first])["root-mfa-missing"]["status"] == "compliant"
    assert cells_of(data, names[key_owner])["root-access-keys-present"]["status"] == "non-compliant"
    assert cells_of(data, names[MANAGEMENT_ACCOUNT_ID])["root-access-keys-present"]["status"] == "compliant"
    # run C's account: its older output is never a verdict
    for control, cell in cells_of(data, names[second]).items():
        if control in ("root-mfa-missing", "root-access-keys-present"):
            assert cell["status"] == "could-not-evaluate" and "AccessDenied on AssumeRole" in cell["reason"]
            assert "output from an earlier run (" in cell["reason"]
    assert status == 6
