"""Addresses a write action must never use: reserved example domains and unexpanded policy variables.

Shared by the actions that write an address into the account (``set-alternate-contact``,
``create-root-usage-alarm``): a "restored" guardrail that notifies security@example.com notifies nobody.
"""
import re

# RFC 2606 / 6761 names reserved for documentation and testing: never a real recipient.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
PLACEHOLDER_TLDS = (".example", ".invalid", ".test", ".localhost")
# A whole value that is still a policy variable: ``{security_email}`` (no --vars-file value given).
UNEXPANDED = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


def placeholder_email(email):
    """True for an address at a domain reserved for examples (example.com, *.invalid, ...)."""
    domain = email.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    return (domain in PLACEHOLDER_DOMAINS or any(domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS)
            or domain.endswith(PLACEHOLDER_TLDS))


def unexpanded(value):
    """True when ``value`` is a policy variable c7n left as it was (no value for it)."""
    return bool(UNEXPANDED.match(str(value)))
