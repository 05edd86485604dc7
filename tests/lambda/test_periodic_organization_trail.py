"""The periodic Lambda variant in a member whose only trail is the organization trail: the function,
running as the member's ``rootguard-lambda``, reads the chain through the management account's
``rootguard-lambda`` (the role of the same name) and gives the same verdict as c7n-org."""
import json

import boto3
import pytest

from lambda_support import (MANAGEMENT_ACCOUNT, build_archive, invoke, lambda_env, policy_data, scheduled_event,
                            with_vars)
from rootguard_filters.sandbox.seed import seed_organization

HANDLER = "rootguard_filters.lambda_handler.run"
POLICY = "root-usage-alarm-missing"
LAMBDA_ROLE = "rootguard-lambda"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def member_function(sandbox, tmp_path_factory):
    sandbox.reset()
    yield from _member_function(sandbox, tmp_path_factory)
    sandbox.reset()   # moto's state is process-wide: leave no organization to the next module


def _member_function(sandbox, tmp_path_factory):
    seeded = seed_organization(sandbox.endpoint_url, str(tmp_path_factory.mktemp("seed")), members=["compliant"])
    member = next(a for a, i in seeded["accounts"].items() if i["posture"] == "compliant")
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    sts = session.client("sts", endpoint_url=sandbox.endpoint_url)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                            RoleSessionName="setup")["Credentials"]
    member_iam = session.client("iam", endpoint_url=sandbox.endpoint_url, aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    member_iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    # the findings queue c7n-mailer reads (the deployed policy notifies on a flagged account)
    session.client("sqs", endpoint_url=sandbox.endpoint_url, aws_access_key_id=creds["AccessKeyId"],
                   aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"]).create_queue(QueueName="rootguard-alerts")
    out = tmp_path_factory.mktemp("periodic-out")
    data = with_vars(policy_data("deploy/periodic.yml", POLICY), f"arn:aws:sqs:us-east-1:{member}:rootguard-alerts")
    _, path = build_archive(data, tmp_path_factory.mktemp("archive"), out)
    # the function's own credentials: the member's execution role
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/{LAMBDA_ROLE}", RoleSessionName=POLICY)["Credentials"]
    function_env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_LAMBDA_FUNCTION_NAME": f"rootguard-{POLICY}"}
    yield member, path, out, function_env, session.client("iam", endpoint_url=sandbox.endpoint_url)


def run(sandbox, member_function, lambda_runtime, tmp_path):
    member, path, out, function_env, _ = member_function
    result = invoke(path, lambda_runtime, HANDLER, scheduled_event(f"rootguard-{POLICY}"),
                    lambda_env(sandbox.endpoint_url, tmp_path), function_env)
    assert result.returncode == 0, result.stderr[-3000:]
    verdicts = json.loads((out / POLICY / "rootguard-verdicts.json").read_text())["verdicts"]
    return verdicts[member]["root-usage-alarm"]


def test_without_the_management_accounts_role_the_member_is_could_not_evaluate(
        sandbox, member_function, lambda_runtime, tmp_path):
    verdict = run(sandbox, member_function, lambda_runtime, tmp_path)
    assert verdict["status"] == "could-not-evaluate"
    assert f"cannot assume arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/{LAMBDA_ROLE}" in verdict["reason"]


def test_through_the_management_accounts_role_of_the_same_name_the_member_is_compliant(
        sandbox, member_function, lambda_runtime, tmp_path):
    management_iam = member_function[4]
    management_iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    verdict = run(sandbox, member_function, lambda_runtime, tmp_path)
    assert verdict["status"] == "compliant", verdict
    assert verdict["details"]["chain"]["owner_account"] == MANAGEMENT_ACCOUNT
    assert "organization trail" in verdict["reason"]
