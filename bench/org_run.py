"""``make bench``: API calls and wall time of the pack against Cloud Custodian built-ins, on the sandbox.

1. One account, in-process: the daily policies (``policies/account.yml``, ``organization.yml``) and every policy in ``bench/baseline.yml``
   (the same checks with built-in filters) run side by side against the same seeded sandbox; calls are
   counted per operation with a botocore ``before-call.*.*`` hook and set against the minimum each
   control needs (:data:`MINIMUM`).
2. Organizations of N accounts (``--sizes``), with plain ``c7n-org run`` subprocesses: wall time and
   total calls of the pack and of the baseline, counted by the sandbox's own counter (``sb.calls()``
   sees every worker process).

Prints progress while it runs, then a table; writes the results to ``results.json`` in the work
directory (outside the tracked tree), and to ``bench/results.json`` only with ``--update-results``.
The resident memory of every c7n-org process is sampled from ``/proc`` while it runs (peak per
worker: it must not grow with the number of accounts a worker has processed). Needs the sandbox
extra (moto) and, for c7n-org workers, ``rootguard.pth`` in site-packages (``make venv``).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from rootguard_filters.cli.demo import (  # the demo's way of running the pack is the bench's too
    ORG_RESOURCES, by_resource, load_policies, offline_env as sandbox_env, tool, write_policy_files)

REPO = Path(__file__).resolve().parents[1]
POLICY_DIR = REPO / "policies"
# The daily audit the built-ins are compared with: the break-glass review (policies/break-glass.yml,
# 90 days of event history per region) is a monthly run with no built-in counterpart.
DAILY_POLICIES = (POLICY_DIR / "account.yml", POLICY_DIR / "organization.yml")
BASELINE = REPO / "bench" / "baseline.yml"
RESULTS = REPO / "bench" / "results.json"
REGION = "us-east-1"

# The fewest calls each control needs in one account of the seeded posture (one trail, one alarm,
# one topic), assuming every call is shared through the run cache. Controls of the same family share
# their calls, so the pack's minimum is the union, not the sum. A policy missing here is reported as
# "minimum not written down" rather than silently compared with nothing.
FAMILY_MINIMUM = {
    # summary says whether MFA/keys/certificates exist (plus GenerateCredentialReport when the report
    # is absent or too old, as in a fresh account); the virtual devices tell virtual from
    # hardware; the credential report's root row gives active slots and last use.
    "root-credentials": ("iam.GetAccountSummary", "iam.ListVirtualMFADevices", "iam.GetCredentialReport"),
    # trail, its status, its selectors, metric filters of its log group, alarms on the metric,
    # the topic's subscriptions.
    "alarm-chain": ("cloudtrail.DescribeTrails", "cloudtrail.GetTrailStatus", "cloudtrail.GetEventSelectors",
                    "cloudwatch-logs.DescribeMetricFilters", "cloudwatch.DescribeAlarmsForMetric",
                    "sns.ListSubscriptionsByTopic"),
    "contacts": ("account.GetAlternateContact", "account.GetAlternateContact"),  # SECURITY, OPERATIONS
    "centralized-root": ("iam.ListOrganizationsFeatures",),
    # organization walk for a deny-root SCP: root, SCPs and their content and targets, OU tree;
    # per SCP and per parent counts are added by minimum_calls().
    "org-scp": ("organizations.ListRoots", "organizations.ListPolicies"),
}
ACCOUNT_FAMILIES = {"root-credentials", "alarm-chain", "contacts", "centralized-root"}
MINIMUM = {
    "root-mfa-missing": "root-credentials",
    "root-mfa-not-hardware": "root-credentials",
    "root-access-keys-present": "root-credentials",
    "root-signing-certificates-present": "root-credentials",
    "root-recently-used": "root-credentials",
    "root-usage-alarm-missing": "alarm-chain",
    "alternate-contacts-missing": "contacts",
    "root-credentials-management-disabled": "centralized-root",
    "root-scp-missing": "org-scp",
}


def register_pack():
    import rootguard_filters
    rootguard_filters.register()


def minimum_calls(policy_names, org_shape=None):
    """Counter of the minimum calls for these policies together (families counted once)."""
    families = {MINIMUM[name] for name in policy_names if name in MINIMUM}
    needed = Counter()
    # c7n's own resource listing, once per run (c7n itself repeats it for every policy)
    if families & ACCOUNT_FAMILIES:
        needed["iam.ListAccountAliases"] += 1
    if "org-scp" in families:
        needed["organizations.ListAccounts"] += 1
    for family in families:
        needed.update(FAMILY_MINIMUM[family])
    if "org-scp" in families and org_shape:
        needed["organizations.DescribePolicy"] += org_shape["scps"]
        needed["organizations.ListTargetsForPolicy"] += org_shape["scps"]
        needed["organizations.ListOrganizationalUnitsForParent"] += org_shape["parents"]
        needed["organizations.ListAccountsForParent"] += org_shape["parents"]
    return needed


class CallCounter:
    """Counts a boto3 session's API calls per ``service.Operation`` (and per policy being run)."""

    def __init__(self, session):
        self.calls = Counter()
        self.by_policy = {}
        self.policy = None
        session.events.register("before-call.*.*", self._count)

    def _count(self, event_name, **kwargs):
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}.{operation}"] += 1
        if self.policy:
            self.by_policy.setdefault(self.policy, Counter())[f"{service}.{operation}"] += 1

    def reset(self):
        self.calls.clear()
        self.by_policy.clear()


