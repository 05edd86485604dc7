"""Builders for output trees in the exact shape custodian and c7n-org write them.

``metadata.json`` is ``c7n.ctx.ExecutionContext.get_metadata()`` (policy data, version, execution, config
with ``account_id`` and ``region``); ``resources.json`` lists the flagged resources; the pack adds
``rootguard-verdicts.json``; ``custodian-run.log`` uses c7n's LogOutput format.
"""
import json
import os

from rootguard_filters.catalog import BY_ID

LOG_LINE = "2025-01-01 10:00:00,000 - {logger} - {level} - {message}\n"


def verdict(status, reason, **details):
    return {"status": status, "reason": reason, "details": details}


def metadata(policy, account_id, region, output_dir, filters=None):
    control = BY_ID[policy]
    return {
        "policy": {"name": policy, "resource": control.resource, "metadata": control.policy_metadata(),
                   "filters": filters if filters is not None else [{"type": control.filters[0]}]},
        "version": "0.9.53",
        "execution": {"id": "0b0e6f1c-0000-4000-8000-000000000000", "start": 1735725600.0,
                      "end_time": 1735725601.5, "duration": 1.5},
        "config": {"region": region, "regions": [region], "cache": "~/.cache/cloud-custodian.cache",
                   "profile": None, "account_id": account_id, "assume_role": None, "log_group": None,
                   "metrics_enabled": False, "output_dir": output_dir, "cache_period": 0, "dryrun": False},
        "sys-stats": {},
        "api-stats": {"iam.GetAccountSummary": 1},
        "metrics": [],
    }


def account_resource(account_id, verdicts):
    """An aws.account resource as c7n returns it, annotated by the pack."""
    return {"account_id": account_id, "account_name": "", "c7n:rootguard": verdicts}


def org_resource(account_id, name, verdicts):
    """An aws.org-account resource (Organizations ListAccounts shape), annotated by the pack."""
    return {"Id": account_id, "Arn": f"arn:aws:organizations::111111111111:account/o-abc/{account_id}",
            "Email": f"{name}@example.com", "Name": name, "Status": "ACTIVE", "JoinedMethod": "CREATED",
            "JoinedTimestamp": "2024-01-01T00:00:00+00:00", "c7n:rootguard": verdicts}


# A policy of Custodian built-ins only (what a team might name after a control): no verdicts.
BUILTIN_FILTERS = [{"type": "iam-summary", "key": "AccountAccessKeysPresent", "value": 0, "op": "gt"}]


def write_policy_dir(path, policy, account_id, region, verdicts_by_id, flagged, resource=account_resource,
                     names=None, log="", filters=None):
    """A finished run: every verdict in the verdict file, flagged ones in resources.json too."""
    os.makedirs(path, exist_ok=True)
    write(path, "metadata.json",
          json.dumps(metadata(policy, account_id, region, os.path.dirname(path), filters), indent=2))
    resources = []
    for rid in flagged:
        if resource is account_resource:
            resources.append(account_resource(rid, verdicts_by_id.get(rid, {})))
        else:
            resources.append(org_resource(rid, (names or {}).get(rid, rid), verdicts_by_id.get(rid, {})))
    write(path, "resources.json", json.dumps(resources, indent=2))
    if verdicts_by_id:
        write(path, "rootguard-verdicts.json",
              json.dumps({"policy": policy, "verdicts": verdicts_by_id}, indent=2))
    count = len(resources)
    write(path, "custodian-run.log", log + LOG_LINE.format(
        logger="custodian.policy", level="INFO",
        message=f"policy:{policy} resource:{BY_ID[policy].resource} region:{region} count:{count} time:0.10"))
    return path


def write(path, name, text):
    with open(os.path.join(path, name), "w", encoding="utf-8") as f:
        f.write(text)


def account_run(root, account_name, account_id, policy, status, reason, region="us-east-1", **details):
    """One aws.account policy in c7n-org layout with a single filter verdict."""
    ftype = BY_ID[policy].filters[0]
    flagged = [account_id] if status in ("non-compliant", "could-not-evaluate") else []
    path = os.path.join(root, account_name, region, policy)
    return write_policy_dir(path, policy, account_id, region,
                            {account_id: {ftype: verdict(status, reason, **details)}}, flagged)


def errored_run(path, policy, account_id, region="us-east-1", plain_custodian=True):
    """A run whose resource query raised: metadata.json and the log, but no resources.json."""
    os.makedirs(path, exist_ok=True)
    write(path, "metadata.json", json.dumps(metadata(policy, account_id, region, os.path.dirname(path))))
    log = ""
    if plain_custodian:   # c7n-org silences custodian.output, so only plain custodian logs this
        log = (LOG_LINE.format(logger="custodian.output", level="ERROR", message="Error while executing policy")
               + "Traceback (most recent call last):\n"
               + '  File "c7n/policy.py", line 331, in run\n'
               + "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
                 "GetAccountSummary operation: User is not authorized\n")
    write(path, "custodian-run.log", log)
    return path


def accounts_file(root, accounts):
    """A c7n-org accounts.yml."""
    path = os.path.join(root, "accounts.yml")
    lines = ["accounts:"]
    for account_id, name in accounts:
        lines += [f'  - account_id: "{account_id}"', f"    name: {name}",
                  f"    role: arn:aws:iam::{account_id}:role/rootguard-audit", "    regions: [us-east-1]"]
    write(root, "accounts.yml", "\n".join(lines) + "\n")
    return path
