"""Fixtures for the contacts tests: a clean run per test, moto and placebo sessions, call counting."""
import os

import boto3
import placebo
import pytest
from c7n.config import Config
from c7n.policy import Policy
from c7n.utils import reset_session_cache
from moto import mock_aws

import rootguard_filters
import rootguard_filters.controls.contacts  # noqa: F401  (registers the contacts filters and actions)
from rootguard_filters.plumbing import evidence

from contacts_support import ACCOUNT
from rootguard_filters.plumbing.writes import FixesFailed

FLIGHTS = os.path.join(os.path.dirname(__file__), "flights")


@pytest.fixture(autouse=True)
def clean_run(monkeypatch):
    """Fake credentials, no endpoint override, and nothing remembered from another test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ACCOUNT", "C7N_USE_STS_REGIONAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    rootguard_filters.register()
    reset_session_cache()
    evidence.reset()
    yield
    reset_session_cache()
    evidence.reset()


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff delays requested by retries, without waiting for them."""
    delays = []
    monkeypatch.setattr("time.sleep", delays.append)
    return delays


@pytest.fixture
def moto_session():
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def flight():
    """``flight(name)``: a session that replays tests/contacts/flights/<name>/ with placebo."""
    def replay(name):
        session = boto3.Session(region_name="us-east-1")
        pill = placebo.attach(session, data_path=os.path.join(FLIGHTS, name))
        pill.playback()
        return session
    return replay


class ApiCalls:
    """Every account-service call a session's clients make (retries included), with its parameters."""

    def __init__(self, session):
        self.calls = []
        # before-parameter-build fires for every attempt, before placebo answers in before-call.
        session.events.register("before-parameter-build.account", self._record)

    def _record(self, params, model, **kwargs):
        self.calls.append((model.name, dict(params)))

    def named(self, operation):
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def api_calls():
    return ApiCalls


@pytest.fixture
def run_policy(tmp_path):
    """``run_policy(data, session, account_id=ACCOUNT, dryrun=False)`` -> resources, in-process."""
    def run(data, session, account_id=ACCOUNT, dryrun=False):
        config = Config.empty(account_id=account_id, region="us-east-1",
                              output_dir=str(tmp_path / data["name"]), dryrun=dryrun)
        policy = Policy(data, config, session_factory=lambda *a, **k: session)
        policy.validate()
        try:
            return policy.run()
        except FixesFailed as failure:   # a fix did not happen: the run ends non-zero, records made
            return failure.resources
    return run
