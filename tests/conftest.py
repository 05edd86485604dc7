"""Shared test set-up: no real AWS, fresh caches, the pack registered."""
import os

import pytest

import rootguard_filters

rootguard_filters.register()


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch, tmp_path_factory):
    """Fake credentials and no profile or config file: nothing can reach a real AWS account."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("AWS_") or name in ("C7N_USE_STS_REGIONAL",):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture(autouse=True)
def fresh_caches():
    from c7n.utils import reset_session_cache
    from rootguard_filters.plumbing import evidence
    from rootguard_filters.plumbing import options
    evidence.reset()
    options.reset()
    reset_session_cache()
    yield
    evidence.reset()
    reset_session_cache()
