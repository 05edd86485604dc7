"""Every write an action makes (or, under ``--dryrun``, would make) is a record.

A record is one dict: ``action``, ``account``, ``call`` (``service:Operation``, None for a decision that
made no call), ``target``, ``result`` and ``detail``, plus what the action adds. Results:

* ``done`` — the call succeeded; ``planned`` — dryrun, the call would be made;
* ``failed`` — the call failed (``detail`` names the call and error); ``not-attempted`` — a write that
  was due but was not made because an earlier one failed (so the account is never left half-done
  without saying which half);
* anything else (``skipped``, ``unchanged``, ...) — a decision, no call.

Records go on each resource under ``c7n:rootguard-actions`` (a list shared by every rootguard action
of a policy, so two actions on one policy compose) and are what ``process()`` returns, so c7n writes
them to the policy's ``action-<name>`` file.

c7n skips actions altogether under ``custodian run --dryrun``; :class:`RecordedAction` appends a last
filter that, in dryrun pull runs only, asks the policy's rootguard actions for their plan, so a dry
run shows what would be written (in ``resources.json`` and the ``action-<name>`` files).
"""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from c7n import utils
from c7n.actions import BaseAction
from c7n.filters import Filter

from rootguard_filters.plumbing.evidence import RUN_CACHE, describe_error, retry
from rootguard_filters.plumbing.options import CheckedOptions

log = logging.getLogger("custodian.rootguard")

ACTIONS_KEY = "c7n:rootguard-actions"
DONE, PLANNED, FAILED, NOT_ATTEMPTED = "done", "planned", "failed", "not-attempted"
WRITE_RESULTS = (DONE, PLANNED, FAILED, NOT_ATTEMPTED)


class WriteFailed(Exception):
    """A write failed; the record is already made. ``str()`` names the call and the error."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class WriteLog:
    """The records of one action run; writes go through :meth:`write` so none is unrecorded."""

    def __init__(self, action_type, dryrun, caller_account=None):
        self.action_type = action_type
        self.dryrun = dryrun
        self.caller_account = caller_account
        self.records = []

    def note(self, resources, account, result, detail, call=None, target=None, **extra):
        """Record a decision (or a write) on each resource; returns the record."""
        record = {"action": self.action_type, "account": account, "call": call, "target": target,
                  "result": result, "detail": detail, **extra}
        self.records.append(record)
        for resource in resources:
            annotations = resource.get(ACTIONS_KEY)
            if not isinstance(annotations, list):
                annotations = resource[ACTIONS_KEY] = []
            annotations.append(record)
        return record

    def write(self, resources, account, call, target, detail, method, extra=None, **params):
        """Make one write (unless dryrun) and record it (with ``extra`` keys); its response, or
        WriteFailed after recording."""
        extra = extra or {}
        if self.dryrun:
            self.note(resources, account, PLANNED, detail, call, target, **extra)
            return None
        try:
            response = retry(method, **params)
        except (ClientError, BotoCoreError) as error:
            message, code = describe_error(call, error)
            log.error("rootguard: %s: %s on %s: %s", self.action_type, account, target, message)
            self.note(resources, account, FAILED, message, call, target, error_code=code, **extra)
            raise WriteFailed(message, code) from error
        finally:
            # Later policies of this run must read what is there now, whatever happened: the
            # target account's reads and the caller's (Organizations reads are keyed by it).
            for cached in {account, self.caller_account} - {None}:
                RUN_CACHE.forget_account(cached)
        self.note(resources, account, DONE, detail, call, target, **extra)
        return response

    def not_attempted(self, resources, account, steps, reason):
        """Record each ``(call, target, detail)`` that was due but not made."""
        for call, target, detail in steps:
            self.note(resources, account, NOT_ATTEMPTED, f"{detail} (not attempted: {reason})", call, target)

    def failures(self):
        return [r for r in self.records if r["result"] == FAILED]


class DryRunPlans(Filter):
    """The last "filter" of a dryrun pull run: asks the policy's rootguard actions for their plan.

    Not registered, not in the policy's data: it only exists on the resource manager.
    """

    type = "rootguard-dryrun-plans"

    def __init__(self, manager):
        super().__init__({}, manager)

    def validate(self):
        return self

    def get_permissions(self):
        return ()

    def process(self, resources, event=None):
        ctx = getattr(self.manager, "ctx", None)
        output = getattr(ctx, "output", None)
        for action in self.manager.actions:
            if not isinstance(action, RecordedAction) or not resources:
                continue
            records = action.process(resources)
            if output is not None:
                output.write_file(f"action-{action.name}", utils.dumps(records))
        return resources


def _pull_mode(manager):
    mode = (getattr(manager, "data", None) or {}).get("mode") or {}
    # periodic and config-poll run as pull (and skip actions on dryrun); event modes run actions.
    return mode.get("type", "pull") in ("pull", "periodic", "config-poll-rule")


class RecordedAction(CheckedOptions, BaseAction):
    """Base of the rootguard actions: ``process`` returns the write records; dryrun runs plan;
    invalid options (checked at run time, see ``options.py``) write nothing."""

    def __init__(self, data=None, manager=None, log_dir=None):
        super().__init__(data, manager, log_dir)
        config = getattr(manager, "config", None)
        filters = getattr(manager, "filters", None)
        if (config is not None and getattr(config, "dryrun", False) and filters is not None
                and _pull_mode(manager)
                and not any(isinstance(f, DryRunPlans) for f in filters)):
            filters.append(DryRunPlans(manager))

    @property
    def dryrun(self):
        return bool(getattr(self.manager.config, "dryrun", False))

    def write_log(self, caller_account=None):
        return WriteLog(self.type, self.dryrun,
                        caller_account or getattr(self.manager.config, "account_id", None))
