"""root-scp through plain c7n against a moto organization: policies that share the work, and witnesses."""
import json

from org_helpers import run_policy

ROOT_SCP = [{"type": "root-scp"}]
ROOT_ONLY = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}


def scp(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_an_ou_policy_and_a_root_policy_together_cover_root(session, org, tmp_path):
    top = org.ou("Workloads")
    inside, outside = org.account("inside", parent=top), org.account("outside")
    org.scp("deny-root-iam", scp({"Effect": "Deny", "Action": "iam:*", "Resource": "*",
                                   "Condition": ROOT_ONLY}), top)
    org.scp("deny-root-rest", scp({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
                                    "Condition": ROOT_ONLY}), org.root)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [outside]
    covered = verdicts[inside]["root-scp"]
    assert covered["status"] == "compliant" and "together deny" in covered["reason"]
    assert {s["attached_to"]["type"] for s in covered["details"]["covering_statements"]} == {"ou", "root"}
    hole = verdicts[outside]["root-scp"]
    assert hole["status"] == "non-compliant"
    assert hole["details"]["witness"]["action"].lower().startswith("iam:")


def test_region_narrowed_deny_names_a_region_root_can_still_use(session, org, tmp_path):
    account = org.account("a")
    org.scp("deny-root-us", scp({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
        **ROOT_ONLY, "StringLike": {"aws:RequestedRegion": "us-*"}}}), org.root)

    flagged, verdicts = run_policy(session, tmp_path, ROOT_SCP)

    assert [r["Id"] for r in flagged] == [account]
    verdict = verdicts[account]["root-scp"]
    region = verdict["details"]["witness"]["conditions"]["aws:requestedregion"]
    assert not region.startswith("us-") and region in verdict["reason"]
