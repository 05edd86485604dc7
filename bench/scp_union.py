"""Time root-scp's decision (decide_root_scp) for 1,000 member accounts under three SCP layouts.

    .venv/bin/python bench/scp_union.py

Pure decision time (no API calls: the organization walk is counted by `make bench`).
"""
import json
import time

from rootguard_filters.decide.scp import OrgSnapshot, decide_root_scp

ROOT_ONLY = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
REGIONS = ["us-east-1", "eu-west-1"]


def deny(condition):
    return {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}


LAYOUTS = {
    "AWS reference SCP": [deny({**ROOT_ONLY, "Null": {"aws:AssumedRoot": "true"}})],
    "two region-conditional statements (covered together)": [
        deny({**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": REGIONS}}),
        deny({**ROOT_ONLY, "StringNotEquals": {"aws:RequestedRegion": REGIONS}})],
    "one region-conditional statement (hole)": [
        deny({**ROOT_ONLY, "StringEquals": {"aws:RequestedRegion": REGIONS}})],
}


def organization(statements, accounts):
    policies = {"p-allow": {"Name": "FullAWSAccess", "Content": json.dumps(
                    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})},
                "p-deny": {"Name": "deny-root", "Content": json.dumps({"Statement": statements})}}
    parent_of = {"ou-top": "r-root", "ou-mid": "ou-top", **{a: "ou-mid" for a in accounts}}
    return OrgSnapshot(management_account_id="999999999999", root_id="r-root", scp_enabled=True,
                       parent_of=parent_of, accounts={a: {"Status": "ACTIVE"} for a in accounts},
                       policies=policies, targets_of={"p-allow": ["r-root"], "p-deny": ["ou-top"]})


def main():
    accounts = [str(500000000000 + n) for n in range(1000)]
    for name, statements in LAYOUTS.items():
        snapshot = organization(statements, accounts)
        start = time.perf_counter()
        statuses = sorted({decide_root_scp(snapshot, a).status for a in accounts})
        print(f"{name}: {len(accounts)} accounts in {time.perf_counter() - start:.2f} s, {statuses}")


if __name__ == "__main__":
    main()
