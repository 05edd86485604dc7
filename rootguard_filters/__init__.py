"""rootguard: Cloud Custodian filters and actions that keep the AWS root user locked down.

Importing this package must stay cheap and must not import c7n: the ``rootguard.pth`` file installed
with the wheel imports ``rootguard_filters._autoload`` at every interpreter start.
"""
__version__ = "0.1.0"

_registered = False


def register():
    """Register every filter and action of the pack on c7n's resource registries (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    from rootguard_filters import _plugins  # noqa: F401  (imports c7n; registration happens on import)
