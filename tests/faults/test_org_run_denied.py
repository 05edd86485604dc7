"""No account left half-checked: c7n-org runs of the pack where some accounts' roles lack permissions.

c7n-org stops an account's remaining policies at the first AccessDenied that escapes a policy. The
pack's filters never let one escape (it becomes could-not-evaluate naming the call), so an account whose
role lacks one service's permissions still gets every policy's verdict, whatever order the policies run
in. A permission c7n itself needs (iam:ListAccountAliases, its aws.account resource query) is outside the
pack: that account is stopped, and ``rootguard report --c7n-org-log`` says per account which policies have no
output and why, from c7n-org's log.
"""
import json
import subprocess
import sys

import pytest
import yaml

from bench import org_run as bench
from rootguard_filters.report.collect import collect, read_c7n_org_log

MEMBERS = 3
DENIED = {  # member index -> actions its role lacks
    0: ["account:GetAlternateContact"],
    1: ["cloudtrail:*", "iam:ListOrganizationsFeatures"],
    2: ["iam:ListAccountAliases"],             # c7n's own resource query: outside the pack
}
DENIED_CALL = {0: {"alternate-contacts-missing": "GetAlternateContact"},
               1: {"root-usage-alarm-missing": "DescribeTrails",
                   "root-credentials-management-disabled": "ListOrganizationsFeatures",
                   "root-session-unapproved": "LookupEvents"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from rootguard_filters.sandbox.seed import seed_organization
    from rootguard_filters.sandbox.server import Sandbox

    work = tmp_path_factory.mktemp("denied-run")
    (work / "home").mkdir()
    with Sandbox() as sandbox:
        sandbox.reset()
        seeded = seed_organization(sandbox.endpoint_url, str(work), size=MEMBERS)
        members = sorted(a for a, i in seeded["accounts"].items() if i["posture"] != "management")
        for index, actions in DENIED.items():
            sandbox.set_denied(members[index], actions)
        env = {**bench.sandbox_env(sandbox.endpoint_url), "HOME": str(work / "home")}
        account_policies, _ = bench.by_resource(bench.load_policies(bench.POLICY_DIR))
        results = {}
        for order, policies in (("file-order", account_policies), ("reversed", account_policies[::-1])):
            policy_file = work / f"{order}.yml"
            policy_file.write_text(yaml.safe_dump({"policies": policies}))
            out, log = work / f"out-{order}", work / f"{order}.log"
            run = subprocess.run([bench.tool("c7n-org"), "run", "-c", seeded["accounts_yml"], "-s", str(out),
                                  "-u", str(policy_file), "-r", bench.REGION, "--cache-period", "0"],
                                 env=env, capture_output=True, text=True, timeout=300)
            log.write_text(run.stderr)
            results[order] = {"run": run, "out": out, "log": log}
    names = {a: seeded["accounts"][a]["name"] for a in seeded["accounts"]}
    return {"results": results, "accounts_yml": seeded["accounts_yml"], "members": [names[m] for m in members],
            "management": names[next(a for a, i in seeded["accounts"].items() if i["posture"] == "management")],
            "policies": [p["name"] for p in account_policies],
            # c7n-org stops an account at the first aws.account policy whose ListAccountAliases is denied
            "account_resource": [p["name"] for p in account_policies if p["resource"] in ("aws.account", "account")]}


@pytest.mark.slow
@pytest.mark.parametrize("order", ["file-order", "reversed"])
def test_an_account_lacking_one_service_still_gets_every_policys_verdict_in_any_order(runs, order):
    result = runs["results"][order]
    matrix = collect(str(result["out"]), runs["accounts_yml"], str(result["log"]))
    by_name = {a.name: a for a in matrix.accounts}
    checked = [runs["management"]] + [runs["members"][i] for i in (0, 1)]
    for name in checked:
        for policy in runs["policies"]:
            cell = matrix.cell(by_name[name], policy)
            assert cell.status != "not-evaluated", (name, policy, cell)
            assert "policy errored" not in cell.reason, (name, policy, cell)
    for index, calls in DENIED_CALL.items():
        account = by_name[runs["members"][index]]
        for policy in runs["policies"]:
            cell = matrix.cell(account, policy)
            if policy in calls:
                assert cell.status == "could-not-evaluate", (policy, cell)
                assert calls[policy] in cell.reason and "AccessDenied" in cell.reason, cell.reason
            else:   # the other policies of that account are unaffected
                assert cell.status in ("compliant", "non-compliant", "not-applicable"), (policy, cell)
    # nothing escaped from the pack in those accounts: c7n-org logged no failure for them
    failures = read_c7n_org_log(result["log"])
    assert not set(checked) & {account for account, _ in failures}, failures
    stopped = [cause for (account, _), cause in failures.items() if account == runs["members"][2]]
    assert len(stopped) == 1 and "AccessDenied on ListAccountAliases" in stopped[0], failures


@pytest.mark.slow
@pytest.mark.parametrize("order", ["file-order", "reversed"])
def test_report_says_per_account_which_policies_have_no_output_and_why(runs, order):
    result = runs["results"][order]
    stopped = runs["members"][2]
    ordered = runs["account_resource"] if order == "file-order" else runs["account_resource"][::-1]
    first = ordered[0]
    report = subprocess.run([sys.executable, "-m", "rootguard_filters.report.cli", str(result["out"]),
                             "--accounts", runs["accounts_yml"], "--c7n-org-log", str(result["log"]),
                             "--format", "json", "--fail-on", "none"],
                            capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    cells = {c["control"]: c for c in data["cells"] if c["account_name"] == stopped}
    for policy in runs["account_resource"]:
        assert cells[policy]["status"] in ("not-evaluated", "could-not-evaluate"), cells[policy]
        assert f"AccessDenied on ListAccountAliases (c7n-org's log, policy {first}" in cells[policy]["reason"]
    note = next(n for n in data["notes"] if n.startswith(stopped))
    # reversed, the aws.iam-user policy (its query is ListUsers) runs before c7n-org stops the account
    missing = len(runs["policies"]) if order == "file-order" else len(runs["account_resource"])
    assert f"no output for {missing} of {len(runs['policies'])} policies" in note
    # accounts whose every policy has output get no such note
    assert not [n for n in data["notes"] if n.startswith((runs["management"], runs["members"][0]))]


@pytest.mark.slow
def test_without_the_log_the_report_still_names_the_policies_without_output(runs):
    result = runs["results"]["file-order"]
    matrix = collect(str(result["out"]), runs["accounts_yml"])
    stopped = runs["members"][2]
    note = next(n for n in matrix.notes if n.startswith(stopped))
    for policy in runs["policies"]:
        assert policy in note
    assert "no policy completed in this account" in note
