"""The audit policies in policies/: valid, read-only, one per catalogue control, metadata from the catalogue."""
from pathlib import Path

import pytest
import yaml
from c7n import schema as c7n_schema
from c7n.config import Config
from c7n.policy import Policy

from rootguard_filters import catalog

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"


def load_policies():
    found = {}
    for path in sorted(POLICY_DIR.glob("*.yml")):
        for policy in yaml.safe_load(path.read_text())["policies"]:
            assert policy["name"] not in found, f"duplicate policy {policy['name']}"
            found[policy["name"]] = policy
    return found


POLICIES = load_policies()


def schema_errors(data):
    return c7n_schema.validate(data, c7n_schema.generate())


@pytest.mark.parametrize("path", sorted(POLICY_DIR.glob("*.yml")), ids=lambda p: p.name)
def test_policy_files_validate(path):
    assert schema_errors(yaml.safe_load(path.read_text())) == []


def test_every_catalogue_control_has_its_policy():
    assert sorted(POLICIES) == sorted(c.id for c in catalog.CONTROLS)


@pytest.mark.parametrize("control", catalog.CONTROLS, ids=lambda c: c.id)
def test_policy_metadata_is_the_catalogue_row(control):
    policy = POLICIES[control.id]
    assert policy["metadata"] == control.policy_metadata()
    assert policy["resource"] in (control.resource, control.resource.replace("aws.", ""))
    assert policy.get("description", "").strip()
    used = {f.get("type") for f in policy.get("filters", []) if isinstance(f, dict)}
    assert set(control.filters) <= used


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_audit_policies_only_read(name, tmp_path):
    policy = POLICIES[name]
    assert not policy.get("actions"), "policies/ holds read-only audit policies"
    assert policy.get("mode", {}).get("type", "pull") == "pull"
    p = Policy(policy, Config.empty(account_id="123456789012", region="us-east-1", output_dir=str(tmp_path)))
    p.validate()
    writes = [perm for perm in p.get_permissions()
              if perm.split(":")[1].startswith(("Put", "Create", "Delete", "Update", "Attach", "Enable",
                                                "Disable", "Set", "Deactivate", "Tag", "Untag"))]
    assert writes == []


@pytest.mark.parametrize("bad, option", [
    ({"type": "root-mfa", "states": ["bogus"]}, "states"),
    ({"type": "root-mfa", "credentials": ["passkey"]}, "credentials"),
    ({"type": "root-credentials", "used-within-days": 0}, "used-within-days"),
    ({"type": "root-credentials", "acess-keys": True}, "acess-keys"),
    ({"type": "root-credentials", "report-wait": "soon", "password": True}, "report-wait"),
])
def test_bad_options_are_rejected_naming_the_option(bad, option):
    errors = schema_errors({"policies": [{"name": "bad", "resource": "aws.account", "filters": [bad]}]})
    assert errors, "a bad option must not validate"
    assert option in str(errors[0])


def test_root_credentials_without_any_condition_is_rejected():
    from c7n.exceptions import PolicyValidationError
    data = {"name": "empty", "resource": "aws.account", "filters": [{"type": "root-credentials"}]}
    with pytest.raises(PolicyValidationError, match="at least one of"):
        Policy(data, Config.empty(account_id="123456789012", region="us-east-1")).validate()
