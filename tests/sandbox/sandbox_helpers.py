"""Helpers for the sandbox tests (boto3 clients against the sandbox, a small organization)."""

import boto3

from rootguard_filters.sandbox.server import FAKE_CREDENTIALS

MANAGEMENT = "123456789012"


def client(sandbox, service, region="us-east-1", **creds):
    """A boto3 client against the sandbox; default credentials act in the management account."""
    creds = creds or {"aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name=region, **creds)


def session_creds(credentials):
    return {"aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def make_org(sandbox, members=1, trusted=("iam.amazonaws.com", "account.amazonaws.com")):
    """An organization managed by MANAGEMENT with `members` member accounts; returns their ids."""
    org = client(sandbox, "organizations")
    org.create_organization(FeatureSet="ALL")
    for principal in trusted:
        org.enable_aws_service_access(ServicePrincipal=principal)
    return [org.create_account(AccountName=f"m{n}", Email=f"m{n}@example.com")["CreateAccountStatus"]["AccountId"]
            for n in range(members)]


def member_client(sandbox, account_id, service, region="us-east-1"):
    creds = client(sandbox, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="tests")
    return client(sandbox, service, region, **session_creds(creds["Credentials"]))
