"""Fault matrix: every AWS operation the pack's audit filters call × every fault → verdict class.

The operations are not listed by hand: the pack (every policy in ``policies/``) runs once against a
seeded sandbox with a counting ``before-call`` hook, and the operations c7n itself calls to list the
resources (a filter-less policy of the same resource) are set aside. Then, for each operation and
fault, the policies that called the operation run again with a ``before-call`` hook that answers
that operation with the fault, and each verdict is classed against the fault-free run:

- ``correct``: the fault-free verdict (the fault was retried through, or did not decide it);
- ``could-not-evaluate``: could-not-evaluate and the reason names the operation;
- ``WRONG: ...``: anything else — a different verdict (compliant included), could-not-evaluate
  without naming the call, or a crash.

Two accounts: the management account (every control compliant, every chain present) and a member
whose root user fails every credential control and whose alarm chain ends in a pending subscription,
so a fault that turned a finding into "compliant" shows. ``time.sleep`` is patched: retries are instant.

    python -m tests.faults.matrix        # prints the matrix
"""
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

from botocore.awsrequest import AWSResponse
from botocore.parsers import ResponseParserError

from bench import org_run as bench
from rootguard_filters.plumbing.base import VERDICTS_FILE
from rootguard_filters.verdict import COULD_NOT_EVALUATE

CORRECT, CNE = "correct", "could-not-evaluate"
THROTTLES_BEFORE_SUCCESS = 2      # rootguard's retry makes 5 attempts
FAULTS = ("access-denied", "throttle-clears", "throttle-persists", "server-error", "parser-error",
          "missing-key")
# What each fault must end in (per policy that called the operation): a fault that clears must give
# the fault-free verdict; one that does not must give could-not-evaluate naming the call — unless the
# filter decided without that operation (then the fault-free verdict is also right).
EXPECTED = {
    "throttle-clears": {CORRECT},
    **{fault: {CNE, CORRECT} for fault in FAULTS if fault != "throttle-clears"},
}
WORST_MEMBER = "worst-member"


def error(status, code, message):
    http = AWSResponse("https://fault.invalid/", status, {}, None)
    return http, {"Error": {"Code": code, "Message": message},
                  "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fault"}}


