"""Fixtures shared by the moto-backed organization tests."""
import pytest
from moto import mock_aws

from org_helpers import MotoOrg, moto_session


@pytest.fixture
def session():
    """A boto3 session on a fresh moto AWS (the management account)."""
    with mock_aws():
        yield moto_session()


@pytest.fixture
def org(session):
    """Helpers to build an organization in that session."""
    return MotoOrg(session)
