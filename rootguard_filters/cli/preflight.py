"""``rootguard check``: are credentials and the endpoint usable? One line, in seconds, before a run.

Without credentials, or with ``AWS_ENDPOINT_URL`` pointing at nothing, ``custodian run`` prints
hundreds of traceback lines and retries for about a minute per policy before any verdict. This asks
STS ``GetCallerIdentity`` once — one attempt, short timeouts — and says what is wrong in one line.
"""
import argparse
import os
import sys

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import (
    ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, NoRegionError,
    PartialCredentialsError, ProfileNotFound, ReadTimeoutError)

QUICK = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"})
NO_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
                  "run where a role provides them, or start the sandbox (rootguard sandbox) and export what it prints")


def describe_endpoint(endpoint, region):
    return f"AWS_ENDPOINT_URL {endpoint}" if endpoint else f"the AWS endpoint of region {region}"


def check(profile=None, region=None, session_factory=boto3.Session):
    """(ok, one line) for the credentials and endpoint boto3 (and so custodian / c7n-org) would use."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL")
    try:
        session = session_factory(profile_name=profile, region_name=region)
        region = session.region_name or "us-east-1"
        if session.get_credentials() is None:
            return False, NO_CREDENTIALS
        identity = session.client("sts", region_name=region, config=QUICK).get_caller_identity()
    except ProfileNotFound as error:
        return False, f"AWS profile not found: {error} (check AWS_PROFILE and ~/.aws/config)"
    except NoCredentialsError:
        return False, NO_CREDENTIALS
    except PartialCredentialsError as error:
        return False, f"incomplete AWS credentials: {error}"
    except NoRegionError:
        return False, "no AWS region: set AWS_DEFAULT_REGION (e.g. us-east-1) or pass --region"
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
        return False, (f"cannot reach {describe_endpoint(endpoint, region)}: {error} — is the endpoint right "
                       "and running (a sandbox prints the AWS_ENDPOINT_URL to export)?")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Error")
        message = error.response.get("Error", {}).get("Message", "")
        return False, f"{describe_endpoint(endpoint, region)} rejected the credentials: {code}: {message}"
    where = f" via {endpoint}" if endpoint else ""
    return True, f"ok: account {identity.get('Account')} as {identity.get('Arn')}{where} (region {region})"


def account_roles(path):
    """[(name, account id, role ARN)] of a c7n-org accounts file's accounts that name a role."""
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=yaml.BaseLoader) or {}
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        raise ValueError(f"{path} has no 'accounts' list")
    return [(a.get("name") or a.get("account_id"), a.get("account_id"), a["role"])
            for a in accounts if isinstance(a, dict) and isinstance(a.get("role"), str)]


def check_roles(roles, profile=None, region=None, session_factory=boto3.Session):
    """One line per account whose role cannot be assumed (sts:AssumeRole, one attempt); [] when all can."""
    session = session_factory(profile_name=profile, region_name=region)
    sts = session.client("sts", region_name=session.region_name or "us-east-1", config=QUICK)
    problems = []
    for name, account_id, role in roles:
        try:
            sts.assume_role(RoleArn=role, RoleSessionName="rootguard-check", DurationSeconds=900)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Error")
            problems.append(f"account {name} ({account_id}): cannot assume {role}: {code}: "
                            f"{error.response.get('Error', {}).get('Message', '')}")
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
            problems.append(f"account {name} ({account_id}): cannot assume {role}: {error}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="rootguard check",
        description="Check, in one line, that AWS credentials and the endpoint work (sts:GetCallerIdentity, "
                    "one attempt) before `custodian run` or `c7n-org run`; with --accounts, that every account's "
                    "role can be assumed. Exit 0 when they do, 1 when not.")
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default chain)")
    parser.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION, else us-east-1)")
    parser.add_argument("--accounts", "-c", metavar="ACCOUNTS_YML",
                        help="c7n-org accounts file: also try to assume each account's role (one line per failure)")
    args = parser.parse_args(argv)
    ok, line = check(args.profile, args.region)
    print(f"rootguard check: {line}", file=sys.stdout if ok else sys.stderr)
    if not ok or not args.accounts:
        return 0 if ok else 1
    try:
        roles = account_roles(args.accounts)
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"rootguard check: cannot read {args.accounts}: {error}", file=sys.stderr)
        return 1
    problems = check_roles(roles, args.profile, args.region)
    for problem in problems:
        print(f"rootguard check: {problem}", file=sys.stderr)
    if not problems:
        print(f"rootguard check: ok: all {len(roles)} account role(s) of {args.accounts} can be assumed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
