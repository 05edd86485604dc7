"""Local sandbox AWS organization: moto plus fill-ins for the root-user facts moto lacks (see server.py)."""

from rootguard_filters.sandbox.fillins import RootFacts
from rootguard_filters.sandbox.seed import POSTURES, seed_organization
from rootguard_filters.sandbox.command import main
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, ControlClient, Sandbox

__all__ = ["FAKE_CREDENTIALS", "POSTURES", "ControlClient", "RootFacts", "Sandbox", "main", "seed_organization"]
