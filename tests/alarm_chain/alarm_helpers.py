"""Helpers for the alarm-chain tests: call counting and in-process policy runs.

Fresh run state per test comes from tests/conftest.py.
"""
from collections import Counter

from c7n.config import Config
from c7n.policy import Policy

import rootguard_filters
import rootguard_filters.controls.alarm_action  # noqa: F401  (registers the action)
import rootguard_filters.controls.alarm_chain  # noqa: F401  (registers the filter)
from rootguard_filters.plumbing.writes import FixesFailed

rootguard_filters.register()

WRITE_PREFIXES = ("Put", "Create", "Subscribe", "Delete", "Tag", "Set", "Update")


class CallCounter:
    """Counts every AWS operation a boto3 session's clients make, by (service, operation)."""

    def __init__(self, session):
        self.calls = Counter()
        session.events.register("before-call.*.*", self._count)

    def _count(self, model, **_):
        self.calls[(model.service_model.service_name, model.name)] += 1

    @property
    def writes(self):
        return {call: n for call, n in self.calls.items() if call[1].startswith(WRITE_PREFIXES)}

    def reset(self):
        self.calls.clear()


def run_policy(data, session, tmp_path, account_id, dryrun=False):
    """Validate and run one policy in-process; returns the flagged resources."""
    config = Config.empty(account_id=account_id, region="us-east-1", output_dir=str(tmp_path), dryrun=dryrun)
    policy = Policy(data, config, session_factory=lambda *a, **k: session)
    policy.validate()
    try:
        return policy.run()
    except FixesFailed as failure:   # a fix did not happen: the run ends non-zero, records made
        return failure.resources
