"""Centralized root access: ``root-credentials-management`` on ``aws.account``.

The decision lives in ``decide/centralized_root.py``.
"""
from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter
from rootguard_filters.decide.centralized_root import (
    FEATURES, ROOT_CREDENTIALS_MANAGEMENT, decide_root_credentials_management)
from rootguard_filters.plumbing.evidence import RUN_CACHE, AccountEvidence, guarded, retry


def organizations_features(evidence):
    """``iam:ListOrganizationsFeatures`` as Evidence (errors kept with their code)."""
    def fetch():
        return guarded("iam:ListOrganizationsFeatures",
                       lambda: retry(evidence.client("iam").list_organizations_features),
                       expected_codes=("AccountNotManagementOrDelegatedAdministratorException",))
    return RUN_CACHE.get((evidence.account_id, "iam", "ListOrganizationsFeatures"), fetch)


@Account.filter_registry.register("root-credentials-management")
class RootCredentialsManagement(RootguardFilter):
    """Flags the account when a selected centralized root access feature is not enabled.

    Reads ``iam:ListOrganizationsFeatures`` (``RootCredentialsManagement``, ``RootSessions``);
    ``features`` selects what must be enabled (default ``[RootCredentialsManagement]``). Member
    accounts (``AccountNotManagementOrDelegatedAdministratorException``) and accounts outside an
    organization are not-applicable; missing trusted access for IAM or an organization without all
    features means the features are off (non-compliant); any other error is could-not-evaluate.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-credentials-management-disabled
            resource: aws.account
            filters:
              - type: root-credentials-management
                features: [RootCredentialsManagement, RootSessions]
    """

    schema = type_schema(
        "root-credentials-management",
        features={"type": "array", "minItems": 1, "uniqueItems": True,
                  "items": {"enum": list(FEATURES)}})
    schema_alias = False
    permissions = ("iam:ListOrganizationsFeatures",)

    def verdict(self, resource):
        features = organizations_features(AccountEvidence(self.manager))
        return decide_root_credentials_management(
            features.value, features.error, features.error_code,
            self.data.get("features", [ROOT_CREDENTIALS_MANAGEMENT]))
