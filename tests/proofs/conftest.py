"""Hypothesis profiles of the proof tests (the pack's decisions against an SMT solver's).

``ROOTGUARD_PROOF_PROFILE`` picks one: ``ci`` (default, what ``make test`` runs: at least 2,000 cases
per family) or ``prove`` (``make prove``: at least 100,000 cases per family). Each family is one
test function, decorated with ``settings(settings.get_profile(proof_profile()))``, so the profile
applies to the proof tests only, not to the rest of the suite.
"""
import os

from hypothesis import HealthCheck, settings

# "mutation": what `mutmut run` uses, so each mutant also meets the oracle without taking minutes.
PROFILES = {"ci": 2_000, "prove": 100_000, "mutation": 100}

for _name, _examples in PROFILES.items():
    settings.register_profile(
        _name, max_examples=_examples, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])



def proof_profile() -> str:
    """The profile ``ROOTGUARD_PROOF_PROFILE`` names (default ``ci``)."""
    name = os.environ.get("ROOTGUARD_PROOF_PROFILE", "ci")
    if name not in PROFILES:
        raise ValueError(f"ROOTGUARD_PROOF_PROFILE={name!r}: choose one of {sorted(PROFILES)}")
    return name
