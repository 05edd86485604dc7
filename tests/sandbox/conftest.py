"""Fixtures for the sandbox tests: one in-process sandbox per test session (moto's state is global)."""

import pytest

from rootguard_filters.sandbox.server import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def fresh(sandbox):
    """The sandbox with moto and the fill-ins reset."""
    sandbox.reset()
    return sandbox