@contextmanager
def environment(env):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


_LOADER = None


def new_session(**credentials):
    """A boto3 session sharing one model loader: botocore parses each service model once per
    loader (~0.5 s per service), not once per session."""
    global _LOADER
    import boto3
    import botocore.loaders
    import botocore.session
    _LOADER = _LOADER or botocore.loaders.create_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, region_name=REGION, **credentials)


def assumed_credentials(account_id, role):
    creds = new_session().client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="rootguard-bench")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def account_session(account_id=None, role=None):
    """A boto3 session for the management account, or for ``account_id`` through ``role``."""
    if account_id is None:
        return new_session()
    return new_session(**assumed_credentials(account_id, role))


def new_run():
    """What a new ``custodian run`` process starts with: no evidence, no cached sessions."""
    from c7n.utils import reset_session_cache

    from rootguard_filters.plumbing import evidence

    register_pack()
    evidence.reset()
    reset_session_cache()


def run_policy(data, session, account_id, out_dir):
    """Run one policy in-process within the current run; its flagged resources."""
    from c7n.config import Config
    from c7n.policy import Policy

    config = Config.empty(account_id=account_id, region=REGION, output_dir=str(out_dir), cache_period=0)
    policy = Policy(data, config, session_factory=lambda *a, **k: session)
    # as `custodian run` and c7n-org do: string values are format strings ({{ }} for a literal brace)
    policy.expand_variables(policy.get_variables())
    policy.validate()
    return policy.run()


def run_policies(policies, session, account_id, out_dir, counter=None):
    """Run policies in-process as one custodian run would; {policy name: flagged resources}."""
    new_run()
    flagged = {}
    for data in policies:
        if counter is not None:
            counter.policy = data["name"]
        flagged[data["name"]] = run_policy(data, session, account_id, out_dir)
    if counter is not None:
        counter.policy = None
    return flagged


def org_shape(session):
    """Number of SCPs and of parents (root + OUs) of the sandbox organization."""
    org = session.client("organizations")
    scps = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    parents, queue = 0, [org.list_roots()["Roots"][0]["Id"]]
    while queue:
        parent = queue.pop()
        parents += 1
        queue.extend(ou["Id"] for page in org.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent) for ou in page["OrganizationalUnits"])
    return {"scps": len(scps), "parents": parents}

# ---- 1. one account --------------------------------------------------------------------------------


