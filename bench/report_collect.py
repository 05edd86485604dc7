"""``python -m bench.report_collect [--accounts N] [--rounds R] [--before REV]``: the report's read time.

Builds a c7n-org output tree (N accounts × the daily aws.account policies, shaped by
tests/report/report_trees.py) and times ``collect()`` of this checkout against ``collect()`` of git
revision REV (default: main), alternating in one process so both see the same machine load.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_revision(rev, workdir):
    """collect.py as it is at ``rev``, imported as a module of its own."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:rootguard_filters/report/collect.py"],
                            capture_output=True, text=True, check=True).stdout
    path = os.path.join(workdir, "collect_before.py")
    Path(path).write_text(source)
    spec = importlib.util.spec_from_file_location("collect_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_tree(out, accounts):
    sys.path.insert(0, str(REPO / "tests" / "report"))
    from report_trees import account_run
    from rootguard_filters.catalog import CONTROLS
    policies = [c.id for c in CONTROLS if c.resource == "aws.account" and c.cadence == "daily"]
    for n in range(accounts):
        for policy in policies:
            account_run(out, f"acct-{n:04d}", f"{100000000000 + n}", policy, "compliant", "fine")
    return len(policies)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1001)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default="main")
    args = parser.parse_args(argv)
    from rootguard_filters.report.collect import collect
    workdir = tempfile.mkdtemp(prefix="bench-report-")
    try:
        before = load_revision(args.before, workdir)
        out = os.path.join(workdir, "out")
        policies = build_tree(out, args.accounts)
        timings = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label, read in (("before", before.collect), ("after", collect)):
                start = time.perf_counter()
                read(out)
                timings[label].append(time.perf_counter() - start)
        print(f"{args.accounts} accounts × {policies} policies ({args.accounts * policies} policy directories)")
        for label, values in timings.items():
            print(f"  {label:<6} ({args.before if label == 'before' else 'this checkout'}): "
                  f"median {sorted(values)[len(values) // 2]:.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
