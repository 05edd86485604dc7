"""The local sandbox AWS: moto's server behind the rootguard fill-ins, on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from rootguard_filters.sandbox.fillins import RootFacts, RootGuardMiddleware, SandboxState, jsonable, reset_all

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "AWS_DEFAULT_REGION": "us-east-1"}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per AWS call drowns the output
        pass


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher; it lists moto's package directory on every request, so cache its per-host answer."""

    def get_backend_for_host(self, host: str | None) -> Any:
        cache = self.__dict__.setdefault("_backend_for_host", {})
        if host not in cache:
            cache[host] = super().get_backend_for_host(host)
        return cache[host]


class Sandbox:
    """moto + fill-ins on 127.0.0.1 in a background thread.

    moto keeps its state in module globals, so run one Sandbox per process. Control from Python with the
    methods below, or over HTTP (``ControlClient``) under ``/_rootguard/``.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.state = SandboxState()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "call start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Start serving; returns the endpoint URL (e.g. http://127.0.0.1:41234)."""
        if self._server is None:
            app = RootGuardMiddleware(_Dispatcher(create_backend_app), self.state)
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=_QuietHandler)
            self._thread = threading.Thread(target=self._server.serve_forever, name="rootguard-sandbox", daemon=True)
            self._thread.start()
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()  # type: ignore[union-attr]
            self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything: moto's backends and the fill-ins' state."""
        reset_all(self.state)

    # Control: thin wrappers over SandboxState so callers need one object.
    def set_root_facts(self, account_id: str, facts: RootFacts) -> RootFacts:
        return self.state.set_root_facts(account_id, facts)

    def update_root_facts(self, account_id: str, **changes: Any) -> RootFacts:
        return self.state.update_root_facts(account_id, **changes)

    def root_facts(self, account_id: str) -> RootFacts:
        return self.state.get_root_facts(account_id)

    def confirm_subscription(self, account_id: str, topic_arn: str, endpoint: str) -> list[str]:
        return self.state.confirm_subscription(account_id, topic_arn, endpoint)

    def set_unassumable(self, account_id: str, unassumable: bool = True) -> None:
        self.state.set_unassumable(account_id, unassumable)

    def set_denied(self, account_id: str, actions: list[str]) -> None:
        """Calls from ``account_id`` to these "service:Operation" actions answer AccessDenied."""
        self.state.set_denied(account_id, actions)

    def set_credential_report(self, account_id: str, **knobs: Any) -> None:
        self.state.set_credential_report(account_id, **knobs)

    def add_events(self, account_id: str, region: str, records: list[dict[str, Any]]) -> int:
        return self.state.add_events(account_id, region, records)

    def set_lookup_limit(self, account_id: str, region: str, **knobs: Any) -> None:
        self.state.set_lookup_limit(account_id, region, **knobs)

    def set_lookup_rate(self, rate: float) -> None:
        self.state.set_lookup_rate(rate)

    def opt_in_region(self, account_id: str, region: str, enabled: bool = True) -> None:
        self.state.opt_in_region(account_id, region, enabled)

    def calls(self) -> Counter[tuple[str, str, str]]:
        """Requests so far, by (account_id, service, operation)."""
        return self.state.calls()

    def reset_calls(self) -> None:
        self.state.reset_calls()

    def throttles(self) -> Counter[tuple[str, str]]:
        """LookupEvents calls answered ThrottlingException so far, by (account_id, region)."""
        return self.state.throttles()


class ControlClient:
    """HTTP client for a sandbox's control API (works against a sandbox in another process)."""

    def __init__(self, endpoint_url: str):
        self.base = endpoint_url.rstrip("/") + "/_rootguard/"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def update_root_facts(self, account_id: str, **changes: Any) -> dict[str, Any]:
        return self.request("POST", f"root-facts/{account_id}", jsonable(changes))

    def bulk_root_facts(self, facts: dict[str, RootFacts | dict[str, Any]]) -> None:
        """Set many accounts' facts in one request (fields not given keep their values)."""
        self.request("POST", "root-facts", {acct: f.to_json() if isinstance(f, RootFacts) else jsonable(f)
                                            for acct, f in facts.items()})

    def root_facts(self, account_id: str) -> dict[str, Any]:
        return self.request("GET", f"root-facts/{account_id}")

    def confirm_subscription(self, account_id: str, topic_arn: str, endpoint: str) -> list[str]:
        body = {"account_id": account_id, "topic_arn": topic_arn, "endpoint": endpoint}
        return self.request("POST", "sns/confirm", body)["confirmed"]

    def set_unassumable(self, account_id: str, unassumable: bool = True) -> None:
        self.request("POST", f"unassumable/{account_id}", {"unassumable": unassumable})

    def set_denied(self, account_id: str, actions: list[str]) -> None:
        self.request("POST", f"denied/{account_id}", {"actions": list(actions)})

    def set_credential_report(self, account_id: str, **knobs: Any) -> None:
        self.request("POST", f"credential-report/{account_id}", knobs)

    def add_events(self, account_id: str, events_by_region: dict[str, list[dict[str, Any]]]) -> None:
        self.request("POST", f"events/{account_id}", jsonable(events_by_region))

    def set_lookup_limit(self, account_id: str, region: str, **knobs: Any) -> None:
        self.request("POST", f"lookup-limit/{account_id}", {"region": region, **knobs})

    def set_lookup_rate(self, rate: float) -> None:
        self.request("POST", "lookup-rate", {"rate": rate})

    def calls(self) -> Counter[tuple[str, str, str]]:
        return Counter({(c["account_id"], c["service"], c["operation"]): c["count"]
                        for c in self.request("GET", "calls")})

    def reset_calls(self) -> None:
        self.request("DELETE", "calls")

    def reset(self) -> None:
        self.request("POST", "reset", {})
