"""The report reads what a real ``custodian run`` writes (against an in-process moto server).

moto has no root-user facts (no AccountPasswordPresent in GetAccountSummary), so the pack's filters
answer could-not-evaluate: the report must show those cells as unknown, never as compliant.
"""
import os
from pathlib import Path
import subprocess
import sys

import pytest

from rootguard_filters.report import main
from rootguard_filters.report.collect import NOT_EVALUATED, collect

moto_server = pytest.importorskip("moto.server")

POLICIES = str(Path(__file__).resolve().parents[2] / "policies" / "account.yml")
CREDENTIAL_CONTROLS = ("root-mfa-missing", "root-mfa-not-hardware", "root-access-keys-present",
                       "root-signing-certificates-present", "root-recently-used")
# Plain `custodian` sees the pack only from a wheel (.pth); an editable install registers explicitly.
RUN_CUSTODIAN = ("import sys, rootguard_filters; rootguard_filters.register(); "
                 "from c7n.cli import main; sys.argv = ['custodian'] + sys.argv[1:]; sys.exit(main())")


@pytest.fixture(scope="module")
def moto_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()   # port=0: the OS picked a free port
    yield f"http://{host}:{port}"
    server.stop()


def custodian_env(endpoint, home):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
               AWS_DEFAULT_REGION="us-east-1", HOME=str(home))
    for name in ("AWS_PROFILE", "C7N_USE_STS_REGIONAL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)   # real profiles or real STS must never be reached
    return env


@pytest.fixture(scope="module")
def real_output(moto_endpoint, tmp_path_factory):
    base = tmp_path_factory.mktemp("real-run")
    out = base / "out"
    result = subprocess.run(
        [sys.executable, "-c", RUN_CUSTODIAN, "run", "-s", str(out), "--cache-period", "0", POLICIES,
         *[arg for control in CREDENTIAL_CONTROLS for arg in ("-p", control)]],
        env=custodian_env(moto_endpoint, base), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_real_custodian_output_has_the_files_the_report_reads(real_output):
    for policy in CREDENTIAL_CONTROLS:
        names = set(os.listdir(real_output / policy))
        assert {"metadata.json", "resources.json", "rootguard-verdicts.json", "custodian-run.log"} <= names


def test_report_shows_unknown_root_facts_as_could_not_evaluate(real_output):
    matrix = collect(str(real_output))
    assert [a.id for a in matrix.accounts] == ["123456789012"]   # moto's account, from metadata.json
    for control in CREDENTIAL_CONTROLS:
        cell = matrix.cell("123456789012", control)
        assert cell.status == "could-not-evaluate", (control, cell)
        assert cell.reason and cell.region == "us-east-1"
    # Controls whose policies were not run are missing, not compliant.
    assert matrix.cell("123456789012", "alternate-contacts-missing").status == NOT_EVALUATED
    assert not any(c.status == "compliant" for c in matrix.cells.values())


def test_cli_renders_the_real_run_as_html(real_output, tmp_path):
    target = tmp_path / "report.html"
    # the run's root facts are unknown: could-not-evaluate is the worst status, exit 6
    assert main([str(real_output), "--format", "html", "--output", str(target)]) == 6
    assert target.read_text(encoding="utf-8").count('class="cell could-not-evaluate"') == len(CREDENTIAL_CONTROLS)
