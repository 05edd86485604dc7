"""decide_admin_path: who besides root can administer the account (GetAccountAuthorizationDetails shapes)."""
import json
from urllib.parse import quote

import pytest

from rootguard_filters.decide.admin_path import decide_admin_path

ACCT = "444455556666"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SAML = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML",
        "Principal": {"Federated": f"arn:aws:iam::{ACCT}:saml-provider/AWSSSO_abc_DO_NOT_DELETE"}}]}
EC2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
       "Principal": {"Service": "ec2.amazonaws.com"}}]}
CROSS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}]}


def role(name, trust, attached=(), inline=None, path="/", boundary=None):
    entry = {"RoleName": name, "Path": path, "Arn": f"arn:aws:iam::{ACCT}:role{path}{name}",
             "AssumeRolePolicyDocument": trust, "RolePolicyList": inline or [],
             "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached]}
    if boundary:
        entry["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return entry


def details(roles=(), users=(), groups=(), policies=()):
    return {"RoleDetailList": list(roles), "UserDetailList": list(users), "GroupDetailList": list(groups),
            "Policies": list(policies)}


def test_identity_center_admin_role_counts():
    v = decide_admin_path(details([role("AWSReservedSSO_AdministratorAccess_0a1b2c", SAML, [ADMIN_ARN],
                                        path="/aws-reserved/sso.amazonaws.com/")]), ACCT)
    assert v.status == "compliant" and v.details["administrators"][0]["type"] == "identity-center-role"


def test_only_root_when_nothing_grants_everything():
    v = decide_admin_path(details([role("ReadOnly", CROSS, ["arn:aws:iam::aws:policy/ReadOnlyAccess"])]), ACCT)
    assert v.status == "non-compliant" and "root is the only administrator" in v.reason


@pytest.mark.parametrize("entry", [
    role("InstanceAdmin", EC2, [ADMIN_ARN]),                                   # only a service assumes it
    role("AWSServiceRoleForSupport", CROSS, [ADMIN_ARN], path="/aws-service-role/support.amazonaws.com/"),
    role("Bounded", CROSS, [ADMIN_ARN], boundary="arn:aws:iam::aws:policy/ReadOnlyAccess"),
    role("Denied", CROSS, [ADMIN_ARN], inline=[{"PolicyName": "deny", "PolicyDocument": {
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}}]),
    role("NotAction", CROSS, inline=[{"PolicyName": "power", "PolicyDocument": {
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}}]),
])
def test_principals_that_do_not_count(entry):
    assert decide_admin_path(details([entry]), ACCT).status == "non-compliant"


def test_customer_managed_star_policy_url_encoded_and_inline_star_colon_star():
    local = {"PolicyName": "Everything", "Arn": f"arn:aws:iam::{ACCT}:policy/Everything",
             "PolicyVersionList": [{"IsDefaultVersion": False, "Document": {"Statement": []}},
                                   {"IsDefaultVersion": True, "Document": quote(json.dumps(ALL))}]}
    v = decide_admin_path(details([role("BreakGlass", CROSS, [local["Arn"]])], policies=[local]), ACCT)
    assert v.status == "compliant" and v.details["administrators"][0]["via"] == ["Everything"]
    inline = [{"PolicyName": "all", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["*:*"],
                                                                      "Resource": ["*"]}}}]
    assert decide_admin_path(details([role("X", CROSS, inline=inline)]), ACCT).status == "compliant"


def test_user_admin_through_a_group():
    group = {"GroupName": "Admins", "GroupPolicyList": [], "AttachedManagedPolicies": [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}]}
    user = {"UserName": "ops", "Arn": f"arn:aws:iam::{ACCT}:user/ops", "GroupList": ["Admins"],
            "UserPolicyList": [], "AttachedManagedPolicies": []}
    v = decide_admin_path(details(users=[user], groups=[group]), ACCT)
    assert v.status == "compliant" and "group Admins" in v.details["administrators"][0]["via"][0]


def test_min_admins_and_unreadable_documents():
    one = details([role("Admin", CROSS, [ADMIN_ARN])])
    assert decide_admin_path(one, ACCT, min_admins=2).status == "non-compliant"
    broken = details([role("Odd", CROSS, inline=[{"PolicyName": "bad", "PolicyDocument": "{not json"}])])
    assert decide_admin_path(broken, ACCT).status == "could-not-evaluate"
