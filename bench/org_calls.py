"""Organizations calls: rootguard's root-scp vs c7n's ``policy`` filter (inherited) on aws.org-account.

Builds a moto organization (default 1,000 member accounts spread over nested OUs) and counts the
Organizations API calls each policy run makes, with a botocore ``before-call`` hook. Run:

    .venv/bin/python bench/org_calls.py [ACCOUNTS] [OUS]
"""
import os
import sys
import tempfile
import time

from moto import mock_aws

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "org"))
from org_helpers import REGION, CallCounter, moto_session, new_run, run_policy  # noqa: E402

import rootguard_filters  # noqa: E402
from rootguard_filters.decide.scp_plan import reference_deny_root_scp  # noqa: E402


def build_org(session, accounts, ous):
    """Root -> ``ous`` top OUs, each with one child OU; accounts spread over the child OUs."""
    org = session.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    leaves = []
    for n in range(ous):
        top = org.create_organizational_unit(ParentId=root, Name=f"top-{n}")["OrganizationalUnit"]["Id"]
        leaves.append(org.create_organizational_unit(ParentId=top, Name=f"leaf-{n}")["OrganizationalUnit"]["Id"])
    for n in range(accounts):
        account = org.create_account(AccountName=f"acct-{n}", Email=f"a{n}@example.com")
        account_id = account["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=leaves[n % ous])
    policy = org.create_policy(Name="deny-root", Type="SERVICE_CONTROL_POLICY", Description="d",
                               Content=reference_deny_root_scp())["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=leaves[0])


def measure(session, filters):
    new_run()
    counter = CallCounter(session)
    started = time.monotonic()
    resources, _ = run_policy(session, tempfile.mkdtemp(), filters)
    return counter.calls, time.monotonic() - started, len(resources)


def main(accounts=1000, ous=5):
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    rootguard_filters.register()
    with mock_aws():
        session = moto_session()
        started = time.monotonic()
        build_org(session, accounts, ous)
        print(f"moto org: {accounts} accounts in {ous} OU branches built in {time.monotonic() - started:.1f}s")
        for label, filters in (
                ("rootguard root-scp", [{"type": "root-scp"}]),
                ("c7n policy inherited", [{"type": "policy", "policy-type": "SERVICE_CONTROL_POLICY",
                                           "inherited": True, "count": 0,
                                           "attrs": [{"Name": "deny-root"}]}]),
                ("resource listing only", [])):
            calls, seconds, flagged = measure(session, filters)
            print(f"{label}: {sum(calls.values())} Organizations calls, {seconds:.1f}s, "
                  f"{flagged} flagged: {dict(sorted(calls.items()))}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
