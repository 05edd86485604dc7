"""Plain `custodian run --dryrun` of the shipped organization remediation on the sandbox organization:
no write reaches AWS, and each action's `action-*` file lists the writes it would make."""
import json
import subprocess
from pathlib import Path

import pytest

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization
from rootguard_filters.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
WRITE_PREFIXES = ("Create", "Attach", "Enable", "Delete", "Deactivate", "Put", "Update", "Tag", "Detach")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("remediation-dryrun")
    with Sandbox() as sandbox:
        try:
            seeded = seed_organization(sandbox.endpoint_url, str(workdir),
                                       members=["outside-scp", "root-access-key"])
            sandbox.reset_calls()
            out = workdir / "out"
            run = subprocess.run(
                [tool("custodian"), "run", "--dryrun", "-s", str(out), "-r", "us-east-1", "--cache-period", "0",
                 str(ROOT / "remediation" / "organization.yml")],
                env=offline_env(sandbox.endpoint_url, workdir), capture_output=True, text=True, timeout=300)
            calls = sandbox.calls()
        finally:
            sandbox.reset()   # moto's state is process-wide: leave no organization for the next sandbox
    return seeded, out, calls, run


def action_records(out, policy):
    (path,) = (out / policy).glob("action-*")
    return json.loads(path.read_text())


def test_dry_run_makes_no_write_call(dry_run):
    _, _, calls, run = dry_run
    assert run.returncode == 0, run.stderr[-3000:]
    writes = [c for c in calls if c[2].startswith(WRITE_PREFIXES)]
    assert writes == []


def test_dry_run_lists_the_scp_attachment_it_would_make(dry_run):
    seeded, out, _, _ = dry_run
    records = action_records(out, "attach-root-scp")
    planned = [r for r in records if r["result"] == "planned"]
    assert planned and {r["call"] for r in planned} <= {
        "organizations:CreatePolicy", "organizations:AttachPolicy", "organizations:EnablePolicyType"}
    assert any(r["call"] == "organizations:AttachPolicy" and r["target"] == seeded["root_id"] for r in planned)
    assert all(r["account"] == MANAGEMENT_ACCOUNT_ID for r in planned)


def test_dry_run_lists_the_root_credentials_it_would_delete(dry_run):
    seeded, out, calls, _ = dry_run
    records = action_records(out, "delete-member-root-credentials")
    planned = [r for r in records if r["result"] == "planned"]
    assert planned and all(r["call"].startswith("iam:") for r in planned)
    key_owner = next(a for a, info in seeded["accounts"].items() if info["posture"] == "root-access-key")
    assert any(r["account"] == key_owner and r["call"].startswith("iam:DeleteAccessKey") for r in planned)
