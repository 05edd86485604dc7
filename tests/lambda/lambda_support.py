"""Build a policy's Lambda archive with c7n's own PolicyLambda and invoke it as Lambda would."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml
from c7n.config import Config
from c7n.policy import Policy
from c7n.resources import load_resources

from rootguard_filters.sandbox.server import FAKE_CREDENTIALS

REPO = Path(__file__).resolve().parents[2]
# EventBridge envelopes and CloudTrail records (copied from the reference samples; see its README)
SAMPLES = Path(__file__).resolve().parent / "samples"
MANAGEMENT_ACCOUNT = "123456789012"
SITE_PACKAGES = Path(yaml.__file__).resolve().parents[1]
# What the Lambda Python runtime provides besides the archive: boto3, botocore and their dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "s3transfer", "urllib3", "six.py")

# Lambda puts the archive (/var/task) and the runtime's packages on sys.path and calls the handler.
RUNNER = """
import importlib, json, sys
archive, runtime, handler, event = sys.argv[1:5]
sys.path[:0] = [archive, runtime]
module, function = handler.rsplit(".", 1)
result = getattr(importlib.import_module(module), function)(json.loads(event), None)
print("HANDLER-RESULT", json.dumps(result, default=str))
"""


def policy_data(path, name):
    """One policy of a YAML file, by name."""
    policies = yaml.safe_load((REPO / path).read_text())["policies"]
    return next(p for p in policies if p["name"] == name)


def build_archive(data, dest, output_dir):
    """Unpack the archive c7n builds for ``data`` into ``dest``; output goes to ``output_dir``.

    Lambda's config forces output to /tmp; the policy's own execution-options win over that, which keeps
    parallel test runs apart.
    """
    load_resources(("aws.account", "aws.org-account"))  # notify/post-finding register on load
    data = json.loads(json.dumps(data))
    data["mode"].setdefault("execution-options", {})["output_dir"] = str(output_dir)
    policy = Policy(data, Config.empty(account_id=MANAGEMENT_ACCOUNT, region="us-east-1"))
    # the mode's PolicyLambda, as `custodian run` provisions it (the pack's modes build a slim archive)
    archive = policy.get_execution_mode().policy_lambda(policy).get_archive()
    with zipfile.ZipFile(archive.path) as zf:
        zf.extractall(dest)
    return archive, Path(dest)


def runtime_dir(dest):
    """A directory holding only what the Lambda runtime ships (links into the venv)."""
    dest = Path(dest)
    dest.mkdir(exist_ok=True)
    for name in RUNTIME_PACKAGES:
        link = dest / name
        if not link.exists():
            link.symlink_to(SITE_PACKAGES / name)
    return dest


def lambda_env(endpoint_url, home):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_ENDPOINT_URL": endpoint_url,
           "AWS_CONFIG_FILE": str(Path(home) / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "none"),
           "AWS_REGION": "us-east-1", **FAKE_CREDENTIALS}
    return env


def invoke(archive_dir, runtime, handler, event, env, extra_env=None):
    """Run ``handler`` on ``event`` in a fresh interpreter that sees only the archive and the runtime."""
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(archive_dir), str(runtime), handler, json.dumps(event)],
        cwd=archive_dir, env={**env, **(extra_env or {})}, capture_output=True, text=True, timeout=120)


def scheduled_event(rule_name):
    return {"version": "0", "id": "5e9a1c2b-3f4d-4a6e-8b7c-9d0e1f2a3b4c", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": MANAGEMENT_ACCOUNT, "time": "2025-03-05T06:00:00Z",
            "region": "us-east-1", "resources": [f"arn:aws:events:us-east-1:{MANAGEMENT_ACCOUNT}:rule/{rule_name}"],
            "detail": {}}


def envelope(name):
    return json.loads((SAMPLES / name).read_text())


def sample_as_event(name, detail_type="AWS API Call via CloudTrail"):
    """A CloudTrail record wrapped in the EventBridge envelope (as eventbridge-api-call-envelope.json)."""
    detail = json.loads((SAMPLES / name).read_text())
    event = envelope("eventbridge-api-call-envelope.json")
    event.update({"detail-type": detail_type, "source": "aws." + detail["eventSource"].split(".")[0],
                  "account": detail["recipientAccountId"], "detail": detail})
    return event


def read_notifications(queue_url):
    """The c7n notify messages waiting in the sandbox queue, decoded as c7n-mailer decodes them."""
    import base64
    import zlib

    import boto3
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(zlib.decompress(base64.b64decode(m["Body"]))) for m in messages]


def with_vars(data, queue_arn=f"arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:rootguard-alerts"):
    """A policy with the vars-file values filled in, as `custodian run --vars-file` does."""
    text = json.dumps(data)
    text = text.replace("{rootguard_notify_queue}", queue_arn).replace("{rootguard_notify_to}", "security@example.com")
    return json.loads(text)


def realtime_policy(name, queue_arn):
    """A policy of deploy/realtime.yml with the vars-file values filled in."""
    return with_vars(policy_data("deploy/realtime.yml", name), queue_arn)


def render_with_mailer(message):
    """(subject, body) of a queued message as c7n-mailer renders its email, with deploy/mailer-templates."""
    import logging

    from c7n_mailer.utils_email import get_mimetext_message
    mime = get_mimetext_message(
        {"templates_folders": [str(REPO / "deploy" / "mailer-templates")], "from_address": "rootguard@example.com"},
        logging.getLogger("c7n_mailer"), message, message["resources"], ["security@example.com"])
    return str(mime["Subject"]), mime.get_payload(decode=True).decode("utf-8")
