"""``python -m rootguard_filters.sandbox`` / ``rootguard sandbox``: serve the sandbox, optionally seeded.

Above both ``server`` (the moto server and its fill-ins) and ``seed`` (the organization it serves),
so neither imports the other's command line.
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import threading

from rootguard_filters.sandbox.seed import seed_organization
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, Sandbox


def main(argv: list[str] | None = None, prog: str = "python -m rootguard_filters.sandbox") -> int:
    """Serve the sandbox AWS (moto + rootguard fill-ins) on 127.0.0.1 until Ctrl-C; --seed also creates
    the sandbox organization and writes its c7n-org accounts.yml."""
    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", metavar="OUT_DIR", help="seed the sandbox organization, write accounts.yml there")
    parser.add_argument("--size", type=int, help="seed N generated member accounts instead of the postures")
    args = parser.parse_args(argv)
    sandbox = Sandbox(port=args.port)
    endpoint = sandbox.start()
    exports = {"AWS_ENDPOINT_URL": endpoint, **FAKE_CREDENTIALS}
    if args.seed:
        result = seed_organization(endpoint, args.seed, size=args.size)
        print(f"seeded {len(result['accounts'])} accounts; wrote {result['accounts_yml']}, {result['expected_json']} "
              f"and the break-glass register {result['approvals']}")
        # root-sessions reads the register from here: without it every seeded root session is unapproved
        exports["ROOTGUARD_APPROVALS"] = os.path.abspath(result["approvals"])
    print(f"rootguard sandbox listening on {endpoint}")
    print("use it with:")
    for name, value in exports.items():
        print(f"  export {name}={shlex.quote(value)}")
    print("  unset C7N_USE_STS_REGIONAL AWS_PROFILE AWS_SESSION_TOKEN   # regional STS would bypass the sandbox")
    print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sandbox.stop()
    return 0
