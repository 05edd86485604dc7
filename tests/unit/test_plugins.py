"""The pack's module table (``_plugins.PROVIDES``) matches what the modules register, and a Lambda
handler imports only the modules its policy names."""
import json
import subprocess
import sys
from pathlib import Path

from c7n.policy import execution
from c7n.resources.account import Account
from c7n.resources.org import OrgAccount

import rootguard_filters
from rootguard_filters import _plugins
from rootguard_filters.cli.demo import load_policies

REPO = Path(__file__).resolve().parents[2]
RESOURCES = {"aws.account": Account, "aws.org-account": OrgAccount}


def registered_by_pack():
    found = set()
    for resource, manager in RESOURCES.items():
        for kind, registry in (("filter", manager.filter_registry), ("action", manager.action_registry)):
            for name, klass in registry.items():
                if klass.__module__.startswith("rootguard_filters."):
                    found.add((klass.__module__, resource, kind, name))
    for name, klass in execution.items():
        if klass.__module__.startswith("rootguard_filters."):
            found.add((klass.__module__, "*", "mode", name))
    return found


def test_table_lists_exactly_what_each_module_registers():
    rootguard_filters.register()
    table = {(module, *entry) for module, entries in _plugins.PROVIDES.items() for entry in entries}
    assert registered_by_pack() == table


def test_names_in_finds_nested_filters_and_shorthand_actions_and_nothing_else():
    policy = {"name": "p", "resource": "aws.account", "mode": {"type": "rootguard-periodic"},
              "filters": [{"not": [{"or": [{"type": "root-mfa"}, {"type": "value", "key": "x"}]}]}],
              "actions": ["set-alternate-contact", {"type": "notify"}]}
    assert _plugins.names_in([policy]) == {"root-mfa", "set-alternate-contact", "rootguard-periodic"}
    assert _plugins.modules_for({"root-mfa", "set-alternate-contact", "rootguard-periodic"}) == [
        "rootguard_filters.controls.root_credentials", "rootguard_filters.controls.contacts", "rootguard_filters.deployment.lambda_modes"]


def test_every_shipped_policy_names_only_known_pack_names():
    for path in ("policies", "deploy", "remediation"):
        for policy in load_policies(REPO / path):
            used = {f["type"] for f in policy.get("filters", []) if isinstance(f, dict) and "type" in f}
            pack_like = {n for n in used if n.startswith(("root-", "member-", "alternate-"))}
            assert pack_like <= _plugins.NAMES, policy["name"]


CHILD = """
import json, sys
import rootguard_filters
from rootguard_filters import _autoload
_autoload._uninstall()   # as in Lambda: no .pth, nothing registers the whole pack behind our back
rootguard_filters.register(set(json.loads(sys.argv[1])))
from c7n.config import Config
from c7n.policy import Policy
Policy(json.loads(sys.argv[2]), Config.empty(account_id="123456789012", region="us-east-1")).validate()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("rootguard_filters."))))
"""


def test_registering_by_name_imports_only_the_modules_the_policy_needs():
    policy = {"name": "root-mfa-missing", "resource": "aws.account",
              "filters": [{"type": "root-mfa", "states": ["none"]}]}
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(["root-mfa"]), json.dumps(policy)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    loaded = set(json.loads(out.stdout))
    assert "rootguard_filters.controls.root_credentials" in loaded
    assert not loaded & {"rootguard_filters.controls.alarm_chain", "rootguard_filters.controls.contacts",
                         "rootguard_filters.controls.root_scp", "rootguard_filters.controls.member_root"}
