"""Reads against the owner (management) account when every member relies on the organization trail.

Seeds the sandbox organization with N generated members (their only trail is the organization trail,
as ``rootguard sandbox --size N`` does), runs plain c7n-org with ``root-usage-alarm-missing`` of
policies/account.yml over every member, and prints the calls the sandbox counted against the
management account, per operation, beside the number of members and of c7n-org worker processes.
Run:

    .venv/bin/python bench/owner_reads.py [MEMBERS]   # default 1000
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, REGION, seed_organization
from rootguard_filters.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[1]
POLICY = "root-usage-alarm-missing"


def main(members=1000):
    work = Path(tempfile.mkdtemp(prefix="owner-reads-"))
    (work / "home").mkdir()
    policies = yaml.safe_load((ROOT / "policies" / "account.yml").read_text())["policies"]
    policy_file = work / "policy.yml"
    policy_file.write_text(yaml.safe_dump({"policies": [p for p in policies if p["name"] == POLICY]}))
    with Sandbox() as sandbox:
        started = time.monotonic()
        seeded = seed_organization(sandbox.endpoint_url, str(work / "seed"), size=members)
        print(f"seeded {members} members in {time.monotonic() - started:.0f}s", flush=True)
        accounts = yaml.safe_load(Path(seeded["accounts_yml"]).read_text())["accounts"]
        # members only: the management account's own run would add its own reads of the chain
        accounts = [a for a in accounts if a["account_id"] != MANAGEMENT_ACCOUNT_ID]
        accounts_yml = work / "members.yml"
        accounts_yml.write_text(yaml.safe_dump({"accounts": accounts}))
        sandbox.reset_calls()
        started = time.monotonic()
        run = subprocess.run([tool("c7n-org"), "run", "-c", str(accounts_yml), "-s", str(work / "out"),
                              "-u", str(policy_file), "-r", REGION, "--cache-period", "0"],
                             env=offline_env(sandbox.endpoint_url, work / "home"), capture_output=True, text=True)
        seconds = time.monotonic() - started
        calls = sandbox.calls()
    owner = Counter({f"{s}.{o}": n for (a, s, o), n in calls.items() if a == MANAGEMENT_ACCOUNT_ID})
    statuses = Counter()
    for path in (work / "out").glob(f"*/{REGION}/{POLICY}/rootguard-verdicts.json"):
        for verdict in json.loads(path.read_text())["verdicts"].values():
            statuses[verdict["root-usage-alarm"]["status"]] += 1
    workers = os.environ.get("C7N_ORG_PARALLEL") or f"default ({os.cpu_count()} CPUs x 4)"
    print(f"c7n-org over {members} members: exit {run.returncode}, {seconds:.0f}s, workers {workers}")
    print(f"verdicts: {dict(statuses)}")
    print(f"calls against the owner account {MANAGEMENT_ACCOUNT_ID}: {sum(owner.values())}")
    for operation, count in sorted(owner.items()):
        print(f"  {operation:45} {count}")
    member_calls = sum(n for (a, _, _), n in calls.items() if a != MANAGEMENT_ACCOUNT_ID)
    print(f"calls against members: {member_calls} ({member_calls / members:.1f} per member)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:])))