def single_account(sandbox, workdir):
    """Pack and baseline on the seeded management account (every chain present), side by side."""
    from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization

    seed_organization(sandbox.endpoint_url, str(workdir / "seed-one"))
    session = account_session()
    shape = org_shape(session)
    counter = CallCounter(session)
    result = {"account_id": MANAGEMENT_ACCOUNT_ID, "org_shape": shape, "packs": {}}
    for label, sources in (("rootguard", DAILY_POLICIES), ("baseline", (BASELINE,))):
        account_policies, org_policies = by_resource(load_policies(*sources))
        pack = {}
        for scope, policies in (("account", account_policies), ("organization", org_policies)):
            counter.reset()
            started = time.monotonic()
            run_policies(policies, session, MANAGEMENT_ACCOUNT_ID, workdir / f"one-{label}-{scope}", counter)
            pack[scope] = {
                "policies": [p["name"] for p in policies],
                "seconds": round(time.monotonic() - started, 2),
                "calls": dict(sorted(counter.calls.items())),
                "total": sum(counter.calls.values()),
                "by_policy": {name: sum(c.values()) for name, c in counter.by_policy.items()},
                "minimum": dict(sorted(minimum_calls([p["name"] for p in policies], shape).items())),
            }
            pack[scope]["minimum_total"] = sum(pack[scope]["minimum"].values())
            pack[scope]["without_minimum"] = [p["name"] for p in policies if p["name"] not in MINIMUM]
        result["packs"][label] = pack
    return result

# ---- 2. c7n-org over N accounts -----------------------------------------------------------------


def progress(message):
    print(message, flush=True)


