"""The break-glass review (``root-session-unapproved``, 90 days of event history) over a seeded sandbox
organization with plain ``c7n-org run``: wall time, LookupEvents calls (per member and in total) and
ThrottlingException answers, counted by the sandbox. Run from the checkout:

    .venv/bin/python -m bench.break_glass_org --sizes 10,1000 [--assume-root-calls auto|always] [--workdir DIR]

Each size seeds an organization of that many members (the seed's root sessions and approvals register,
passed as ROOTGUARD_APPROVALS), runs the policy once over every account and prints one JSON line per
size. A quiet member is a member with no root activity in the seed; its calls are the ones the review
costs most accounts.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from bench.org_run import REGION, c7n_org, parse_sizes, progress, sandbox_env, summarize


def policy(mode):
    return {"policies": [{"name": "root-session-unapproved", "resource": "aws.account",
                          "filters": [{"type": "root-sessions", "days": 90, "assume-root-calls": mode}]}]}


def organization(sandbox, size, workdir, env, mode):
    from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization

    sandbox.reset()
    seeded = seed_organization(sandbox.endpoint_url, str(workdir / f"seed-{size}"), size=size)
    policy_file = workdir / f"break-glass-{mode}.yml"
    policy_file.write_text(yaml.safe_dump(policy(mode)))
    out = workdir / f"out-{size}-{mode}"
    env = {**env, "ROOTGUARD_APPROVALS": seeded["approvals"]}
    sandbox.reset_calls()
    progress(f"  {size} members: c7n-org run of root-session-unapproved ({mode}) ...")
    code, seconds, memory = c7n_org(["run", "-c", seeded["accounts_yml"], "-s", out, "-u", policy_file,
                                     "-r", REGION, "--cache-period", "0"], env, workdir / f"c7n-org-{size}.log",
                                    len(seeded["accounts"]), f"break-glass-{size}")
    calls, throttles = sandbox.calls(), sandbox.throttles()
    lookups = Counter({a: n for (a, s, o), n in calls.items() if (s, o) == ("cloudtrail", "LookupEvents")})
    filter_calls = Counter()
    for (account, service, operation), n in calls.items():
        if (service, operation) in (("cloudtrail", "LookupEvents"), ("ec2", "DescribeRegions"),
                                    ("iam", "ListOrganizationsFeatures")):
            filter_calls[account] += n
    active = {a for a, i in seeded["accounts"].items() if i["posture"] != "management"} & \
        set(_accounts_with_history(seeded))
    quiet = sorted(a for a, i in seeded["accounts"].items()
                   if i["posture"] != "management" and a not in active and i.get("assumable", True))
    per_quiet = Counter(filter_calls[a] for a in quiet)
    summary = summarize(out, seeded["accounts_yml"])
    return {"members": size, "accounts": len(seeded["accounts"]), "assume_root_calls": mode,
            "exit_code": code, "wall_seconds": round(seconds, 1),
            "c7n_org_cpu_seconds": memory["c7n_org_cpu_seconds"], "sandbox_cpu_seconds": memory["sandbox_cpu_seconds"],
            "lookup_events_calls": sum(lookups.values()),
            "lookup_events_management": lookups[MANAGEMENT_ACCOUNT_ID],
            "filter_calls_per_quiet_member": dict(sorted(per_quiet.items())),
            "throttled_lookups": sum(throttles.values()),
            "accounts_throttled": len({a for a, _ in throttles}),
            "total_calls": sum(calls.values()),
            "evaluated": summary["evaluated"], "not_evaluated": len(summary["not_evaluated"]),
            "not_evaluated_sample": dict(list(sorted(summary["not_evaluated"].items()))[:3])}


def _accounts_with_history(seeded):
    from rootguard_filters.sandbox.history import seeded_history
    # the same accounts the seed gave root activity to (the records' times do not matter here)
    from datetime import datetime, timezone
    by_posture = {i["posture"]: a for a, i in seeded["accounts"].items()}
    history, _ = seeded_history(by_posture, seeded["management_account_id"], datetime.now(timezone.utc))
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.break_glass_org", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=[10])
    parser.add_argument("--assume-root-calls", choices=["auto", "always"], default="auto")
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)

    from rootguard_filters.sandbox.server import Sandbox

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="rootguard-break-glass-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "home").mkdir(exist_ok=True)
    started = time.monotonic()
    with Sandbox() as sandbox:
        env = {**sandbox_env(sandbox.endpoint_url), "HOME": str(workdir / "home")}
        for size in args.sizes:
            row = organization(sandbox, size, workdir, env, args.assume_root_calls)
            print(json.dumps(row, sort_keys=True), flush=True)
    progress(f"work files in {workdir}; {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
