"""LookupEvents calls and wall time of root-sessions for 90 days of history, on the sandbox (real paging
at 50 events a page, ~2 requests per second per region with ThrottlingException beyond). Run:

    .venv/bin/python bench/lookup_calls.py [ROOT_EVENTS_IN_US_EAST_1] [OTHER_REGION_EVENTS]

Seeds one account with that many root events in us-east-1 (spread over 90 days) and in eu-west-1,
runs the filter once and prints the calls per operation (the sandbox counts every request, throttled
ones included) and the wall time.
"""
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import rootguard_filters
from rootguard_filters.sandbox import history as h
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, Sandbox

ACCOUNT = "123456789012"


def main(east=500, west=100):
    rootguard_filters.register()
    from c7n.config import Config
    from c7n.policy import Policy
    now = datetime.now(timezone.utc)
    with Sandbox() as sandbox:
        os.environ.update(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=sandbox.endpoint_url)
        for region, count in (("us-east-1", east), ("eu-west-1", west)):
            step = timedelta(days=89) / max(count, 1)
            sandbox.add_events(ACCOUNT, region, [
                h.root_call(ACCOUNT, now - timedelta(days=89) + n * step, "ListBuckets", "s3.amazonaws.com",
                            region=region, key="AKIAQXZ7EXAMPLEROOT1", read_only=True) for n in range(count)])
        sandbox.reset_calls()
        out = tempfile.mkdtemp(prefix="rootguard-bench-")
        policy = Policy({"name": "root-session-unapproved", "resource": "aws.account",
                         "filters": [{"type": "root-sessions", "days": 90}]},
                        Config.empty(account_id=ACCOUNT, region="us-east-1", output_dir=out))
        started = time.monotonic()
        policy.run()
        elapsed = time.monotonic() - started
        calls = {f"{service}:{op}": n for (acct, service, op), n in sorted(sandbox.calls().items())}
        verdict = json.load(open(os.path.join(out, "root-session-unapproved", "rootguard-verdicts.json")))
        status = verdict["verdicts"][ACCOUNT]["root-sessions"]
    print(json.dumps({"root_events": {"us-east-1": east, "eu-west-1": west}, "calls": calls,
                      "regions_read": len(status["details"]["regions_read"]),
                      "wall_seconds": round(elapsed, 2), "status": status["status"]}, indent=1))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
