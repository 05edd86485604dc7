"""Which role reads an organization trail's chain in its owner account (OwnerAccess, no AWS)."""
from types import SimpleNamespace

import pytest
from c7n.config import Config

from rootguard_filters.controls.alarm_chain import OwnerAccess
from rootguard_filters.plumbing.evidence import RUN_CACHE

MEMBER, OWNER = "444455556666", "111122223333"


def manager(assume_role=None, factory_role=None, mode=None):
    config = Config.empty(account_id=MEMBER, region="us-east-1", assume_role=assume_role)
    policy = SimpleNamespace(data={"name": "p", "mode": mode} if mode else {"name": "p"})
    return SimpleNamespace(config=config, session_factory=SimpleNamespace(assume_role=factory_role),
                           ctx=SimpleNamespace(policy=policy))


def test_option_wins_and_its_account_field_is_the_owner_even_after_custodian_expanded_it():
    # custodian has already replaced {account_id} by the member's id when the filter sees the option
    access = OwnerAccess(manager(assume_role=f"arn:aws:iam::{MEMBER}:role/rootguard-audit"),
                         f"arn:aws:iam::{MEMBER}:role/path/OrgChainReader")
    assert access.role_for(OWNER) == (f"arn:aws:iam::{OWNER}:role/path/OrgChainReader", None)
    raw = OwnerAccess(manager(), "arn:aws:iam::{account_id}:role/OrgChainReader")
    assert raw.role_for(OWNER) == (f"arn:aws:iam::{OWNER}:role/OrgChainReader", None)


@pytest.mark.parametrize("where", ["config", "factory"])
def test_the_role_of_the_same_name_as_the_one_assumed_in_the_member(where):
    role = f"arn:aws:iam::{MEMBER}:role/rootguard-audit"
    access = OwnerAccess(manager(**{"assume_role" if where == "config" else "factory_role": role}))
    assert access.role_for(OWNER) == (f"arn:aws:iam::{OWNER}:role/rootguard-audit", None)


def test_in_a_lambda_function_the_role_of_the_same_name_as_its_execution_role(monkeypatch):
    mode = {"type": "periodic", "role": "arn:aws:iam::{account_id}:role/rootguard-lambda"}
    access = OwnerAccess(manager(mode=mode))
    assert access.role_for(OWNER)[0] is None          # not in Lambda: a local dry run has no such role
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "rootguard-root-usage-alarm-missing")
    assert access.role_for(OWNER) == (f"arn:aws:iam::{OWNER}:role/rootguard-lambda", None)


def test_without_a_role_the_reader_is_a_failure_saying_how_to_give_one():
    RUN_CACHE.clear()
    evidence = OwnerAccess(manager()).reader(OWNER)
    assert not evidence.ok and evidence.error_code == "NoOwnerRole"
    assert "--assume" in evidence.error and "owner-role" in evidence.error and OWNER in evidence.error
