"""Lambda entry point for rootguard policies in ``periodic`` and ``cloudtrail`` mode.

Set ``mode.handler: rootguard_filters.lambda_handler.run`` and ``mode.packages: [rootguard_filters]``.
c7n's default handler (``custodian_policy.run``) builds the policy before anything registers the pack
(Lambda processes no ``.pth`` file), so it fails with "Invalid filter type". This one registers the
filters and actions the archive's policy uses (read from its ``config.json``, only those modules are
imported), forgets the previous invocation's evidence (a warm container is a new run: a cached answer
would hide a change made since) and hands the event to c7n.

Its import costs what c7n's default handler's does: the pack's modules are imported on the first
invocation, as c7n imports the policy's resource types there too.
"""
import json

import rootguard_filters
from c7n import handler

CONFIG_FILE = "config.json"   # where c7n's mu puts the policy, read by c7n.handler too
_ready = False


def prepare(config_file=CONFIG_FILE):
    """Register what the archive's policy needs (once per container)."""
    global _ready
    if _ready:
        return
    from rootguard_filters import _plugins
    try:
        with open(config_file, encoding="utf-8") as f:
            policies = json.load(f).get("policies", [])
        names = _plugins.names_in(policies)
    except (OSError, ValueError, AttributeError):
        names = None    # no readable config: register the whole pack, c7n reports the real problem
    rootguard_filters.register(names)
    _ready = True


def run(event, context):
    """Run the archive's policy (``config.json``) on ``event`` with the pack registered."""
    prepare()
    from rootguard_filters.plumbing import evidence
    evidence.reset()
    return handler.dispatch_event(event, context)
