"""The one result type every control produces.

A control ends in exactly one of four states. ``could-not-evaluate`` carries the error; it is never
folded into ``compliant``.
"""
from dataclasses import dataclass, field

COMPLIANT = "compliant"
NON_COMPLIANT = "non-compliant"
NOT_APPLICABLE = "not-applicable"
COULD_NOT_EVALUATE = "could-not-evaluate"
STATUSES = (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, COULD_NOT_EVALUATE)

# A filter returns (flags) the resource for these: an unknown verdict must stay visible in the output.
FLAGGED = (NON_COMPLIANT, COULD_NOT_EVALUATE)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}")

    @property
    def flagged(self):
        return self.status in FLAGGED

    def as_dict(self):
        return {"status": self.status, "reason": self.reason, "details": self.details}


def compliant(reason, **details):
    return Verdict(COMPLIANT, reason, details)


def non_compliant(reason, **details):
    return Verdict(NON_COMPLIANT, reason, details)


def not_applicable(reason, **details):
    return Verdict(NOT_APPLICABLE, reason, details)


def could_not_evaluate(reason, **details):
    return Verdict(COULD_NOT_EVALUATE, reason, details)
