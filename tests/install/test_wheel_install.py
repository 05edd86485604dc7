"""The built wheel, installed into a fresh virtualenv, is seen by plain custodian and c7n-org.

Nothing here imports the pack into the test process: every check is a subprocess of the new venv.
c7n and c7n-org are installed into it with --no-deps; their own dependencies come from the test
environment through a path-only .pth (which, unlike rootguard.pth, imports nothing).
"""
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def sh(*cmd, env=None, cwd=None, check=True):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    wheels = base / "dist"
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, ROOT)
    wheel = next(wheels.glob("rootguard-*.whl"))
    env_dir = base / "venv"
    sh(sys.executable, "-m", "venv", env_dir)
    python = env_dir / "bin" / "python"
    import c7n
    import c7n_org
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # c7n and c7n-org (with their console scripts) from this environment's exact versions.
    sh(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    for package in (c7n, c7n_org):
        dist = Path(package.__file__).parent
        (site / dist.name).symlink_to(dist)
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for script in ("custodian", "c7n-org"):
        entry = "c7n.cli:main" if script == "custodian" else "c7n_org.cli:cli"
        module, func = entry.split(":")
        path = env_dir / "bin" / script
        path.write_text(f"#!{python}\nimport sys\nfrom {module} import {func}\nsys.exit({func}())\n")
        path.chmod(0o755)
    return env_dir


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "C7N_", "PYTHON"))}
    env.update(HOME=str(home), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    return env


def test_wheel_puts_the_pth_at_the_root_of_site_packages(venv):
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "rootguard.pth").read_text().strip() == "import rootguard_filters._autoload"


def test_custodian_validate_sees_the_pack(venv, tmp_path):
    for policy_file in sorted(POLICIES.glob("*.yml")):
        result = sh(venv / "bin" / "custodian", "validate", policy_file, env=clean_env(tmp_path), cwd=tmp_path)
        assert "Configuration valid" in result.stderr + result.stdout


def test_custodian_validate_names_a_bad_option(venv, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("policies:\n  - name: bad\n    resource: aws.account\n    filters:\n"
                   "      - type: root-mfa\n        states: [bogus]\n")
    result = sh(venv / "bin" / "custodian", "validate", bad, env=clean_env(tmp_path), cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "'states'" in result.stderr and "bogus" in result.stderr


@pytest.mark.parametrize("name", ["root-mfa", "root-credentials"])
def test_custodian_schema_shows_docstring_and_schema(venv, tmp_path, name):
    result = sh(venv / "bin" / "custodian", "schema", f"aws.account.filters.{name}", env=clean_env(tmp_path))
    assert "policies:" in result.stdout and f"type: {name}" in result.stdout
    assert "Schema" in result.stdout and "properties" in result.stdout


def test_starting_python_does_not_import_c7n(venv, tmp_path):
    probe = "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('c7n', 'boto3', 'botocore')))"
    result = sh(venv / "bin" / "python", "-c", probe, env=clean_env(tmp_path))
    assert result.stdout.strip() == "[]"


def test_start_up_cost_of_the_pth_is_well_under_5ms(venv, tmp_path):
    # -X importtime reports each module's cumulative import time in microseconds.
    result = sh(venv / "bin" / "python", "-X", "importtime", "-c", "pass", env=clean_env(tmp_path))
    costs = {m.group(2).strip(): int(m.group(1))
             for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \|\s+(.+)", result.stderr)}
    assert "rootguard_filters._autoload" in costs
    # cumulative: _autoload and everything it imports (the rootguard_filters package itself)
    assert costs["rootguard_filters._autoload"] < 5000, costs


def c7n_org_run(venv, tmp_path, start_method):
    """c7n-org over one account whose filters need the pack; returns the verdict file."""
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        (tmp_path / "accounts.yml").write_text(
            "accounts:\n  - account_id: '123456789012'\n    name: solo\n    regions: [us-east-1]\n"
            "    role: arn:aws:iam::123456789012:role/OrganizationAccountAccessRole\n")
        env = clean_env(tmp_path)
        env["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        launcher = (f"import multiprocessing, sys; multiprocessing.set_start_method('{start_method}'); "
                    "from c7n_org.cli import cli; sys.argv[0] = 'c7n-org'; cli()")
        sh(venv / "bin" / "python", "-c", launcher, "run", "-c", tmp_path / "accounts.yml",
           "-s", tmp_path / "out", "-u", POLICIES / "account.yml", "-r", "us-east-1",
           "-p", "root-mfa-missing", "--cache-period", "0", env=env, cwd=tmp_path)
    finally:
        server.stop()
    return tmp_path / "out" / "solo" / "us-east-1" / "root-mfa-missing" / "rootguard-verdicts.json"


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_c7n_org_workers_see_the_pack(venv, tmp_path, start_method):
    verdicts = c7n_org_run(venv, tmp_path, start_method)
    document = json.loads(verdicts.read_text())
    # The filter ran in the worker; plain moto lacks root's summary fields, so it cannot decide.
    assert document["verdicts"]["123456789012"]["root-mfa"]["status"] == "could-not-evaluate"
