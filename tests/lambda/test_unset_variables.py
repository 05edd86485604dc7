"""A deploy with an unset ``{rootguard_*}`` variable is refused before anything is created, naming the variable.

c7n formats ``{var}`` from ``--vars-file`` / c7n-org account ``vars:`` and leaves unknown ones literal; deployed
so, c7n's notify fails with KeyError at the first root call and no alert is sent.
"""
import json
import logging

import boto3
import pytest
import yaml
from c7n.cli import main as custodian
from c7n.config import Config
from c7n.exceptions import PolicyValidationError
from c7n.policy import Policy

import rootguard_filters
from lambda_support import MANAGEMENT_ACCOUNT, REPO, policy_data
from rootguard_filters.deployment.lambda_modes import unset_variables
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS

rootguard_filters.register()

QUEUE = f"arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:rootguard-alerts"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture
def sandbox_env(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "C7N_USE_STS_REGIONAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    iam = boto3.client("iam")
    if "rootguard-lambda" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}:
        iam.create_role(RoleName="rootguard-lambda", AssumeRolePolicyDocument=json.dumps(TRUST))
    return sandbox


def deployed_names():
    functions = {f["FunctionName"] for f in boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"]}
    rules = {r["Name"] for r in boto3.client("events", region_name="us-east-1").list_rules()["Rules"]}
    return functions, rules


@pytest.mark.parametrize("path, policy, vars_text, missing", [
    ("deploy/realtime.yml", "rootguard-root-api-activity", "rootguard_notify_to: sec@corp.invalid\n",
     "rootguard_notify_queue"),
    ("deploy/realtime.yml", "rootguard-root-console-signin", f"rootguard_notify_queue: {QUEUE}\n",
     "rootguard_notify_to"),
    ("deploy/periodic.yml", "root-mfa-missing", None, "rootguard_notify_queue, rootguard_notify_to"),
])
def test_deploy_with_an_unset_variable_creates_nothing_and_names_it(sandbox_env, tmp_path, monkeypatch, caplog,
                                                                      path, policy, vars_text, missing):
    before = deployed_names()
    args = ["custodian", "run", "-s", str(tmp_path / "out"), "-r", "us-east-1", "--cache-period", "0", "-p", policy]
    if vars_text is not None:
        (tmp_path / "vars.yml").write_text(vars_text)
        args += ["--vars-file", str(tmp_path / "vars.yml")]
    monkeypatch.setattr("sys.argv", [*args, str(REPO / path)])
    with pytest.raises((SystemExit, PolicyValidationError)) as refused:
        custodian()
    assert f"unset variables {missing}" in (caplog.text + str(refused.value))
    assert deployed_names() == before  # no function, no rule


def test_the_same_deploy_with_every_variable_creates_the_function(sandbox_env, tmp_path, monkeypatch):
    (tmp_path / "vars.yml").write_text(f"rootguard_notify_queue: {QUEUE}\nrootguard_notify_to: sec@corp.invalid\n")
    monkeypatch.setattr("sys.argv", ["custodian", "run", "-s", str(tmp_path / "out"), "-r", "us-east-1",
                                     "--cache-period", "0", "--vars-file", str(tmp_path / "vars.yml"),
                                     "-p", "rootguard-root-password-change", str(REPO / "deploy/realtime.yml")])
    custodian()
    functions, rules = deployed_names()
    assert "rootguard-root-password-change" in functions and "rootguard-root-password-change" in rules


def test_provision_refuses_even_without_variable_expansion():
    data = policy_data("deploy/realtime.yml", "rootguard-assume-root-call")
    policy = Policy(data, Config.empty(account_id=MANAGEMENT_ACCOUNT, region="us-east-1"))
    with pytest.raises(PolicyValidationError, match="rootguard_notify_queue, rootguard_notify_to"):
        policy.provision()


def test_custodian_validate_of_the_raw_file_warns_and_names_the_variables(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr("sys.argv", ["custodian", "validate", str(REPO / "deploy/realtime.yml")])
    custodian()
    assert "Configuration valid" in caplog.text
    assert "unset variables rootguard_notify_queue, rootguard_notify_to" in caplog.text


def test_validate_after_expansion_refuses_naming_the_variable():
    data = policy_data("deploy/realtime.yml", "rootguard-root-credential-change")
    policy = Policy(data, Config.empty(account_id=MANAGEMENT_ACCOUNT, region="us-east-1"))
    policy.expand_variables(policy.get_variables({"rootguard_notify_to": "sec@corp.invalid"}))
    with pytest.raises(PolicyValidationError, match=r"unset variables rootguard_notify_queue:"):
        policy.validate()


def test_the_optional_register_of_the_signin_alert_is_not_required():
    data = policy_data("deploy/realtime.yml", "rootguard-root-console-signin")
    assert "{rootguard_approvals}" in yaml.safe_dump(data)
    assert unset_variables(data) == ["rootguard_notify_queue", "rootguard_notify_to"]


def test_rootguard_deploy_refuses_a_vars_file_that_leaves_a_variable_unset(tmp_path, capsys):
    from rootguard_filters.deployment import deploy_files as deploy
    (tmp_path / "vars.yml").write_text(f"rootguard_notify_queue: {QUEUE}\nrootguard_notify_to: sec@corp.invalid\n")
    with pytest.raises(SystemExit) as refused:
        deploy.main(["--root", str(REPO), "--check", "--vars-file", str(tmp_path / "vars.yml")])
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert "deploy/break-glass-review.yml needs rootguard_approvals" in error
    assert "periodic.yml" not in error  # it has every variable it needs


def test_rootguard_deploy_accepts_a_complete_vars_file(tmp_path):
    from rootguard_filters.deployment import deploy_files as deploy
    (tmp_path / "vars.yml").write_text(f"rootguard_notify_queue: {QUEUE}\nrootguard_notify_to: sec@corp.invalid\n"
                                       "rootguard_approvals: s3://registers/approvals.csv\n")
    assert deploy.main(["--root", str(REPO), "--check", "--vars-file", str(tmp_path / "vars.yml")]) == 0
