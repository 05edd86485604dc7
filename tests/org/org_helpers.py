"""Helpers for the organization guardrail tests: moto orgs, placebo flight data, policy runs.

The offline environment and cache resets come from tests/conftest.py.
"""
import json
import os

import boto3
import botocore.loaders
import botocore.session
import placebo
from c7n.config import Config
from c7n.policy import Policy
from c7n.utils import reset_session_cache

import rootguard_filters._plugins  # noqa: F401  (registers the filters and actions)
from rootguard_filters.plumbing import evidence
from rootguard_filters.plumbing.base import VERDICTS_FILE
from rootguard_filters.plumbing.writes import FixesFailed

MANAGEMENT = "123456789012"   # moto's default account, the organization's management account
REGION = "us-east-1"


def new_run():
    """What a new custodian process starts with."""
    reset_session_cache()
    evidence.reset()


def run_policy(session, out, filters, actions=(), resource="aws.org-account", dryrun=False,
               name="org-test", account_id=MANAGEMENT):
    """Run one policy in-process; (flagged resources, {resource id: {filter: verdict}})."""
    data = {"name": name, "resource": resource, "filters": list(filters), "actions": list(actions)}
    config = Config.empty(account_id=account_id, region=REGION, output_dir=str(out), dryrun=dryrun)
    policy = Policy(data, config, session_factory=lambda *a, **k: session)
    policy.validate()
    try:
        resources = policy.run()
    except FixesFailed as failure:   # a fix did not happen: the run ends non-zero, records made
        resources = failure.resources
    path = os.path.join(str(out), name, VERDICTS_FILE)
    verdicts = {}
    if os.path.exists(path):
        with open(path) as f:
            verdicts = json.load(f)["verdicts"]
    return resources, verdicts


# botocore parses each service model once per session (~0.5 s per service); tests share one loader.
_LOADER = botocore.loaders.create_loader()


def new_session():
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, region_name=REGION)


def placebo_session(data_path):
    """A boto3 session that answers every call from the flight data in ``data_path``."""
    session = new_session()
    pill = placebo.attach(session, data_path=str(data_path))
    pill.playback()
    return session


def write_flight(path, responses):
    """Write placebo files: ``{"svc.Operation": [data or (status, data), ...]}``."""
    path.mkdir(parents=True, exist_ok=True)
    for name, items in responses.items():
        for index, item in enumerate(items, start=1):
            status, data = item if isinstance(item, tuple) else (200, item)
            data = {**data, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": f"req-{index}"}}
            (path / f"{name}_{index}.json").write_text(
                json.dumps({"status_code": status, "data": data}, default=str))
    return path


def error(code, message, status=400):
    return (status, {"Error": {"Code": code, "Message": message, "Type": "Sender"}})


class CallCounter:
    """Counts API calls per service through the session's botocore event system.

    ``after-call`` fires once per call (success or error) for moto and placebo alike; placebo
    answers in ``before-call``, so a counter there could be skipped.
    """

    def __init__(self, session, service="organizations"):
        self.calls = {}
        session.events.register(f"after-call.{service}", self._count)

    def _count(self, model, **_):
        self.calls[model.name] = self.calls.get(model.name, 0) + 1

    @property
    def total(self):
        return sum(self.calls.values())


def fail_call(session, service, operation, code, message="injected failure", status=400):
    """Make every ``service:operation`` call on clients made from ``session`` fail with ``code``."""
    from placebo.pill import FakeHttpResponse

    def respond(**_):
        return FakeHttpResponse(status), {"Error": {"Code": code, "Message": message},
                                          "ResponseMetadata": {"HTTPStatusCode": status}}
    session.events.register(f"before-call.{service}.{operation}", respond)
    return respond


def answer_call(session, service, operation, answers):
    """Answer the next ``service:operation`` calls with ``answers`` (``[(status, data)]``) in turn;
    later calls go through. ``data`` is the whole parsed answer: a member left out stays missing."""
    from placebo.pill import FakeHttpResponse
    pending = list(answers)

    def respond(**_):
        if not pending:
            return None
        status, data = pending.pop(0)
        return FakeHttpResponse(status), {**data, "ResponseMetadata": {"HTTPStatusCode": status}}
    session.events.register(f"before-call.{service}.{operation}", respond)


def skip_tag_lookup(session):
    """Answer c7n's tag augment (tagging:GetResources) with no tags.

    moto's GetResources scans every service backend in every region (seconds per call); the
    guardrails read no tags, so this only keeps the moto tests fast.
    """
    from placebo.pill import FakeHttpResponse
    session.events.register(
        "before-call.tagging.GetResources",
        lambda **_: (FakeHttpResponse(200), {"ResourceTagMappingList": [], "PaginationToken": ""}))


def moto_session():
    session = new_session()
    skip_tag_lookup(session)
    return session


class MotoOrg:
    """A moto organization built through the API, as an administrator would."""

    def __init__(self, session, enable_scp=True):
        self.client = session.client("organizations")
        self.client.create_organization(FeatureSet="ALL")
        self.root = self.client.list_roots()["Roots"][0]["Id"]
        if enable_scp:
            self.client.enable_policy_type(RootId=self.root, PolicyType="SERVICE_CONTROL_POLICY")

    def ou(self, name, parent=None):
        return self.client.create_organizational_unit(
            ParentId=parent or self.root, Name=name)["OrganizationalUnit"]["Id"]

    def account(self, name, parent=None):
        account_id = self.client.create_account(
            AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        if parent:
            self.client.move_account(AccountId=account_id, SourceParentId=self.root,
                                     DestinationParentId=parent)
        return account_id

    def scp(self, name, content, *targets):
        if not isinstance(content, str):
            content = json.dumps(content)
        policy_id = self.client.create_policy(
            Name=name, Type="SERVICE_CONTROL_POLICY", Description=name,
            Content=content)["Policy"]["PolicySummary"]["Id"]
        for target in targets:
            self.client.attach_policy(PolicyId=policy_id, TargetId=target)
        return policy_id

    def targets(self, policy_id):
        return {t["TargetId"] for t in self.client.list_targets_for_policy(PolicyId=policy_id)["Targets"]}

    def scps(self):
        return {p["Name"]: p["Id"] for p in self.client.list_policies(
            Filter="SERVICE_CONTROL_POLICY")["Policies"]}


_SCHEMA = []


def validation_errors(resource, filter_or_action, kind="filters"):
    """Error text ``custodian validate`` gives for a one-filter (or one-action) policy, or ''."""
    from c7n import schema
    if not _SCHEMA:
        _SCHEMA.append(schema.generate())
    data = {"policies": [{"name": "check", "resource": resource, kind: [filter_or_action]}]}
    return "\n".join(str(e) for e in schema.validate(data, _SCHEMA[0]))
