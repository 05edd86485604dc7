"""Centralized root access (pure): which features ``iam:ListOrganizationsFeatures`` reports enabled."""
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant, not_applicable

ROOT_CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
ROOT_SESSIONS = "RootSessions"
FEATURES = (ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS)

# ListOrganizationsFeatures errors that are facts about the organization, not failed reads.
NOT_MANAGEMENT = "AccountNotManagementOrDelegatedAdministratorException"
NO_ORGANIZATION = "OrganizationNotFoundException"
# Centralized root access needs trusted access for iam.amazonaws.com and an all-features
# organization: without them no feature can be enabled, so the features are off.
FEATURES_IMPOSSIBLE = {
    "ServiceAccessNotEnabledException":
        "trusted access for iam.amazonaws.com is not enabled in AWS Organizations",
    "OrganizationNotInAllFeaturesModeException":
        "the organization does not have all features enabled",
}


def decide_root_credentials_management(features, error=None, error_code=None,
                                       required=(ROOT_CREDENTIALS_MANAGEMENT,)):
    """Verdict from a ListOrganizationsFeatures response (or the error it raised)."""
    required = list(required)
    if error is not None:
        if error_code == NOT_MANAGEMENT:
            return not_applicable(
                "not the management account or the IAM delegated administrator: centralized root "
                "access is managed from there", required=required)
        if error_code == NO_ORGANIZATION:
            return not_applicable("the account is not in an AWS organization", required=required)
        if error_code in FEATURES_IMPOSSIBLE:
            return non_compliant(
                f"{', '.join(required)} not enabled: {FEATURES_IMPOSSIBLE[error_code]} ({error})",
                required=required, enabled=[], missing=required)
        return could_not_evaluate(error, required=required)
    # Always in a real answer (empty when none is enabled): without it nothing says what is enabled.
    if "EnabledFeatures" not in features:
        return could_not_evaluate("iam:ListOrganizationsFeatures: unreadable response: no EnabledFeatures",
                                  required=required)
    enabled = list(features["EnabledFeatures"])
    missing = [f for f in required if f not in enabled]
    details = {"organization_id": features.get("OrganizationId"), "enabled": enabled,
               "required": required, "missing": missing}
    if missing:
        return non_compliant(f"centralized root access feature(s) not enabled: {', '.join(missing)}",
                             **details)
    return compliant(f"centralized root access feature(s) enabled: {', '.join(required)}", **details)
