"""Run-time option checks for the pack's filters and actions.

``custodian run`` validates a policy against c7n's JSON schema before running it; ``c7n-org run`` does
not (it only calls ``Policy.validate()``), so a typo such as ``states: [hardwre]`` would otherwise run
everywhere and match nothing — a silent "compliant". Every pack filter and action therefore checks its
own ``data`` against its class's ``type_schema`` when it runs: a filter turns an invalid option into
could-not-evaluate naming the option, an action refuses to write. The check is cached per class and
options, and logged once per process (a c7n-org worker runs many accounts), not once per account.
"""
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
import time

log = logging.getLogger("custodian.rootguard")

_checked = {}        # (class, options as JSON) -> problem text or None
_logged = set()      # (policy name, type, problem) already logged by this process


def _path(error):
    """The option an error is about: ``states[0]``, ``required``; the unexpected key for an extra."""
    parts = list(error.absolute_path)
    if not parts and error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ", ".join(extra) or "(options)"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(options)"


def schema_problem(schema, data):
    """One line naming the first invalid option of ``data`` under ``schema``, or None.

    None too where jsonschema is absent: c7n's Lambda archives leave it out, and policies deployed
    to Lambda were schema-validated by ``custodian run`` when they were provisioned.
    """
    try:
        from jsonschema import Draft7Validator
    except ImportError:
        return None
    errors = sorted(Draft7Validator(schema).iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return None
    error = errors[0]
    if error.validator == "additionalProperties":
        known = ", ".join(sorted(k for k in error.schema.get("properties", {}) if k != "type"))
        return f"unknown option {_path(error)} (options: {known or 'none'})"
    return f"invalid option {_path(error)}: {error.message}"


def option_problem(component):
    """The first invalid option of a filter or action instance (None when valid), cached per class and data."""
    schema = getattr(component, "schema", None)
    if not isinstance(schema, dict) or not isinstance(component.data, dict):
        return None
    try:
        key = (type(component), json.dumps(component.data, sort_keys=True, default=str))
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _checked:
        return _checked[key]
    problem = schema_problem(schema, component.data)
    if key is not None:
        _checked[key] = problem
    return problem


def policy_name(component):
    manager = getattr(component, "manager", None)
    data = getattr(manager, "data", None)
    return data.get("name") if isinstance(data, dict) else None


MARKER_MAX_AGE = 6 * 3600    # a marker older than this is another run's (the parent pid was reused)


def first_in_run(key):
    """True the first time ``key`` is seen in this run: this process, or — in a c7n-org worker — any
    worker of the same c7n-org process (a marker file named after the parent's pid)."""
    if key in _logged:
        return False
    _logged.add(key)
    if multiprocessing.parent_process() is None:
        return True
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:20]
    marker = os.path.join(tempfile.gettempdir(), f"rootguard-once-{os.getppid()}-{digest}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        try:
            if time.time() - os.path.getmtime(marker) > MARKER_MAX_AGE:
                os.utime(marker)
                return True
        except OSError:
            return True
        return False
    except OSError:      # no writable temp dir: log rather than stay silent
        return True


def report_once(component, problem, consequence):
    """Log an invalid option once per run and policy, not once per account."""
    key = (policy_name(component), getattr(component, "type", None), problem)
    if not first_in_run(key):
        return
    log.error("rootguard: policy %s, %s: %s — %s (check with `custodian validate FILE`)",
              key[0], key[1], problem, consequence)


# (resource id, reason) of could-not-evaluate verdicts already logged by ``base``: several filters and
# policies failing for one cause log one line per account and cause. Kept here, with what else is
# logged once per run, so ``reset`` needs nothing from the module above.
logged_unknowns = set()


def reset():
    """Forget the cache and what was logged (tests)."""
    _checked.clear()
    _logged.clear()
    logged_unknowns.clear()


class CheckedOptions:
    """Mixin for the pack's actions: ``process`` refuses to write when the action's options are invalid.

    Every ``process`` a subclass defines is wrapped, so an action needs no code of its own for this.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        original = cls.__dict__.get("process")
        if original is None or getattr(original, "_rootguard_checked", False):
            return

        @functools.wraps(original)
        def process(self, resources, *args, **kw):
            problem = option_problem(self)
            if problem:
                report_once(self, problem, f"{self.type} wrote nothing to {len(resources)} resource(s)")
                return []
            return original(self, resources, *args, **kw)

        process._rootguard_checked = True
        cls.process = process
