"""The pack's Lambda execution modes: ``rootguard-periodic`` and ``rootguard-cloudtrail``.

They are c7n's ``periodic`` and ``cloudtrail`` modes (same options, same handler contract) plus what
an always-on root alert needs and c7n cannot do:

- **The triggering event reaches the actions.** c7n's periodic mode runs the policy as a pull and calls
  its actions without the event, so a ``notify`` queued by a pattern-triggered function carries
  ``"event": null``. ``rootguard-periodic`` hands the CloudTrail event to every event-aware action
  when an event pattern (not the schedule) triggered it.
- **Read-only management events.** EventBridge delivers read-only management events (Get/List/Describe,
  ``sts:AssumeRoot``...) only to rules in state ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS``; c7n
  always writes ``ENABLED``. ``rule-state`` sets the state the rule is created, updated and resumed in.
- **Member accounts.** On an event from another account (an organization-wide bus), ``member-role`` is
  assumed into the account that emitted it, as c7n's cloudtrail mode does; a scheduled run audits the
  account the function runs in (deploy it per account with c7n-org, see deploy/README.md).
- **A slim archive.** The function ships the pack without its local-AWS sandbox and dev tooling.
- **No deaf deploys.** A ``{rootguard_...}`` variable left unset (no ``--vars-file`` value, no c7n-org
  account ``vars:``) would deploy literally and fail at the first event (c7n's notify raises KeyError on
  ``{rootguard_notify_queue}``): once c7n has expanded the policy's variables, ``validate()`` refuses it
  naming the variables, and ``provision()`` refuses before creating anything.

Example::

    policies:
      - name: rootguard-root-api-activity
        resource: aws.account
        mode:
          type: rootguard-periodic
          rule-state: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
          role: arn:aws:iam::{account_id}:role/rootguard-lambda
          packages: [rootguard_filters]
          handler: rootguard_filters.lambda_handler.run
          pattern:
            detail-type: [AWS API Call via CloudTrail]
            detail: {userIdentity: {type: [Root]}}
        actions:
          - type: notify
            subject: "root called {{ event.detail.eventName }}"
            to: [security@example.com]
            transport: {type: sqs, queue: "{rootguard_notify_queue}"}
"""
import functools
import re
import time

from c7n import mu
from c7n.actions import EventAction
from c7n.cwe import CloudWatchEvents
from c7n.exceptions import PolicyValidationError
from c7n.policy import CloudTrailMode, LambdaMode, PeriodicMode, PullMode, execution
from c7n.utils import type_schema

ENABLED = "ENABLED"
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
RULE_STATES = (ENABLED, ALL_MANAGEMENT_EVENTS)
SCHEDULED_EVENT = "Scheduled Event"
# Local-AWS sandbox (moto fill-ins) and dev tooling: never imported by the Lambda handler.
ARCHIVE_EXCLUDES = ("rootguard_filters/sandbox/", "rootguard_filters/cli/demo.py")
RULE_STATE_SCHEMA = {"rule-state": {"enum": list(RULE_STATES)}}


# The pack's deploy variables: {rootguard_notify_queue}, {rootguard_notify_to}, {rootguard_approvals}...
PACK_VARIABLE = re.compile(r"\{(rootguard_[A-Za-z0-9_]*)\}")
# Variables c7n fills in for every policy (Policy.get_variables): if one is still there, the data was
# never expanded (``custodian validate`` reads the raw file, without any vars file).
C7N_VARIABLE = re.compile(r"\{(account_id|region|partition)\}")
# Options where an unset variable means "none" on purpose: the sign-in alert says no register is set.
OPTIONAL_VARIABLES = {"root-signin-approval": ("approvals",)}


def unset_variables(data):
    """Sorted names of the ``{rootguard_*}`` variables left in policy data (outside optional options)."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            optional = OPTIONAL_VARIABLES.get(value.get("type"), ()) if isinstance(value.get("type"), str) else ()
            for key, item in value.items():
                if key not in optional:
                    walk(key)
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.update(PACK_VARIABLE.findall(value))

    walk(data)
    return sorted(found)


def unset_variables_message(policy_name, names):
    listed = ", ".join(names)
    return (f"policy:{policy_name} has unset variables {listed}: give each a value (custodian run --vars-file, "
            f"c7n-org account vars:) before deploying; deployed as is, the function would alert no one")


def variables_expanded(data):
    """False when c7n's own variables (``{account_id}``...) are still in the data: nothing was expanded."""
    return not C7N_VARIABLE.search(repr(data))


def excluded_from_archive(archive_path):
    return archive_path.replace("\\", "/").startswith(ARCHIVE_EXCLUDES)


def lambda_archive(packages):
    """c7n's archive of ``c7n`` plus ``packages``, without the pack's sandbox and dev tooling."""
    archive = mu.PythonPackageArchive()
    archive.add_modules(excluded_from_archive, sorted({"c7n", *(packages or ())}))
    return archive


