"""Every operation the pack's filters call × every fault ends in the fault-free verdict or in
could-not-evaluate naming the call — never in a different verdict, never in a crash.

The matrix is built once (``tests/faults/matrix.py``; print it with ``python -m tests.faults.matrix``).
Cells that deviate today in code owned elsewhere are listed in KNOWN_DEVIATIONS with the reason; the
test fails both when a new cell deviates and when a listed one is fixed (so the list stays true).
"""
import pytest

from bench import org_run as bench
from tests.faults.matrix import CNE, CORRECT, EXPECTED, FAULTS, build, render

# (operation, fault) -> why the cell deviates and where. None of them turns a finding into "compliant".
KNOWN_DEVIATIONS = {}


@pytest.fixture(scope="module")
def fault_matrix(tmp_path_factory):
    from rootguard_filters.sandbox.server import Sandbox

    with Sandbox() as sandbox, bench.environment(bench.sandbox_env(sandbox.endpoint_url)):
        world, matrix = build(sandbox, tmp_path_factory.mktemp("faults"))
    print(render(matrix))
    return world, matrix


def disallowed(matrix, operation, fault):
    return {where: cls for where, cls in matrix[(operation, fault)].items() if cls not in EXPECTED[fault]}


def test_operations_are_derived_from_the_pack_run_and_cover_every_family(fault_matrix):
    world, _ = fault_matrix
    services = {op.split(".")[0] for op in world.operations}
    assert {"iam", "cloudtrail", "cloudwatch-logs", "cloudwatch", "sns", "account"} <= services
    assert {"iam.GetAccountSummary", "iam.GetCredentialReport", "iam.ListVirtualMFADevices"} <= set(world.operations)
    # c7n's own resource listing is not a filter's call
    assert "iam.ListAccountAliases" not in world.operations


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_ends_in_the_right_verdict_class_for_every_operation(fault_matrix, fault):
    _, matrix = fault_matrix
    unexpected, fixed = {}, []
    for operation in sorted({op for op, _ in matrix}):
        bad = disallowed(matrix, operation, fault)
        if (operation, fault) in KNOWN_DEVIATIONS:
            if not bad:
                fixed.append(operation)
        elif bad:
            unexpected[operation] = bad
    assert not unexpected, f"new deviations under {fault}: {unexpected}"
    assert not fixed, f"fixed under {fault}, drop from KNOWN_DEVIATIONS: {fixed}"


def test_no_fault_ever_turns_a_finding_into_compliant_or_crashes(fault_matrix):
    _, matrix = fault_matrix
    wrong = {(op, fault, where): cls for (op, fault), cells in matrix.items() for where, cls in cells.items()
             if "compliant instead of non-compliant" in cls or "crash" in cls or "not called" in cls}
    assert not wrong


def test_faults_that_persist_name_the_failed_call(fault_matrix):
    _, matrix = fault_matrix
    for operation in {op for op, _ in matrix}:
        for fault in ("access-denied", "throttle-persists", "server-error", "parser-error"):
            classes = set(matrix[(operation, fault)].values())
            # at least one policy needed the call for its verdict, and said which call failed
            assert CNE in classes, (operation, fault, classes)
            assert classes <= {CNE, CORRECT}, (operation, fault, classes)
