"""root-credentials-management on aws.account, from placebo flight data shaped like IAM's answers."""
import pytest

from org_helpers import error, placebo_session, run_policy, validation_errors, write_flight

ACCOUNT = "111111111111"


def run(tmp_path, features_response, **options):
    flight = write_flight(tmp_path / "flight", {
        "iam.ListAccountAliases": [{"AccountAliases": ["example"], "IsTruncated": False}],
        "iam.ListOrganizationsFeatures": [features_response],
    })
    session = placebo_session(flight)
    flagged, verdicts = run_policy(
        session, tmp_path / "out", [{"type": "root-credentials-management", **options}],
        resource="aws.account", account_id=ACCOUNT)
    return flagged, verdicts[ACCOUNT]["root-credentials-management"]


def features(*enabled):
    return {"OrganizationId": "o-a1b2c3d4e5", "EnabledFeatures": list(enabled)}


def test_management_account_with_root_credentials_management_enabled_passes(tmp_path):
    flagged, verdict = run(tmp_path, features("RootCredentialsManagement", "RootSessions"))
    assert flagged == []
    assert verdict["status"] == "compliant"
    assert verdict["details"]["enabled"] == ["RootCredentialsManagement", "RootSessions"]


def test_management_account_with_no_feature_enabled_is_flagged(tmp_path):
    flagged, verdict = run(tmp_path, features())
    assert len(flagged) == 1
    assert verdict["status"] == "non-compliant"
    assert verdict["details"]["missing"] == ["RootCredentialsManagement"]


def test_features_option_requires_root_sessions_too(tmp_path):
    flagged, verdict = run(tmp_path, features("RootCredentialsManagement"),
                           features=["RootCredentialsManagement", "RootSessions"])
    assert len(flagged) == 1
    assert "RootSessions" in verdict["reason"]


def test_answer_without_enabled_features_is_could_not_evaluate_naming_the_call(tmp_path):
    # real answers always list EnabledFeatures (empty when none is on): without it nothing is known
    flagged, verdict = run(tmp_path, {"OrganizationId": "o-a1b2c3d4e5"})
    assert len(flagged) == 1
    assert verdict["status"] == "could-not-evaluate"
    assert verdict["reason"] == "iam:ListOrganizationsFeatures: unreadable response: no EnabledFeatures"


def test_member_account_is_not_applicable_not_an_error(tmp_path):
    flagged, verdict = run(tmp_path, error(
        "AccountNotManagementOrDelegatedAdministratorException",
        "The account is not the management account or a delegated administrator."))
    assert flagged == []
    assert verdict["status"] == "not-applicable"


def test_iam_trusted_access_disabled_means_the_feature_is_off(tmp_path):
    flagged, verdict = run(tmp_path, error(
        "ServiceAccessNotEnabledException",
        "The service access is not enabled for iam.amazonaws.com"))
    assert len(flagged) == 1
    assert verdict["status"] == "non-compliant"
    assert "trusted access" in verdict["reason"]


def test_access_denied_is_could_not_evaluate_naming_the_call(tmp_path):
    flagged, verdict = run(tmp_path, error("AccessDenied", "not authorized", status=403))
    assert len(flagged) == 1
    assert verdict["status"] == "could-not-evaluate"
    assert verdict["reason"].startswith("iam:ListOrganizationsFeatures failed: AccessDenied")


@pytest.mark.parametrize("bad", [["RootEverything"], []])
def test_unknown_feature_names_are_rejected_by_validation(bad):
    errors = validation_errors("aws.account", {"type": "root-credentials-management", "features": bad})
    assert errors