def descendants(pid):
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    children = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), ()):
            found.append(child)
            queue.append(child)
    return found


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class MemoryWatch:
    """Samples the resident memory of a c7n-org process and its workers while it runs."""

    def __init__(self, pid, out_dir, total_accounts, label, interval=1.0, report_every=30.0):
        self.pid, self.out_dir, self.total, self.label = pid, Path(out_dir), total_accounts, label
        self.interval, self.report_every = interval, report_every
        self.peaks = {}             # pid -> peak KiB
        self.first_half_peak = 0    # highest worker RSS while fewer than half the accounts were done
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def accounts_done(self):
        # c7n-org makes OUT/<account name>/ when it starts an account's first policy
        try:
            return sum(1 for e in os.scandir(self.out_dir) if e.is_dir())
        except OSError:
            return 0

    def _run(self):
        started = last_report = time.monotonic()
        while not self._stop.wait(self.interval):
            workers = descendants(self.pid)
            for pid in [self.pid, *workers]:
                kib = rss_kib(pid)
                if kib:
                    self.peaks[pid] = max(kib, self.peaks.get(pid, 0))
            done = self.accounts_done()
            if done * 2 < self.total:
                self.first_half_peak = max([self.first_half_peak] +
                                           [self.peaks.get(w, 0) for w in workers])
            if time.monotonic() - last_report >= self.report_every:
                last_report = time.monotonic()
                progress(f"    {self.label}: {done}/{self.total} accounts started, "
                         f"{time.monotonic() - started:.0f}s, peak worker RSS "
                         f"{self.worker_peak() / 1024:.0f} MiB")

    def worker_peak(self):
        return max((kib for pid, kib in self.peaks.items() if pid != self.pid), default=0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        return {"worker_peak_mib": round(self.worker_peak() / 1024, 1),
                "worker_peak_first_half_mib": round(self.first_half_peak / 1024, 1),
                "main_peak_mib": round(self.peaks.get(self.pid, 0) / 1024, 1),
                "workers_seen": len(self.peaks) - (1 if self.pid in self.peaks else 0)}


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def c7n_org(args, env, log, accounts=0, label="c7n-org"):
    """Run c7n-org; (exit code, seconds, memory and CPU summary). CPU time is less sensitive than wall
    time to other load on a shared machine: c7n-org's (with its workers, all waited for) and the
    sandbox's (this process: moto serves every call)."""
    started = time.monotonic()
    children, own = cpu_seconds(resource.RUSAGE_CHILDREN), cpu_seconds(resource.RUSAGE_SELF)
    out_dir = args[args.index("-s") + 1]
    with open(log, "a") as out:
        out.write("$ c7n-org " + " ".join(map(str, args)) + "\n")
        out.flush()
        process = subprocess.Popen([tool("c7n-org"), *map(str, args)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        with MemoryWatch(process.pid, out_dir, accounts, label) as watch:
            code = process.wait()
    summary = watch.summary()
    summary["c7n_org_cpu_seconds"] = round(cpu_seconds(resource.RUSAGE_CHILDREN) - children, 1)
    summary["sandbox_cpu_seconds"] = round(cpu_seconds(resource.RUSAGE_SELF) - own, 1)
    return code, time.monotonic() - started, summary


WORKER_PROBE = """
import json, sys
from c7n.config import Config
from c7n.policy import Policy
from c7n.resources import load_resources
load_resources(("aws.account", "aws.org-account"))
ok = []
for data in json.load(sys.stdin):
    try:
        Policy(data, Config.empty(account_id="123456789012", region="us-east-1")).validate()
        ok.append(data["name"])
    except Exception as error:
        print(f"{data['name']}: {error}", file=sys.stderr)
print(json.dumps(ok))
"""


def loadable_by_workers(policies, env):
    """(policies a plain c7n-org worker can load, {name: why not}): a worker registers the pack only
    through rootguard.pth, so a filter whose module _plugins does not import yet fails there."""
    probe = subprocess.run([sys.executable, "-c", WORKER_PROBE], input=json.dumps(policies), env=env,
                           capture_output=True, text=True, check=True)
    ok = set(json.loads(probe.stdout))
    why = dict(line.split(": ", 1) for line in probe.stderr.splitlines() if ": " in line)
    return [p for p in policies if p["name"] in ok], {p["name"]: why.get(p["name"], "?")
                                                       for p in policies if p["name"] not in ok}


def org_run(sandbox, files, accounts_yml, management_name, out, env, log, label="", accounts=0):
    """c7n-org runs of one pack (account policies everywhere, organization ones in the management
    account); wall time, calls, exit codes and worker memory."""
    sandbox.reset_calls()
    seconds, codes, memory = 0.0, {}, {}
    if "account" in files:
        progress(f"  {label}: c7n-org run, account policies over {accounts} accounts ...")
        codes["account"], spent, memory["account"] = c7n_org(
            ["run", "-c", accounts_yml, "-s", out, "-u", files["account"], "-r", REGION,
             "--cache-period", "0"], env, log, accounts, label)
        seconds += spent
        progress(f"  {label}: account policies took {spent:.1f}s ({memory['account']['c7n_org_cpu_seconds']}s "
                 f"c7n-org CPU, {memory['account']['sandbox_cpu_seconds']}s sandbox CPU), exit {codes['account']}")
    if "organization" in files:
        progress(f"  {label}: c7n-org run, organization policies in the management account ...")
        codes["organization"], spent, memory["organization"] = c7n_org(
            ["run", "-c", accounts_yml, "-s", out, "-u", files["organization"], "-a", management_name,
             "-r", REGION, "--cache-period", "0"], env, log, 1, label)
        seconds += spent
        progress(f"  {label}: organization policies took {spent:.1f}s, exit {codes['organization']}")
    calls = sandbox.calls()
    by_operation = Counter()
    for (_, service, operation), count in calls.items():
        by_operation[f"{service}.{operation}"] += count
    cpu = sum(m["c7n_org_cpu_seconds"] for m in memory.values())
    return {"seconds": round(seconds, 1), "c7n_org_cpu_seconds": round(cpu, 1),
            "total_calls": sum(calls.values()), "exit_codes": codes,
            "calls": dict(sorted(by_operation.items())), "accounts_called": len({a for a, _, _ in calls}),
            "processes": memory}


def organization(sandbox, size, workdir, env):
    from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization

    sandbox.reset()
    started = time.monotonic()
    seeded = seed_organization(sandbox.endpoint_url, str(workdir / f"seed-{size}"), size=size)
    seed_seconds = time.monotonic() - started
    accounts_yml = seeded["accounts_yml"]
    management = seeded["accounts"][MANAGEMENT_ACCOUNT_ID]["name"]
    log = workdir / f"c7n-org-{size}.log"
    row = {"size": size, "accounts": len(seeded["accounts"]), "seed_seconds": round(seed_seconds, 1), "packs": {}}
    for label, sources in (("rootguard", DAILY_POLICIES), ("baseline", (BASELINE,))):
        policies, excluded = loadable_by_workers(load_policies(*sources), env)
        files = write_policy_files(policies, workdir, prefix=f"{label}-{size}-")
        row["packs"][label] = org_run(sandbox, files, accounts_yml, management,
                                      workdir / f"out-{label}-{size}", env, log, label, len(seeded["accounts"]))
        row["packs"][label].update(policies=[p["name"] for p in policies], excluded=excluded)
    return row

# ---- output ---------------------------------------------------------------------------------------


def print_single(result):
    print(f"\nOne account ({result['account_id']}, in-process, calls per operation; "
          f"org: {result['org_shape']['scps']} SCPs, {result['org_shape']['parents']} parents)")
    for scope in ("account", "organization"):
        packs = {label: pack[scope] for label, pack in result["packs"].items() if scope in pack}
        operations = sorted({op for p in packs.values() for op in (*p["calls"], *p["minimum"])})
        labels = list(packs)
        print(f"\n  {scope}-level policies")
        print(f"  {'operation':48}" + "".join(f"{label:>11}" for label in labels) + f"{'minimum':>11}")
        for op in operations:
            print(f"  {op:48}" + "".join(f"{packs[label]['calls'].get(op, 0):>11}" for label in labels)
                  + f"{packs['rootguard']['minimum'].get(op, 0):>11}")
        print(f"  {'total':48}" + "".join(f"{packs[label]['total']:>11}" for label in labels)
              + f"{packs['rootguard']['minimum_total']:>11}")
        print(f"  {'policies':48}" + "".join(f"{len(packs[label]['policies']):>11}" for label in labels))
        for label in labels:
            if packs[label]["without_minimum"] and label == "rootguard":
                print(f"  minimum not written down for: {', '.join(packs[label]['without_minimum'])}")


def print_orgs(rows, skipped):
    if not rows:
        return
    print("\nc7n-org over sandbox organizations (wall time of `c7n-org run`, account + organization "
          "policies; calls counted by the sandbox)")
    print(f"  {'accounts':>8} {'pack':>10} {'seconds':>8} {'CPU s':>8} {'calls':>8} {'calls/acct':>10} {'exit':>8} "
          f"{'worker MiB':>10} {'1st half':>9}")
    for row in rows:
        for label, pack in row["packs"].items():
            codes = ",".join(str(c) for c in pack["exit_codes"].values())
            memory = pack.get("processes", {}).get("account", {})
            print(f"  {row['accounts']:>8} {label:>10} {pack['seconds']:>8} {pack['c7n_org_cpu_seconds']:>8} "
                  f"{pack['total_calls']:>8} "
                  f"{pack['total_calls'] / row['accounts']:>10.1f} {codes:>8} "
                  f"{memory.get('worker_peak_mib', 0):>10} {memory.get('worker_peak_first_half_mib', 0):>9}")
    for row in rows:
        for label, pack in row["packs"].items():
            for name, why in pack["excluded"].items():
                print(f"  {label} at {row['size']}: {name} left out, plain c7n-org workers cannot load it: {why}")
    for size, why in skipped:
        print(f"  size {size} not measured: {why}")


def summarize(out, accounts_yml):
    """{accounts, evaluated, not_evaluated: {name: reason}} of a c7n-org run, from the checklist report:
    an account is not evaluated when any of its account-level controls is could-not-evaluate or has
    no output at all."""
    from rootguard_filters.report.collect import collect

    matrix = collect(str(out), str(accounts_yml))
    # controls this run covered: account-level, with output for at least one account
    controls = [c for c in matrix.controls if c.resource not in ORG_RESOURCES
                and any(matrix.cell(a, c.id).status != "not-evaluated" for a in matrix.accounts)]
    unknown = {}
    for account in matrix.accounts:
        for control in controls:
            cell = matrix.cell(account, control.id)
            if cell.status in ("could-not-evaluate", "not-evaluated"):
                unknown.setdefault(account.name or account.id, f"{control.id}: {cell.status}: {cell.reason}")
    return {"accounts": len(matrix.accounts), "evaluated": len(matrix.accounts) - len(unknown),
            "controls": [c.id for c in controls], "not_evaluated": unknown}


def print_summary(summary):
    print(f"{summary['evaluated']} of {summary['accounts']} accounts evaluated; "
          f"{len(summary['not_evaluated'])} could not be evaluated")
    for name, why in sorted(summary["not_evaluated"].items()):
        print(f"  {name}: {why}")


def parse_sizes(text):
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.org_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=[10, 100],
                        help="member accounts of the seeded organizations, comma-separated (default 10,100; "
                             "1000 takes tens of minutes on 2 cores, see bench/results.json)")
    parser.add_argument("--budget", type=float, default=600,
                        help="seconds after which no larger organization is started (default 600)")
    parser.add_argument("--output", help="results file (default: results.json in the work directory)")
    parser.add_argument("--update-results", action="store_true",
                        help=f"also write the results to {RESULTS.relative_to(REPO)} (tracked)")
    parser.add_argument("--workdir", help="keep seeds, outputs and c7n-org logs here (default: a temp dir)")
    parser.add_argument("--summarize", metavar="OUT",
                        help="only summarize a c7n-org output directory (with --accounts): exit status is "
                             "the number of accounts that could not be evaluated (at most 100)")
    parser.add_argument("--accounts", metavar="ACCOUNTS_YML", help="c7n-org accounts file, for --summarize")
    args = parser.parse_args(argv)
    if args.summarize:
        if not args.accounts:
            parser.error("--summarize needs --accounts")
        summary = summarize(args.summarize, args.accounts)
        print_summary(summary)
        return min(len(summary["not_evaluated"]), 100)

    from rootguard_filters.sandbox.server import Sandbox

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="rootguard-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "home").mkdir(exist_ok=True)
    started = time.monotonic()
    rows, skipped = [], []
    with Sandbox() as sandbox:
        env = {**sandbox_env(sandbox.endpoint_url), "HOME": str(workdir / "home")}
        progress(f"bench work directory: {workdir}\none account, in-process: pack and baseline ...")
        with environment(env):
            single = single_account(sandbox, workdir)
        print_single(single)
        for size in sorted(args.sizes):
            elapsed = time.monotonic() - started
            if rows and elapsed > args.budget:
                skipped.append((size, f"budget of {args.budget:.0f}s spent ({elapsed:.0f}s)"))
                continue
            progress(f"\nseeding and running {size} accounts ({elapsed:.0f}s so far) ...")
            rows.append(organization(sandbox, size, workdir, env))
    results = {"single_account": single, "organizations": rows,
               "skipped": [{"size": s, "why": w} for s, w in skipped],
               "environment": {"cpus": os.cpu_count(), "c7n_org_parallel": os.environ.get("C7N_ORG_PARALLEL"),
                               "python": sys.version.split()[0]},
               "workdir": str(workdir), "seconds": round(time.monotonic() - started, 1)}
    text = json.dumps(results, indent=1, sort_keys=True) + "\n"
    outputs = [Path(args.output or workdir / "results.json")] + ([RESULTS] if args.update_results else [])
    for output in outputs:      # written before printing: a long run's figures are never lost
        output.write_text(text)
    print_orgs(rows, skipped)
    print(f"\nwrote {', '.join(map(str, outputs))} (work files in {workdir}); bench took {results['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
