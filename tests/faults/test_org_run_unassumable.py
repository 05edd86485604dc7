"""An organization run where a tenth of the accounts cannot be assumed: c7n-org finishes every other
account correctly, and the summary says how many could not be evaluated.

c7n-org's own exit status is 1 as soon as any account fails (it stops that account's remaining
policies at the AccessDenied and returns success=False); it does not say how many: the summary does.
"""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import org_run as bench

REPO = Path(__file__).resolve().parents[2]

MEMBERS = 19                     # + the management account: 20
UNASSUMABLE_EVERY = 10           # a tenth


@pytest.fixture(scope="module")
def org_run(tmp_path_factory):
    from rootguard_filters.sandbox.seed import seed_organization
    from rootguard_filters.sandbox.server import Sandbox

    work = tmp_path_factory.mktemp("org-run")
    (work / "home").mkdir()
    with Sandbox() as sandbox:
        sandbox.reset()
        seeded = seed_organization(sandbox.endpoint_url, str(work), size=MEMBERS)
        members = sorted(a for a, i in seeded["accounts"].items() if i["posture"] != "management")
        unassumable = members[::UNASSUMABLE_EVERY]
        for account_id in unassumable:
            sandbox.set_unassumable(account_id)
        env = {**bench.sandbox_env(sandbox.endpoint_url), "HOME": str(work / "home")}
        account_policies, _ = bench.by_resource(bench.load_policies(bench.POLICY_DIR))
        policies, excluded = bench.loadable_by_workers(account_policies, env)
        policy_file = work / "account-policies.yml"
        policy_file.write_text(yaml.safe_dump({"policies": policies}))
        out = work / "out"
        run = subprocess.run([bench.tool("c7n-org"), "run", "-c", seeded["accounts_yml"], "-s", str(out),
                              "-u", str(policy_file), "-r", bench.REGION, "--cache-period", "0"],
                             env=env, capture_output=True, text=True, timeout=120)
    names = {a: seeded["accounts"][a]["name"] for a in seeded["accounts"]}
    return {"run": run, "out": out, "accounts_yml": seeded["accounts_yml"], "seeded": seeded,
            "unassumable": {names[a] for a in unassumable}, "policies": policies, "excluded": excluded}


@pytest.mark.slow
def test_every_assumable_account_is_evaluated_and_only_the_unassumable_ones_are_not(org_run):
    summary = bench.summarize(org_run["out"], org_run["accounts_yml"])
    assert summary["accounts"] == MEMBERS + 1
    assert set(summary["not_evaluated"]) == org_run["unassumable"]
    assert summary["evaluated"] == MEMBERS + 1 - len(org_run["unassumable"])
    assert all("not-evaluated" in why or "could-not-evaluate" in why for why in summary["not_evaluated"].values())


@pytest.mark.slow
def test_every_evaluated_account_has_the_verdicts_of_its_posture(org_run):
    from rootguard_filters.report.collect import collect

    matrix = collect(str(org_run["out"]), org_run["accounts_yml"])
    by_name = {a.name: a for a in matrix.accounts}
    for account_id, info in org_run["seeded"]["accounts"].items():
        if info["name"] in org_run["unassumable"]:
            continue
        account = by_name[info["name"]]
        keys = matrix.cell(account, "root-access-keys-present").status
        virtual = matrix.cell(account, "root-mfa-not-hardware").status
        assert keys == ("non-compliant" if info["posture"] == "root-access-key" else "compliant"), info
        assert virtual == ("non-compliant" if info["posture"] == "virtual-mfa-only" else "compliant"), info


@pytest.mark.slow
def test_c7n_org_exits_1_without_saying_how_many_accounts_failed(org_run):
    run = org_run["run"]
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Access denied" in run.stderr or "AccessDenied" in run.stderr


@pytest.mark.slow
def test_summary_printer_exit_status_is_the_number_of_accounts_not_evaluated(org_run):
    cli = subprocess.run([sys.executable, "-m", "bench.org_run", "--summarize", str(org_run["out"]),
                          "--accounts", org_run["accounts_yml"]], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert cli.returncode == len(org_run["unassumable"])
    assert f"{MEMBERS + 1 - len(org_run['unassumable'])} of {MEMBERS + 1} accounts evaluated" in cli.stdout
    for name in org_run["unassumable"]:
        assert name in cli.stdout
