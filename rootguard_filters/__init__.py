"""rootguard: Cloud Custodian filters and actions that keep the AWS root user locked down.

Importing this package must stay cheap and must not import c7n: the ``rootguard.pth`` file installed
with the wheel imports ``rootguard_filters._autoload`` at every interpreter start.
"""
__version__ = "0.1.0"

_registered = False


def register(names=None):
    """Register the pack's filters and actions on c7n's resource registries (idempotent).

    With ``names`` (filter/action types), only the modules providing them are imported: a Lambda
    function registers what its policy uses. Without, the whole pack (what ``custodian schema``,
    ``validate`` and c7n-org workers see).
    """
    global _registered
    if _registered:
        return
    from rootguard_filters import _plugins  # imports c7n only through the modules it loads
    _plugins.import_modules(names)
    if names is None:
        _registered = True
