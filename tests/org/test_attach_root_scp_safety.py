"""attach-root-scp never spreads a policy that can deny anyone but root, records every write, and
leaves a recorded, resumable state when a write fails (moto organization)."""
import json

import pytest

from org_helpers import MANAGEMENT, CallCounter, fail_call, new_run, run_policy
from rootguard_filters.decide.scp_plan import reference_deny_root_scp, root_scoped_deny

FILTERS = [{"type": "root-scp"}]
WRITES = ("EnablePolicyType", "CreatePolicy", "AttachPolicy")
ROOT_DENY = {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}


def attach(session, out, dryrun=False, **options):
    new_run()
    counter = CallCounter(session)
    flagged, _ = run_policy(session, out, FILTERS, [{"type": "attach-root-scp", **options}], dryrun=dryrun)
    return flagged, {op: n for op, n in counter.calls.items() if op in WRITES}


def writes(resource):
    return [(r["call"], r["result"]) for r in resource.get("c7n:rootguard-actions", []) if r["call"]]


def document(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


# ------------------------------------------------------------------ the root-scoped predicate (pure)

@pytest.mark.parametrize("content", [
    reference_deny_root_scp(),
    reference_deny_root_scp("aws-us-gov"),
    document(ROOT_DENY),
    document({**ROOT_DENY, "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]},
                                         "StringEquals": {"aws:RequestedRegion": "us-east-1"}}}),
    document({**ROOT_DENY, "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:root"}}}),
    document({**ROOT_DENY, "Action": ["iam:*", "s3:*"]}, {**ROOT_DENY, "Action": "ec2:*"}),
])
def test_root_scoped_denies_are_reusable(content):
    assert root_scoped_deny(content)[0] is True