class FaultHook:
    """A ``before-call`` handler answering one operation with a fault (other calls go to the sandbox)."""

    def __init__(self, fault):
        self.fault = fault
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        fault = self.fault
        if fault == "access-denied":
            return error(403, "AccessDenied", "User is not authorized to perform this operation")
        if fault == "throttle-clears":
            if self.calls <= THROTTLES_BEFORE_SUCCESS:
                return error(400, "Throttling", "Rate exceeded")
            return None
        if fault == "throttle-persists":
            return error(400, "ThrottlingException", "Rate exceeded")
        if fault == "server-error":
            return error(500, "InternalError", "We encountered an internal error. Please try again.")
        if fault == "parser-error":
            raise ResponseParserError("Unable to parse response (no element found: line 1, column 120), "
                                      "invalid XML received: b'<GetResult><Summary'")
        if fault == "missing-key":  # HTTP 200, nothing but metadata: every output member missing
            return AWSResponse("https://fault.invalid/", 200, {}, None), {
                "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "fault"}}
        raise ValueError(fault)


def read_verdicts(out_dir, policy_name):
    """{resource id: status and reason} of one policy run (one filter per pack policy)."""
    path = Path(out_dir) / policy_name / VERDICTS_FILE
    if not path.exists():
        return {}
    import json
    verdicts = json.loads(path.read_text())["verdicts"]
    return {rid: next(iter(by_filter.values())) for rid, by_filter in verdicts.items()}


class World:
    """The seeded sandbox, the pack's policies and the fault-free verdicts and operations."""

    def __init__(self, sandbox, workdir):
        from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, MEMBER_ROLE, seed_organization

        self.sandbox, self.workdir = sandbox, Path(workdir)
        sandbox.reset()
        seeded = seed_organization(sandbox.endpoint_url, str(self.workdir / "seed"), members=["broken-alarm-chain"])
        member = next(a for a, i in seeded["accounts"].items() if i["posture"] == "broken-alarm-chain")
        # The seed's break-glass register approves both accounts' root sessions: root-session-unapproved
        # is compliant, so a fault in its reads must show as could-not-evaluate.
        self.approvals = seeded["approvals"]
        # time.sleep is patched (retries are instant): no client can honour LookupEvents' real quota here.
        sandbox.set_lookup_rate(0)
        now = datetime.now(timezone.utc)
        sandbox.update_root_facts(
            member, mfa_devices=["virtual"], password_last_used=now - timedelta(days=2),
            access_keys=[{"active": True, "last_used": now - timedelta(days=1)}],
            signing_certificates=[{"active": True}])
        self.credentials = {MANAGEMENT_ACCOUNT_ID: {}, member: bench.assumed_credentials(member, MEMBER_ROLE)}
        self.labels = {MANAGEMENT_ACCOUNT_ID: "management", member: WORST_MEMBER}
        account_policies, org_policies = bench.by_resource(bench.load_policies(bench.POLICY_DIR))
        # Policies built only from Custodian's own filters (admin-users-without-mfa on aws.iam-user) write
        # no pack verdict to class: a fault there fails the policy run, which the report shows as
        # could-not-evaluate (tests/report).
        account_policies = [p for p in account_policies if p["resource"] in ("aws.account", "account")]
        self.policies = {MANAGEMENT_ACCOUNT_ID: account_policies + org_policies, member: account_policies}
        self.runs = 0
        self.baseline, self.operations = self.fault_free()

    def run(self, account_id, policies, hook=None, operation=None, counter=False):
        """Run policies in a new session; ({policy: {resource: verdict}}, counter or None, crashes).

        Every run starts with an expired credential report, as a fresh account has none: the
        report's generation is then part of each run.
        """
        self.sandbox.set_credential_report(account_id, expired=True)
        session = bench.new_session(**self.credentials[account_id])
        calls = bench.CallCounter(session) if counter else None
        if hook is not None:
            session.events.register(f"before-call.{operation}", hook)
        self.runs += 1
        out = self.workdir / f"run-{self.runs}"
        verdicts, crashes = {}, {}
        bench.new_run()
        approvals = mock.patch.dict("os.environ", {"ROOTGUARD_APPROVALS": self.approvals})
        approvals.start()
        for policy in policies:
            if calls is not None:
                calls.policy = policy["name"]
            try:
                bench.run_policy(policy, session, account_id, out)
            except Exception as exc:  # a crash is a finding of the matrix, not an error of the helper
                crashes[policy["name"]] = f"{type(exc).__name__}: {exc}"
            verdicts[policy["name"]] = read_verdicts(out, policy["name"])
        approvals.stop()
        return verdicts, calls, crashes

    def fault_free(self):
        """Verdicts of the fault-free run and, per operation the filters call, who calls it."""
        baseline, operations = {}, defaultdict(set)
        for account_id, policies in self.policies.items():
            verdicts, calls, crashes = self.run(account_id, policies, counter=True)
            assert not crashes, crashes
            listing = self.listing_operations(account_id, {p["resource"] for p in policies})
            baseline[account_id] = verdicts
            for name, counted in calls.by_policy.items():
                for operation in set(counted) - listing:
                    operations[operation].add((account_id, name))
        return baseline, dict(operations)

    def listing_operations(self, account_id, resources):
        """Operations c7n calls to list these resources (not the filters' own calls)."""
        bare = [{"name": f"listing-{n}", "resource": r} for n, r in enumerate(sorted(resources))]
        _, calls, _ = self.run(account_id, bare, counter=True)
        return set(calls.calls)

    def cell(self, operation, fault):
        """{(account label, policy, resource): class} for one operation and fault."""
        classes = {}
        callers = defaultdict(list)
        for account_id, name in self.operations[operation]:
            callers[account_id].append(name)
        for account_id, names in callers.items():
            policies = [p for p in self.policies[account_id] if p["name"] in names]
            hook = FaultHook(fault)
            verdicts, _, crashes = self.run(account_id, policies, hook, operation)
            if not hook.calls:
                classes[(self.labels[account_id], "*", "*")] = f"WRONG: {operation} not called: fault not exercised"
            for name in names:
                expected = self.baseline[account_id][name]
                if name in crashes:
                    classes[(self.labels[account_id], name, "*")] = f"WRONG: crash {crashes[name]}"
                    continue
                for resource, want in expected.items():
                    got = verdicts[name].get(resource)
                    classes[(self.labels[account_id], name, resource)] = classify(got, want, operation)
        return classes


def classify(got, want, operation):
    """One verdict against the fault-free one (see the module docstring)."""
    if got is None:
        return "WRONG: no verdict"
    if got["status"] == want["status"] and (got["status"] != COULD_NOT_EVALUATE or got["reason"] == want["reason"]):
        return CORRECT
    if got["status"] == COULD_NOT_EVALUATE:
        if operation.split(".", 1)[1] in got["reason"]:
            return CNE
        return f"WRONG: could-not-evaluate without naming {operation}: {got['reason']}"
    return f"WRONG: {got['status']} instead of {want['status']}: {got['reason']}"


def worst(classes):
    """The cell's summary: the first wrong class, else could-not-evaluate if any, else correct."""
    values = list(classes.values())
    wrong = [v for v in values if v.startswith("WRONG")]
    if wrong:
        return wrong[0]
    return CNE if CNE in values else CORRECT


def build(sandbox, workdir):
    """(World, {(operation, fault): {(account, policy, resource): class}}) with instant retries."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(time, "sleep", lambda seconds: None))
        world = World(sandbox, workdir)
        matrix = {(op, fault): world.cell(op, fault) for op in sorted(world.operations) for fault in FAULTS}
    return world, matrix


def render(matrix):
    """The operation × fault table; wrong cells listed below it."""
    operations = sorted({op for op, _ in matrix})
    short = {CORRECT: "correct", CNE: "CNE"}
    lines = [f"{'operation':42}" + "".join(f"{f:>19}" for f in FAULTS)]
    problems = []
    for op in operations:
        row = []
        for fault in FAULTS:
            summary = worst(matrix[(op, fault)])
            ok = summary in EXPECTED[fault]
            row.append(short.get(summary, "WRONG") + ("" if ok else " (!)"))
            problems += [f"  {op} × {fault}: {k}: {v}" for k, v in matrix[(op, fault)].items()
                         if v not in EXPECTED[fault]]
        lines.append(f"{op:42}" + "".join(f"{c:>19}" for c in row))
    lines.append("correct = the fault-free verdict; CNE = could-not-evaluate naming the call; (!) = not allowed")
    if problems:
        lines += ["cells not allowed:", *problems]
    return "\n".join(lines)


def main():
    from rootguard_filters.sandbox.server import Sandbox

    with Sandbox() as sandbox, bench.environment(bench.sandbox_env(sandbox.endpoint_url)):
        world, matrix = build(sandbox, tempfile.mkdtemp(prefix="rootguard-faults-"))
    print(render(matrix))
    print(f"{len(world.operations)} operations × {len(FAULTS)} faults; {world.runs} pack runs")


if __name__ == "__main__":
    main()
