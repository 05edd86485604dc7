"""Where one account's c7n-org run spends its time: the pack's account policies vs the baseline's.

``python -m bench.profile_account [--accounts N]``. Seeds a sandbox organization, warms a
worker up on one member account, then runs c7n-org's own ``run_account`` (what each c7n-org worker
calls per account) for N more members under cProfile, once with ``policies/`` and once with
``bench/baseline.yml``. The profiler's clock is this thread's CPU time, so the sandbox (served from
another thread) and other load on the machine are left out: the figures are the client side's own
work, per account. Categories overlap (a client is created inside the resource query, say): each
names the functions it sums.
"""
import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (label, what it includes, functions whose cumulative time it is: (file suffix, function name))
CATEGORIES = (
    ("run_account total", "c7n-org's per-account function", (("c7n_org/cli.py", "run_account"),)),
    ("session + AssumeRole", "c7n SessionFactory calls (STS client, AssumeRole)",
     (("c7n/credentials.py", "__call__"),)),
    ("client creation", "every boto3 client made (model loading included)",
     (("botocore/session.py", "create_client"),)),
    ("  model JSON parsing", "json decoding under botocore's loader",
     (("botocore/loaders.py", "load_file"),)),
    ("API calls", "botocore _make_api_call (request, signing, parsing)",
     (("botocore/client.py", "_make_api_call"),)),
    ("c7n resource query", "aws.account resources(): a client + ListAccountAliases per policy",
     (("c7n/query.py", "resources"),)),
    ("filters", "manager.filter_resources", (("c7n/manager.py", "filter_resources"),)),
    ("  the pack's filters", "rootguard_filters/plumbing/base.py process()", (("rootguard_filters/plumbing/base.py", "process"),)),
    ("policy context", "c7n ExecutionContext enter/exit: output dirs, logs, metadata.json",
     (("c7n/ctx.py", "__enter__"), ("c7n/ctx.py", "__exit__"))),
)


def category_seconds(stats, functions):
    total = 0.0
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        if any(filename.endswith(suffix) and name == fname for suffix, fname in functions):
            total += cumulative
    return total


def profile_pack(source, members, out_dir, accounts):
    from c7n_org.cli import run_account

    from rootguard_filters.cli.demo import by_resource, load_policies

    policies, _ = by_resource(load_policies(source))
    config = {"policies": policies}

    def run(account):
        run_account(account, "us-east-1", config, str(out_dir), 0, str(out_dir), False, False, False)

    run(members[0])  # warm-up: imports and first-time model loading, as a worker's first account
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for account in members[1:accounts + 1]:
        run(account)
    profiler.disable()
    stats = pstats.Stats(profiler)
    return len(policies), {label: category_seconds(stats, functions) / accounts
                           for label, _, functions in CATEGORIES}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile_account", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=6, help="member accounts profiled per pack (default 6)")
    args = parser.parse_args(argv)

    import yaml

    import rootguard_filters
    from rootguard_filters.cli.demo import offline_env
    from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization
    from rootguard_filters.sandbox.server import Sandbox

    work = Path(tempfile.mkdtemp(prefix="rootguard-profile-"))
    (work / "home").mkdir()
    with Sandbox() as sandbox:
        os.environ.clear()
        os.environ.update(offline_env(sandbox.endpoint_url, work / "home"))
        seeded = seed_organization(sandbox.endpoint_url, str(work / "seed"), size=args.accounts + 1)
        accounts = yaml.safe_load(Path(seeded["accounts_yml"]).read_text())["accounts"]
        members = [a for a in accounts if str(a["account_id"]) != MANAGEMENT_ACCOUNT_ID]
        rootguard_filters.register()
        results = {}
        for label, source in (("rootguard", REPO / "policies" / "account.yml"), ("baseline", REPO / "bench" / "baseline.yml")):
            results[label] = profile_pack(source, members, work / f"out-{label}", args.accounts)
    print(f"CPU seconds per account of this thread (mean of {args.accounts} member accounts, after a "
          f"warm-up account), c7n-org's run_account:")
    labels = list(results)
    print(f"  {'':24}" + "".join(f"{f'{label} ({results[label][0]} pol.)':>22}" for label in labels)
          + "   includes")
    for name, includes, _ in CATEGORIES:
        print(f"  {name:24}" + "".join(f"{results[label][1][name]:>22.3f}" for label in labels)
              + f"   {includes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
