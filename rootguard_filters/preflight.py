"""``rootguard check``: are credentials and the endpoint usable? One line, in seconds, before a run.

Without credentials, or with ``AWS_ENDPOINT_URL`` pointing at nothing, ``custodian run`` prints
hundreds of traceback lines and retries for about a minute per policy before any verdict. This asks
STS ``GetCallerIdentity`` once — one attempt, short timeouts — and says what is wrong in one line.
"""
import argparse
import os
import sys

import boto3
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


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="rootguard check",
        description="Check, in one line, that AWS credentials and the endpoint work (sts:GetCallerIdentity, "
                    "one attempt) before `custodian run` or `c7n-org run`. Exit 0 when they do, 1 when not.")
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default chain)")
    parser.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION, else us-east-1)")
    args = parser.parse_args(argv)
    ok, line = check(args.profile, args.region)
    print(f"rootguard check: {line}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