@pytest.mark.parametrize("content, why", [
    (document({"Effect": "Deny", "Action": "*", "Resource": "*"}), "without a condition"),
    (document(ROOT_DENY, {"Effect": "Deny", "Action": "*", "Resource": "*",
                          "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}),
     "without a condition"),
    (document(ROOT_DENY, {"Effect": "Allow", "Action": "*", "Resource": "*"}), "Effect is 'Allow'"),
    (document({**ROOT_DENY, "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}),
     "without a condition"),
    (document({**ROOT_DENY, "Condition": {"ArnLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}),
     "without a condition"),
    (document({**ROOT_DENY, "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}}}),
     "without a condition"),
    (document({**ROOT_DENY, "Condition": {"ArnLike": {"aws:PrincipalArn": [
        "arn:aws:iam::*:root", "arn:aws:iam::*:role/admin"]}}}), "without a condition"),
    (document({**ROOT_DENY, "Condition": {"StringLike": {"aws:PrincipalArn": "*root"}}}), "without a condition"),
    (document({**ROOT_DENY, "Condition": {"ForAnyValue:StringLike": {
        "aws:PrincipalArn": "arn:aws:iam::*:root"}}}), "without a condition"),
    ("{not json", "malformed"),
])
def test_anything_that_may_deny_another_principal_is_not_reusable(content, why):
    reusable, reason = root_scoped_deny(content)
    assert reusable is False and why in reason


# ------------------------------------------------------------------ must never happen: spreading

def test_quarantine_deny_everything_scp_is_never_attached_at_the_root(session, org, tmp_path):
    quarantined = org.ou("Quarantine")
    org.account("suspect", parent=quarantined)
    member = org.account("a")
    quarantine = org.scp("quarantine-deny-all", document({"Effect": "Deny", "Action": "*", "Resource": "*"}),
                         quarantined)

    flagged, made = attach(session, tmp_path)

    assert made == {"CreatePolicy": 1, "AttachPolicy": 1}
    assert org.targets(quarantine) == {quarantined}
    created = org.scps()["rootguard-deny-root-user"]
    assert org.targets(created) == {org.root}
    assert root_scoped_deny(org.client.describe_policy(PolicyId=created)["Policy"]["Content"])[0]
    record = next(r for r in flagged if r["Id"] == member)
    assert any(r["result"] == "not-reused" and r.get("policy") == quarantine
               for r in record["c7n:rootguard-actions"])


def test_baseline_with_a_region_deny_beside_the_root_deny_is_not_reused(session, org, tmp_path):
    org.account("a")
    baseline = org.scp("security-baseline", document(
        ROOT_DENY, {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}))

    _, made = attach(session, tmp_path)

    assert made == {"CreatePolicy": 1, "AttachPolicy": 1}
    assert org.targets(baseline) == set()


def test_created_policy_carries_the_pack_tag(session, org, tmp_path):
    org.account("a")
    attach(session, tmp_path)
    created = org.scps()["rootguard-deny-root-user"]
    tags = org.client.list_tags_for_resource(ResourceId=created)["Tags"]
    assert {"Key": "rootguard:managed", "Value": "attach-root-scp"} in tags


# ------------------------------------------------------------------ edited pack policy

def test_pack_policy_found_edited_is_reported_not_recreated(session, org, tmp_path):
    member = org.account("a")
    edited = org.scp("rootguard-deny-root-user", document(
        {**ROOT_DENY, "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}))

    for run in ("first", "second"):
        flagged, made = attach(session, tmp_path / run)
        assert made == {}
        (record,) = [r for r in flagged if r["Id"] == member]
        (failure,) = [r for r in record["c7n:rootguard-actions"] if r["result"] == "failed"]
        assert edited in failure["detail"] and "edited" in failure["detail"]
    assert list(org.scps()).count("rootguard-deny-root-user") == 1


# ------------------------------------------------------------------ records, dryrun, faults

def test_dryrun_run_records_planned_writes_in_the_action_file(session, tmp_path):
    from org_helpers import MotoOrg
    org = MotoOrg(session, enable_scp=False)
    org.account("a")

    flagged, made = attach(session, tmp_path, dryrun=True, **{"enable-policy-type": True})

    assert made == {}
    assert writes(flagged[0]) == [("organizations:EnablePolicyType", "planned"),
                                  ("organizations:CreatePolicy", "planned"),
                                  ("organizations:AttachPolicy", "planned")]
    (action_file,) = (tmp_path / "org-test").glob("action-*")
    recorded = json.loads(action_file.read_text())
    assert {(r["call"], r["result"]) for r in recorded if r["call"]} == set(writes(flagged[0]))
    assert set(org.scps()) == {"FullAWSAccess"}


@pytest.mark.parametrize("failing", WRITES)
def test_a_failure_at_any_write_is_recorded_and_the_next_run_finishes(session, tmp_path, failing):
    from org_helpers import MotoOrg
    org = MotoOrg(session, enable_scp=False)
    member = org.account("a")
    handler = fail_call(session, "organizations", failing, "ConcurrentModificationException")

    flagged, _ = attach(session, tmp_path / "first", **{"enable-policy-type": True})

    (record,) = [r for r in flagged if r["Id"] == member]
    position = WRITES.index(failing)
    assert writes(record) == ([(f"organizations:{w}", "done") for w in WRITES[:position]]
                              + [(f"organizations:{failing}", "failed")]
                              + [(f"organizations:{w}", "not-attempted") for w in WRITES[position + 1:]
                                 if w == "AttachPolicy"])
    # Posture matches the records: what was done is there, nothing else.
    enabled = any(t["Type"] == "SERVICE_CONTROL_POLICY" and t["Status"] == "ENABLED"
                  for t in org.client.list_roots()["Roots"][0]["PolicyTypes"])
    assert enabled == (position > 0)
    created = org.scps().get("rootguard-deny-root-user")
    assert bool(created) == (position > 1)
    if failing == "AttachPolicy":
        assert org.targets(created) == set()
        (left,) = [r for r in record["c7n:rootguard-actions"] if r["result"] == "left-behind"]
        assert created in left["detail"] and "not attached" in left["detail"]

    session.events.unregister(f"before-call.organizations.{failing}", handler)
    attach(session, tmp_path / "second", **{"enable-policy-type": True})
    assert list(org.scps()).count("rootguard-deny-root-user") == 1
    new_run()
    still, _ = run_policy(session, tmp_path / "check", FILTERS, name="recheck")
    assert {r["Id"] for r in still} == set()


# ------------------------------------------------------------------ two actions on one policy

def test_attach_root_scp_and_set_alternate_contact_on_one_policy(session, org, tmp_path):
    member = org.account("a")
    contacts = {"SECURITY": {"name": "Security Team", "title": "Lead", "email": "security@acme-corp.io",
                             "phone": "+1 206 555 0100"}}
    new_run()
    resources, _ = run_policy(session, tmp_path, [], [
        {"type": "attach-root-scp"}, {"type": "set-alternate-contact", "contacts": contacts}])

    by_id = {r["Id"]: r for r in resources}
    actions = [(r["action"], r["result"]) for r in by_id[member]["c7n:rootguard-actions"] if r["call"]]
    assert ("attach-root-scp", "done") in actions and ("set-alternate-contact", "done") in actions
    assert session.client("account").get_alternate_contact(
        AlternateContactType="SECURITY", AccountId=member)["AlternateContact"]["EmailAddress"] == \
        "security@acme-corp.io"
    assert MANAGEMENT in by_id


# ------------------------------------------------------------------ reuse under the scoped role

def test_the_pack_policy_is_preferred_over_another_root_scoped_policy(session, org, tmp_path):
    org.account("a")
    attach(session, tmp_path / "first", target="account")
    org.scp("aaa-team-root-deny", document(ROOT_DENY))
    second = org.account("b")

    flagged, made = attach(session, tmp_path / "second", target="account")

    assert made == {"AttachPolicy": 1}
    (record,) = [r for r in flagged if r["Id"] == second]
    (attached,) = [r for r in record["c7n:rootguard-actions"] if r["call"]]
    assert attached["policy"] == org.scps()["rootguard-deny-root-user"]


def test_reused_policy_the_role_may_not_attach_falls_back_to_the_pack_policy(session, org, tmp_path):
    member = org.account("a")
    theirs = org.scp("team-root-deny", document(ROOT_DENY))

    def deny_untagged(params, **_):
        if theirs.encode() in (params.get("body") or b""):
            from placebo.pill import FakeHttpResponse
            return FakeHttpResponse(400), {"Error": {"Code": "AccessDeniedException", "Message": "not tagged"},
                                           "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None
    session.events.register("before-call.organizations.AttachPolicy", deny_untagged)

    flagged, made = attach(session, tmp_path)

    (record,) = [r for r in flagged if r["Id"] == member]
    assert [(r["call"], r["result"]) for r in record["c7n:rootguard-actions"] if r["call"]] == [
        ("organizations:AttachPolicy", "failed"), ("organizations:CreatePolicy", "done"),
        ("organizations:AttachPolicy", "done")]
    assert any(r["result"] == "falling-back" for r in record["c7n:rootguard-actions"])
    assert org.targets(org.scps()["rootguard-deny-root-user"]) == {org.root}
    assert org.targets(theirs) == set()
