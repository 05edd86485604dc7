"""Does a CloudWatch Logs metric-filter pattern cover root-user usage?

The pattern is run against CloudTrail records shipped with the package, not compared as text, so
reordered, re-spaced, re-quoted or re-parenthesised patterns get the verdict their meaning deserves:
- ``must_alert/``: root sign-ins (any outcome, with or without MFA), password recovery, root API calls;
- ``must_not_alert/``: IAM users, roles, AWS service events, calls a service made on root's behalf;
- ``either/``: AssumeRoot session actions; alerting on them or not is a policy choice.
"""
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Optional

from rootguard_filters.logic.filter_pattern import FilterPatternError, evaluate, parse

MUST_ALERT = "must_alert"
MUST_NOT_ALERT = "must_not_alert"
EITHER = "either"


@dataclass(frozen=True)
class PatternJudgement:
    covers: bool
    reason: str
    missed: tuple = ()          # must-alert records the pattern does not match
    false_alarms: tuple = ()    # must-not-alert records the pattern matches
    error: Optional[str] = None  # why the pattern could not be parsed
    excludes_assumed_root: bool = False  # no AssumeRoot-session record with assumedRoot is matched


@lru_cache(maxsize=None)
def load_corpus(folder: str) -> tuple:
    """``(file name, record)`` pairs of one corpus folder, sorted by name."""
    directory = files("rootguard_filters").joinpath("data", "cloudtrail", folder)
    entries = sorted((entry for entry in directory.iterdir() if entry.name.endswith(".json")),
                     key=lambda entry: entry.name)
    return tuple((entry.name, json.loads(entry.read_text(encoding="utf-8"))) for entry in entries)


def _carries_assumed_root(record: dict) -> bool:
    session = record.get("userIdentity", {}).get("sessionContext", {})
    return "assumedRoot" in session


def judge_root_usage_pattern(pattern: str) -> PatternJudgement:
    """Judge whether ``pattern`` alarms on every root-usage record and on nothing else."""
    try:
        ast = parse(pattern)
    except FilterPatternError as error:
        return PatternJudgement(covers=False, reason=f"pattern cannot be judged: {error}", error=str(error))

    missed = tuple(name for name, record in load_corpus(MUST_ALERT) if not evaluate(ast, record))
    false_alarms = tuple(name for name, record in load_corpus(MUST_NOT_ALERT) if evaluate(ast, record))
    excludes_assumed_root = not any(
        evaluate(ast, record) for _, record in load_corpus(EITHER) if _carries_assumed_root(record))

    covers = not missed and not false_alarms
    if covers:
        reason = (f"matches all {len(load_corpus(MUST_ALERT))} root-usage records and none of the "
                  f"{len(load_corpus(MUST_NOT_ALERT))} other records")
    else:
        problems = []
        if missed:
            problems.append(f"misses {len(missed)} root-usage record(s): {', '.join(missed)}")
        if false_alarms:
            problems.append(f"alarms on {len(false_alarms)} non-root-usage record(s): {', '.join(false_alarms)}")
        reason = "; ".join(problems)
    return PatternJudgement(covers=covers, reason=reason, missed=missed, false_alarms=false_alarms,
                            excludes_assumed_root=excludes_assumed_root)