def triggered_by_event(event):
    """True for an EventBridge event matched by a pattern; False for the schedule (or a manual run)."""
    return bool(isinstance(event, dict) and event.get("detail-type") and event["detail-type"] != SCHEDULED_EVENT)


class _RuleStateClient:
    """The events client, with every rule write in ``state`` (c7n's event source hard-codes ENABLED)."""

    def __init__(self, client, state):
        self._client = client
        self._state = state

    def put_rule(self, **params):
        return self._client.put_rule(**{**params, "State": self._state})

    def enable_rule(self, Name, **params):
        rule = self._client.describe_rule(Name=Name, **params)
        keep = {k: rule[k] for k in ("EventPattern", "ScheduleExpression", "Description") if rule.get(k)}
        return self.put_rule(Name=Name, **keep, **params)

    def __getattr__(self, name):
        return getattr(self._client, name)


class RuleSource(mu.CloudWatchEventSource):
    """c7n's EventBridge rule source, rendering the pattern of the c7n mode and writing ``rule-state``."""

    def __init__(self, data, session_factory, c7n_type, state=ENABLED):
        super().__init__({**data, "type": c7n_type}, session_factory)
        self.state = state

    @property
    def client(self):
        return _RuleStateClient(super().client, self.state)

    def delta(self, src, tgt):
        return mu.CloudWatchEventSource.delta(src, {**tgt, "State": self.state})


class RootguardPolicyLambda(mu.PolicyLambda):
    """c7n's PolicyLambda with the slim archive and the rule source above."""

    def __init__(self, policy):
        self.policy = policy
        self.archive = lambda_archive(self.packages)

    def get_events(self, session_factory):
        mode = self.policy.data["mode"]
        return [RuleSource(mode, session_factory, self.policy.get_execution_mode().c7n_type,
                           mode.get("rule-state", ENABLED))]


class _RootguardLambdaMode:
    """What both pack modes add to their c7n mode."""

    c7n_type = None

    @property
    def policy_lambda(self):
        return RootguardPolicyLambda

    def check_variables(self, expanded_only):
        """Refuse unset ``{rootguard_*}`` variables; before expansion (custodian validate) only warn."""
        names = unset_variables(self.policy.data)
        if not names:
            return
        message = unset_variables_message(self.policy.name, names)
        if expanded_only and not variables_expanded(self.policy.data):
            self.policy.log.warning("%s (not yet expanded: checked again when deployed)", message)
            return
        raise PolicyValidationError(message)

    def validate(self):
        super().validate()
        self.check_variables(expanded_only=True)

    def provision(self):
        self.check_variables(expanded_only=False)
        return super().provision()


@execution.register("rootguard-periodic")
class RootguardPeriodicMode(_RootguardLambdaMode, PeriodicMode):
    """c7n's ``periodic`` mode, also triggered by ``pattern``; pattern-triggered runs pass the event on."""

    c7n_type = "periodic"
    schema = type_schema("rootguard-periodic", schedule={"type": "string"}, **RULE_STATE_SCHEMA,
                         rinherit=LambdaMode.schema)

    def validate(self):
        mode = self.policy.data["mode"]
        if not (mode.get("schedule") or mode.get("pattern")):
            raise PolicyValidationError(
                f"policy:{self.policy.name} mode rootguard-periodic needs a schedule, a pattern or both")
        super().validate()

    def run(self, event, lambda_context):
        if not triggered_by_event(event):
            return PullMode.run(self)
        self.assume_member(event)
        actions = [a for a in self.policy.resource_manager.actions if isinstance(a, EventAction)]
        for action in actions:
            action.process = functools.partial(type(action).process, action, event=event)
        try:
            return PullMode.run(self)
        finally:
            for action in actions:
                del action.process


@execution.register("rootguard-cloudtrail")
class RootguardCloudTrailMode(_RootguardLambdaMode, CloudTrailMode):
    """c7n's ``cloudtrail`` mode with ``rule-state`` and the slim archive."""

    c7n_type = "cloudtrail"
    schema = type_schema("rootguard-cloudtrail", **RULE_STATE_SCHEMA, rinherit=CloudTrailMode.schema)

    def resolve_resources(self, event):
        # LambdaMode's version asks c7n's get_ids, which knows only c7n's own mode names.
        self.assume_member(event)
        if self.policy.data["mode"].get("delay"):
            time.sleep(self.policy.data["mode"]["delay"])
        ids = CloudWatchEvents.get_trail_ids(event, self.policy.data["mode"])
        ids = [i for i in (ids if isinstance(ids, (list, tuple)) else [ids]) if i]
        ids = self.policy.resource_manager.match_ids(ids)
        return self.policy.resource_manager.get_resources(ids) if ids else []
