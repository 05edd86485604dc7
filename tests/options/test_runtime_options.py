"""c7n-org does not validate policies: every pack filter and action checks its own options when it runs."""
import glob
import json
import logging
import os

import boto3
import placebo
import pytest
import yaml
from c7n.config import Config
from c7n.policy import Policy
from c7n.resources.account import Account
from c7n.resources.org import OrgAccount

from rootguard_filters.plumbing import options
from rootguard_filters.plumbing.base import VERDICTS_FILE
from tests.placebo.make_flights import ACCOUNT, FLIGHTS

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def pack_classes():
    for resource in (Account, OrgAccount):
        for registry in (resource.filter_registry, resource.action_registry):
            for name, cls in registry.items():
                if cls.__module__.startswith("rootguard_filters"):
                    yield resource, registry, name, cls


def shipped_components():
    """Every pack filter or action as written in the shipped policy files."""
    for path in sorted(p for folder in ("policies", "remediation", "deploy")
                       for p in glob.glob(os.path.join(ROOT, folder, "*.yml"))):
        document = yaml.safe_load(open(path)) or {}
        if not isinstance(document, dict):
            continue
        for policy in document.get("policies") or []:
            resource = OrgAccount if policy["resource"] in ("aws.org-account", "org-account") else Account
            for kind, registry in (("filters", resource.filter_registry), ("actions", resource.action_registry)):
                for data in policy.get(kind) or []:
                    if isinstance(data, dict) and data.get("type") in registry \
                            and registry[data["type"]].__module__.startswith("rootguard_filters"):
                        yield f"{os.path.relpath(path, ROOT)}:{policy['name']}:{data['type']}", registry, data


@pytest.mark.parametrize("where,registry,data", list(shipped_components()), ids=lambda v: v if isinstance(v, str) else "")
def test_shipped_policies_pass_the_run_time_check(where, registry, data):
    assert options.schema_problem(registry[data["type"]].schema, data) is None


def test_every_pack_action_refuses_to_run_with_invalid_options():
    actions = [(registry, name, cls) for _, registry, name, cls in pack_classes()
               if registry is not None and issubclass(cls, options.CheckedOptions)]
    assert {name for _, name, _ in actions} >= {
        "create-root-usage-alarm", "set-alternate-contact", "attach-root-scp", "delete-root-credentials"}
    for _, name, cls in actions:
        assert getattr(cls.process, "_rootguard_checked", False), name


@pytest.mark.parametrize("data,named", [
    ({"type": "root-mfa", "states": ["hardwre"]}, "invalid option states[0]: 'hardwre' is not one of"),
    ({"type": "root-mfa", "statez": ["none"]}, "unknown option statez (options: credentials,"),
    ({"type": "root-credentials", "used-within-days": "ninety"}, "invalid option used-within-days:"),
    ({"type": "root-usage-alarm", "require-confirmed-subscription": "yes"},
     "invalid option require-confirmed-subscription:"),
])
def test_problem_names_the_option(data, named):
    problem = options.schema_problem(Account.filter_registry[data["type"]].schema, data)
    assert problem.startswith(named), problem


def run_unvalidated(filter_data, tmp_path, name, calls):
    """Run a policy the way c7n-org does: Policy.validate() but no schema validation."""
    session = boto3.Session(region_name="us-east-1")
    pill = placebo.attach(session, data_path=os.path.join(FLIGHTS, "hardware-mfa-clean"))
    pill.playback()
    session.events.register_first("before-call.*.*", lambda event_name, **kw: calls.append(event_name))
    data = {"name": "root-mfa-typo", "resource": "aws.account", "filters": [filter_data]}
    config = Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=str(tmp_path / name))
    policy = Policy(data, config, session_factory=lambda *a, **k: session)
    policy.validate()
    return policy.run(), tmp_path / name / "root-mfa-typo"


def test_typo_under_c7n_org_is_could_not_evaluate_naming_the_option_logged_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="custodian.rootguard")
    calls = []
    verdicts = []
    for account in ("first", "second"):   # two accounts of one c7n-org worker
        resources, out = run_unvalidated({"type": "root-mfa", "states": ["hardwre"]}, tmp_path, account, calls)
        assert len(resources) == 1      # flagged: an unknown stays visible, never compliant
        verdict = resources[0]["c7n:rootguard"]["root-mfa"]
        assert verdict["status"] == "could-not-evaluate"
        assert "states[0]" in verdict["reason"] and "hardwre" in verdict["reason"]
        written = json.loads((out / VERDICTS_FILE).read_text())["verdicts"]
        verdicts.append(next(iter(written.values()))["root-mfa"]["status"])
    assert verdicts == ["could-not-evaluate", "could-not-evaluate"]
    # c7n itself lists the account alias; the filter reads nothing on invalid options
    assert {c.split(".")[-1] for c in calls} == {"ListAccountAliases"}
    logged = [r for r in caplog.records if "hardwre" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert "states[0]" in logged[0].getMessage() and "root-mfa-typo" in logged[0].getMessage()


def test_valid_options_still_evaluate(tmp_path):
    resources, _ = run_unvalidated({"type": "root-mfa", "states": ["none"]}, tmp_path, "ok", [])
    assert resources == []     # hardware MFA: not flagged


class _Manager:
    data = {"name": "typo-remediation"}


@pytest.mark.parametrize("resource,name,data,option", [
    (Account, "create-root-usage-alarm", {"tier": "cls"}, "tier"),
    (Account, "set-alternate-contact", {"contacts": {"SECURITY": {"email": "a@b.c"}}, "colour": 1}, "colour"),
    (OrgAccount, "attach-root-scp", {"target": "everything"}, "target"),
    (OrgAccount, "delete-root-credentials", {"credentials": ["password"]}, "credentials[0]"),
])
def test_action_with_invalid_option_writes_nothing_and_logs_once(resource, name, data, option, caplog, monkeypatch):
    cls = resource.action_registry[name]
    action = cls({"type": name, **data}, _Manager())
    touched = []
    monkeypatch.setattr(action, "manager", _Manager())
    monkeypatch.setattr("rootguard_filters.plumbing.evidence.local_session",
                        lambda *a, **k: touched.append(a), raising=False)
    caplog.set_level(logging.ERROR, logger="custodian.rootguard")
    assert action.process([{"account_id": ACCOUNT, "Id": ACCOUNT}]) == []
    assert action.process([{"account_id": ACCOUNT, "Id": ACCOUNT}]) == []
    assert touched == []
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and option in logged[0] and "wrote nothing" in logged[0], logged


def _first_in_run(key):
    return options.first_in_run(key)


def test_c7n_org_workers_log_an_invalid_option_once_per_run():
    """c7n-org runs accounts in worker processes: only the first worker logs, not one per account."""
    import multiprocessing
    import uuid
    key = ("root-mfa-typo", "root-mfa", f"invalid option states[0] {uuid.uuid4()}")
    with multiprocessing.get_context("fork").Pool(3) as pool:
        firsts = pool.map(_first_in_run, [key] * 6)
    assert firsts.count(True) == 1
