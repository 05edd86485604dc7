import boto3
import pytest

from rootguard_filters.sandbox.server import Sandbox

from lambda_support import MANAGEMENT_ACCOUNT, runtime_dir


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        sb.reset()  # moto's state is process-wide: start from nothing
        yield sb


@pytest.fixture(scope="session")
def lambda_runtime(tmp_path_factory):
    return runtime_dir(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture
def alert_queue(sandbox, monkeypatch):
    """The c7n-mailer queue in the sandbox, empty: (url, arn)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="rootguard-alerts")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    return url, f"arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:rootguard-alerts"
