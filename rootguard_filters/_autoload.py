"""Register the pack when c7n loads the resources it extends, without importing c7n early.

``rootguard.pth`` (installed at the root of site-packages by the wheel) imports this module at every
interpreter start. It only puts a finder on ``sys.meta_path``; the finder wraps the loader of the c7n
modules whose registries the pack extends, and calls ``rootguard_filters.register()`` right after the
first of them has executed. That is how plain ``custodian`` and c7n-org workers (fork or spawn) see
the pack: c7n itself has no plugin loading (upstream issues #6443, #9187).
"""
import sys

# c7n imports these before it builds any aws.account / aws.org-account filter.
TRIGGER_MODULES = frozenset({"c7n.resources.account", "c7n.resources.org"})


# Plain classes, not importlib.abc subclasses: importing importlib.abc costs tens of milliseconds.
class _RegisterAfterExec:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _uninstall()
        _register()


class _Finder:
    def find_spec(self, fullname, path, target=None):
        if fullname not in TRIGGER_MODULES:
            return None
        spec = _path_finder().find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterExec(spec.loader)
        return spec


def _path_finder():
    # The PathFinder class already on sys.meta_path: importing importlib.machinery costs milliseconds.
    return next(f for f in sys.meta_path if getattr(f, "__name__", None) == "PathFinder")


_FINDER = _Finder()


def _uninstall():
    try:
        sys.meta_path.remove(_FINDER)
    except ValueError:
        pass


def install():
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)


def _register():
    # A broken pack must not break plain custodian: warn and let c7n go on without it.
    try:
        import rootguard_filters
        rootguard_filters.register()
    except Exception as error:  # pragma: no cover - defensive
        import logging
        logging.getLogger("rootguard").warning("rootguard could not register its filters: %s", error)


# c7n may already be imported (e.g. the .pth imported late): register straight away then.
if TRIGGER_MODULES & set(sys.modules):
    _register()
else:
    install()
