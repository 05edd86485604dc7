"""Lambda entry point for rootguard policies in ``periodic`` and ``cloudtrail`` mode.

Set ``mode.handler: rootguard_filters.lambda_handler.run`` and ``mode.packages: [rootguard_filters]``.
c7n's default handler (``custodian_policy.run``) builds the policy before anything registers the pack
(Lambda processes no ``.pth`` file), so it fails with "Invalid filter type". This one registers the pack,
forgets the previous invocation's evidence (a warm container is a new run: a cached answer would hide
a change made since) and hands the event to c7n.
"""
import rootguard_filters
from rootguard_filters import evidence

# Registering at import time puts the one-off cost in the cold start, not in every invocation.
rootguard_filters.register()

from c7n import handler  # noqa: E402  (after register(), like the pack's own loading order)


def run(event, context):
    """Run the archive's policy (``config.json``) on ``event`` with the pack registered."""
    rootguard_filters.register()  # a no-op after the import above; keeps run() correct on its own
    evidence.reset()
    return handler.dispatch_event(event, context)
