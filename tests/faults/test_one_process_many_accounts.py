"""One process, several accounts (as a c7n-org worker or a warm Lambda runs them): each account's
evidence is its own, read through c7n's session for that account (one AssumeRole each, none by the
pack), and released when c7n drops that session, so memory does not grow with the accounts done."""
import gc
from collections import Counter

import pytest
import yaml

from bench import org_run as bench
from rootguard_filters.plumbing import evidence
from rootguard_filters.report.collect import collect

C, NC, NA = "compliant", "non-compliant", "not-applicable"
# posture -> account-level control -> status; unlisted controls are compliant
EXPECTED = {
    "compliant": {"root-credentials-management-disabled": NA},
    "root-access-key": {"root-access-keys-present": NC, "root-recently-used": NC,
                        "root-credentials-management-disabled": NA},
    "virtual-mfa-only": {"root-mfa-not-hardware": NC, "root-credentials-management-disabled": NA},
    # its own chain is broken; the organization trail's chain (management account) covers it
    "broken-alarm-chain": {"root-credentials-management-disabled": NA},
    "management": {},
}
# opposite postures back to back, the management account (chain complete) in the middle
ORDER = ("root-access-key", "compliant", "management", "virtual-mfa-only", "broken-alarm-chain", "compliant-2")


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    from c7n_org.cli import run_account

    from rootguard_filters.sandbox.seed import seed_organization
    from rootguard_filters.sandbox.server import Sandbox

    import rootguard_filters
    rootguard_filters.register()
    work = tmp_path_factory.mktemp("one-process")
    (work / "home").mkdir()
    with Sandbox() as sandbox:
        sandbox.reset()
        seeded = seed_organization(sandbox.endpoint_url, str(work),
                                   members=["compliant", "root-access-key", "virtual-mfa-only",
                                            "broken-alarm-chain", "compliant"])
        accounts = {a["name"]: a for a in yaml.safe_load(open(seeded["accounts_yml"]))["accounts"]}
        by_posture = {}
        for account_id, info in seeded["accounts"].items():
            key = info["posture"] if info["posture"] not in by_posture else f"{info['posture']}-2"
            by_posture[key] = accounts[info["name"]]
        policies, _ = bench.by_resource(bench.load_policies(*bench.DAILY_POLICIES))
        env = {**bench.sandbox_env(sandbox.endpoint_url), "HOME": str(work / "home")}
        out = work / "out"
        held_after, calls = [], {}
        with bench.environment(env):
            evidence.reset()
            for posture in ORDER:
                sandbox.reset_calls()
                run_account(by_posture[posture], bench.REGION, {"policies": policies}, str(out), 0,
                            str(work), False, False, False)
                calls[posture] = sandbox.calls()
                gc.collect()
                held_after.append(evidence.RUN_CACHE.accounts())
    return {"out": out, "accounts_yml": seeded["accounts_yml"], "by_posture": by_posture,
            "held_after": held_after, "calls": calls, "policies": [p["name"] for p in policies]}


def test_each_account_gets_its_own_verdicts(worker):
    matrix = collect(str(worker["out"]), worker["accounts_yml"])
    for posture in ORDER:
        account = worker["by_posture"][posture]
        expected = EXPECTED[posture.removesuffix("-2")]
        got = {p: matrix.cell(str(account["account_id"]), p).status for p in worker["policies"]}
        assert got == {p: expected.get(p, C) for p in worker["policies"]}, posture


def test_an_accounts_evidence_is_released_when_c7n_drops_its_session(worker):
    # only the organization trail's chain, read once in the management account through the owner role,
    # is kept for the members that rely on it (once per process, by design)
    management = str(worker["by_posture"]["management"]["account_id"])
    assert all(held <= {management} for held in worker["held_after"]), worker["held_after"]


def test_one_assume_role_per_account_and_the_pack_adds_none(worker):
    # c7n-org's one per account; the pack adds the management account's role, to read the organization
    # trail's chain the members rely on: once, and once more after the management account's own run
    # (releasing that account's evidence releases the owner reads too)
    counts = {posture: sum(n for (_, service, op), n in calls.items() if (service, op) == ("sts", "AssumeRole"))
              for posture, calls in worker["calls"].items()}
    assert all(n in (1, 2) for n in counts.values()) and sum(counts.values()) - len(ORDER) <= 2, counts


def test_calls_of_a_member_account_are_exactly_the_ones_its_verdicts_need(worker):
    account_id = str(worker["by_posture"]["compliant-2"]["account_id"])
    calls = Counter({f"{s}.{o}": n for (a, s, o), n in worker["calls"]["compliant-2"].items() if a == account_id})
    assert calls == Counter({
        "iam.ListAccountAliases": 8,          # c7n's aws.account query, once per policy
        "iam.GetAccountSummary": 1,
        "iam.ListVirtualMFADevices": 1,       # root has MFA: virtual or hardware?
        "iam.GetCredentialReport": 2,         # ReportNotPresent, then the report
        "iam.GenerateCredentialReport": 1,
        "cloudtrail.DescribeTrails": 1,       # its only trail is the organization trail: the chain's
                                              # other links are read (once) in the management account
        "iam.ListOrganizationsFeatures": 1,   # a member: not-applicable
        "account.GetAlternateContact": 2,     # SECURITY, OPERATIONS
    })
