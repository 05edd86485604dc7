"""Forwarding covers every region any member enabled, and each root event alerts exactly once.

The StackSet's regions come from every account's enabled regions (account:ListRegions per member), not the
management account's; ``--coverage`` names each (account, enabled region) without the forwarding stack.
moto has no account:ListRegions: its answers are botocore-stubbed in the real API's shape, the rest is moto.
"""
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from rootguard_filters.deployment import forwarding
from test_every_region import HOME, OTHERS, envelope, world  # noqa: F401  (the moto world fixture)

def regions_answer(*enabled, disabled=("me-south-1",)):
    regions = [{"RegionName": r, "RegionOptStatus": "ENABLED_BY_DEFAULT" if r in ("us-east-1", "eu-west-1")
                else "ENABLED"} for r in enabled]
    return {"Regions": regions + [{"RegionName": r, "RegionOptStatus": "DISABLED"} for r in disabled]}


class StubbedSession:
    """A boto3 session whose account client answers ListRegions from ``answers`` (moto serves the rest)."""

    def __init__(self, answers):
        self._session = boto3.Session(region_name="us-east-1")
        self.account = self._session.client("account", region_name="us-east-1")
        self.stubber = Stubber(self.account)
        for account_id, answer in answers:
            expected = {"RegionOptStatusContains": ["ENABLED", "ENABLED_BY_DEFAULT"]}
            if account_id:
                expected["AccountId"] = account_id
            self.stubber.add_response("list_regions", answer, expected)
        self.stubber.activate()

    def client(self, name, **kwargs):
        return self.account if name == "account" else self._session.client(name, **kwargs)


@pytest.fixture
def organization(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        management = org.describe_organization()["Organization"]["MasterAccountId"]
        member = org.create_account(AccountName="member", Email="m@corp.invalid")["CreateAccountStatus"]["AccountId"]
        yield management, member


def deploy_stackset(regions_by_account):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    body = json.dumps({"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    cfn.create_stack_set(StackSetName=forwarding.STACK_SET, TemplateBody=body)
    for account, regions in regions_by_account.items():
        cfn.create_stack_instances(StackSetName=forwarding.STACK_SET, Accounts=[account], Regions=sorted(regions))


def test_stackset_regions_are_every_region_any_account_enabled_not_the_managements():
    enabled = {"111111111111": {"us-east-1", "eu-west-1"}, "222222222222": {"us-east-1", "ap-east-1"}}
    assert forwarding.stackset_regions(enabled) == ["ap-east-1", "eu-west-1", "us-east-1"]
    assert "ap-east-1" in forwarding.stackset_command(forwarding.stackset_regions(enabled))


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")
def test_coverage_names_the_member_opt_in_region_without_a_rule(organization):
    management, member = organization
    # the StackSet was made from the management account's regions: the member's opt-in ap-east-1 is missing
    deploy_stackset({member: {"us-east-1", "eu-west-1"}})
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName=forwarding.STACK_SET, TemplateBody=json.dumps(
            {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))
    answers = {management: (None, regions_answer("us-east-1", "eu-west-1")),
               member: (member, regions_answer("us-east-1", "eu-west-1", "ap-east-1"))}
    listed = [a["Id"] for a in boto3.client("organizations").list_accounts()["Accounts"]]
    session = StubbedSession([answers[account] for account in listed])  # ListRegions in list_accounts order
    enabled, gaps = forwarding.organization_coverage(session)
    assert enabled == {management: {"us-east-1", "eu-west-1"}, member: {"us-east-1", "eu-west-1", "ap-east-1"}}
    assert gaps == [(member, "ap-east-1")]           # the home region needs no rule; eu-west-1 has one in both
    assert forwarding.stackset_regions(enabled) == ["ap-east-1", "eu-west-1", "us-east-1"]
    session.stubber.assert_no_pending_responses()


def test_no_gap_when_every_enabled_region_but_home_forwards():
    enabled = {"111111111111": {"us-east-1", "eu-west-1"}, "222222222222": {"us-east-1", "ap-east-1"}}
    covered = {("111111111111", "eu-west-1"), ("222222222222", "ap-east-1")}
    assert forwarding.coverage_gaps(enabled, covered) == []
    assert forwarding.coverage_gaps(enabled, covered - {("222222222222", "ap-east-1")}) == [
        ("222222222222", "ap-east-1")]


ASSUME_ROOT = {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRoot", "eventType": "AwsApiCall",
               "readOnly": True, "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/a"},
               "recipientAccountId": "123456789012", "eventID": "assume-root"}


def test_assume_root_from_any_region_alerts_exactly_once(world):  # noqa: F811
    patterns, put, received = world
    assert "rootguard-assume-root-call" in patterns
    put([(region, envelope(ASSUME_ROOT, region, "call")) for region in [HOME, *OTHERS]])
    got = received()["rootguard-assume-root-call"]
    assert sorted(got) == sorted(f"assume-root/call/{region}" for region in [HOME, *OTHERS])  # once each


def test_the_realtime_functions_are_deployed_in_the_home_region_only():
    # Deployed in another region too, they would see that region's events twice (own rule + forwarded).
    text = (forwarding.Path(__file__).resolve().parents[2] / "deploy/realtime.yml").read_text()
    assert "in every region your administrators use" not in text
    assert "home region only" in text
