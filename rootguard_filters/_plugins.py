"""Which module of the pack provides which filter and action, and importing them on demand.

``register()`` with no argument imports every module (``custodian schema`` and ``validate`` see the
whole pack). ``register(names)`` imports only the modules providing those filter/action names: the
Lambda handler registers what its policy uses and nothing else, so a cold start does not pay for
the rest of the pack. ``tests/unit/test_plugins.py`` checks this table against what the modules
register, so it cannot go stale.
"""
import importlib

# module -> ((c7n resource type, "filter" | "action" | "mode", name), ...)
PROVIDES = {
    "rootguard_filters.controls.root_credentials": (
        ("aws.account", "filter", "root-mfa"),
        ("aws.account", "filter", "root-credentials"),
    ),
    "rootguard_filters.controls.alarm_chain": (
        ("aws.account", "filter", "root-usage-alarm"),
    ),
    "rootguard_filters.controls.alarm_action": (
        ("aws.account", "action", "create-root-usage-alarm"),
    ),
    "rootguard_filters.controls.centralized_root": (
        ("aws.account", "filter", "root-credentials-management"),
    ),
    "rootguard_filters.controls.contacts": (
        ("aws.account", "filter", "alternate-contacts"),
        ("aws.org-account", "filter", "alternate-contacts"),
        ("aws.account", "action", "set-alternate-contact"),
        ("aws.org-account", "action", "set-alternate-contact"),
    ),
    "rootguard_filters.controls.member_root": (
        ("aws.org-account", "filter", "member-root-credentials"),
        ("aws.org-account", "action", "delete-root-credentials"),
    ),
    "rootguard_filters.controls.root_scp": (
        ("aws.org-account", "filter", "root-scp"),
        ("aws.org-account", "action", "attach-root-scp"),
    ),
    "rootguard_filters.controls.root_sessions": (
        ("aws.account", "filter", "root-sessions"),
        ("aws.account", "filter", "root-signin-approval"),
    ),
    "rootguard_filters.controls.admin_path": (
        ("aws.account", "filter", "admin-principals"),
    ),
    # execution modes (c7n.policy.execution), for any resource
    "rootguard_filters.deployment.lambda_modes": (
        ("*", "mode", "rootguard-periodic"),
        ("*", "mode", "rootguard-cloudtrail"),
    ),
}

NAMES = frozenset(name for provided in PROVIDES.values() for _, _, name in provided)


def modules_for(names=None):
    """The modules providing any of ``names`` (every module when ``names`` is None)."""
    if names is None:
        return list(PROVIDES)
    wanted = set(names)
    return [module for module, provided in PROVIDES.items() if any(n in wanted for _, _, n in provided)]


def import_modules(names=None):
    """Import (and so register on c7n's registries) the modules providing ``names``; returns them."""
    modules = modules_for(names)
    for module in modules:
        importlib.import_module(module)
    return modules


def names_in(policy_data):
    """The pack's filter, action and mode names a list of policy dicts uses, however deeply nested
    (and/or/not blocks, list-item attrs, ...). Over-inclusion only imports a module more."""
    found = set()
    stack = list(policy_data)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("type"), str):
                found.add(node["type"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            found.add(node)     # `actions: [name]` shorthand
    return found & NAMES
