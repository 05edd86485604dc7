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

A fix that did not happen — a record ``failed``, ``left-behind`` or ``not-attempted`` — must not end a
scheduled run with status 0: once the action has made every record, :class:`RecordedAction` writes its
``action-<name>`` file itself and raises :class:`FixesFailed`, so ``custodian run`` exits 2 and
``c7n-org run`` exits 1 (both run the remaining policies first) and the report lists the records.

c7n skips actions altogether under ``custodian run --dryrun``; :class:`RecordedAction` appends a last
filter that, in dryrun pull runs only, asks the policy's rootguard actions for their plan, so a dry
run shows what would be written (in ``resources.json`` and the ``action-<name>`` files).
"""
import functools
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
LEFT_BEHIND = "left-behind"      # something the action created is not where it belongs yet
WRITE_RESULTS = (DONE, PLANNED, FAILED, NOT_ATTEMPTED)
# Results that mean a fix did not happen: the run must not end as if it had.
UNFIXED_RESULTS = (FAILED, LEFT_BEHIND, NOT_ATTEMPTED)


class FixesFailed(Exception):
    """Raised after an action recorded (and wrote) every record, when some fix did not happen.
    ``records`` are the action's records, ``resources`` the (annotated) resources it acted on."""

    def __init__(self, message, records=(), resources=()):
        super().__init__(message)
        self.records = list(records)
        self.resources = list(resources)


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


def _failing_when_unfixed(process):
    """Wrap a RecordedAction subclass's ``process`` so the outermost call ends with ``end_run``
    (a subclass calling ``super().process`` must not raise before its own records are made)."""
    @functools.wraps(process)
    def wrapper(self, resources, *args, **kwargs):
        depth = self.__dict__.get("_rootguard_process_depth", 0)
        self.__dict__["_rootguard_process_depth"] = depth + 1
        try:
            records = process(self, resources, *args, **kwargs)
        finally:
            self.__dict__["_rootguard_process_depth"] = depth
        return records if depth else self.end_run(records, resources)
    return wrapper


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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "process" in cls.__dict__:
            cls.process = _failing_when_unfixed(cls.__dict__["process"])

    @property
    def dryrun(self):
        return bool(getattr(self.manager.config, "dryrun", False))

    def end_run(self, records, resources=()):
        """After ``process``: when a fix did not happen (not under dryrun), write the action file
        (c7n writes it only when ``process`` returns) and raise FixesFailed."""
        unfixed = [r for r in records or () if isinstance(r, dict) and r.get("result") in UNFIXED_RESULTS]
        if not unfixed or self.dryrun:
            return records
        output = getattr(getattr(self.manager, "ctx", None), "output", None)
        if output is not None:
            output.write_file(f"action-{self.name}", utils.dumps(records))
        first = unfixed[0]
        raise FixesFailed(
            f"{self.type}: {len(unfixed)} fix(es) did not happen (every record is in action-{self.name}); "
            f"first: {first.get('result')} {first.get('call') or ''} on {first.get('target') or first.get('account')}: "
            f"{first.get('detail')}", records, resources)

    def write_log(self, caller_account=None):
        return WriteLog(self.type, self.dryrun,
                        caller_account or getattr(self.manager.config, "account_id", None))
