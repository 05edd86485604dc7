"""An administrator other than root, so root is never needed for daily work: ``admin-principals`` on
``aws.account``. The decision lives in ``decide/admin_path.py``.
"""
from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter
from rootguard_filters.decide.admin_path import decide_admin_path
from rootguard_filters.plumbing.evidence import RUN_CACHE, AccountEvidence, guarded, retry
from rootguard_filters.verdict import could_not_evaluate

DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def authorization_details(evidence):
    """Evidence of ``iam:GetAccountAuthorizationDetails`` (users, groups, roles, local policies), all pages."""
    def fetch():
        def call():
            merged = {key: [] for key in DETAIL_KEYS}
            paginator = evidence.client("iam").get_paginator("get_account_authorization_details")
            for page in paginator.paginate(Filter=["User", "Role", "Group", "LocalManagedPolicy"]):
                for key in DETAIL_KEYS:
                    merged[key].extend(page[key])      # members of every answer: a page without one is unreadable
            return merged
        return guarded("iam:GetAccountAuthorizationDetails", lambda: retry(call))
    return RUN_CACHE.get((evidence.account_id, "iam", "GetAccountAuthorizationDetails"), fetch)


@Account.filter_registry.register("admin-principals")
class AdminPrincipals(RootguardFilter):
    """Flags accounts where fewer than ``min-admins`` (default 1) principals other than root can
    administer the account: IAM users, and roles people or other accounts can assume (IAM Identity
    Center's ``AWSReservedSSO_*`` roles included), holding ``AdministratorAccess`` or an ``Allow`` of
    ``*`` on ``*`` (managed, inline or through a group), not cancelled by a ``Deny`` of everything or a
    narrower permissions boundary. One paginated ``iam:GetAccountAuthorizationDetails`` read.

    Not seen: SCPs/RCPs that deny the allow, resource policies, escalation paths short of ``*:*``,
    Identity Center permission sets not yet assigned to the account. A policy document that cannot be
    parsed, when no administrator was found, makes the verdict could-not-evaluate.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-only-admin
            resource: aws.account
            filters:
              - type: admin-principals
                min-admins: 1
    """

    schema = type_schema("admin-principals", **{"min-admins": {"type": "integer", "minimum": 1}})
    schema_alias = False
    permissions = ("iam:GetAccountAuthorizationDetails",)

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        details = authorization_details(evidence)
        if not details.ok:
            return could_not_evaluate(details.error)
        return decide_admin_path(details.value, evidence.account_id, int(self.data.get("min-admins", 1)))
