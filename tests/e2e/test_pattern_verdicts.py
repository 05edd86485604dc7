"""End to end with plain `custodian run` on the sandbox (issue 21): the management account's root-usage
alarm chain with its metric filter's pattern swapped for each case; the verdict names the witness
(a CloudTrail-shaped root record), the undocumented regex construct, or the deadline setting."""
import json
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, ORGANIZATION_LOG_GROUP, REGION, seed_organization
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, Sandbox

CIS_CORE = ('$.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent"')
FILLERS = " || ".join(f'$.eventName = "*{c}*"' for c in "~^`!|")
# 16 same-field choices, each of two infixes: a covering proof that takes a measurable moment
SLOW = "{ (" + CIS_CORE + ") || (" + " && ".join(
    f'($.eventName = "*a{i}*" || $.eventName = "*b{i}*")' for i in range(16)) + ") }"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The sandbox with the seeded organization: the management account owns the trail and chain."""
    workdir = tmp_path_factory.mktemp("patterns")
    with Sandbox() as sandbox:
        sandbox.reset()
        seed_organization(sandbox.endpoint_url, str(workdir / "seed"), members=["compliant"])
        session = boto3.Session(region_name=REGION, aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        yield sandbox, session.client("logs", endpoint_url=sandbox.endpoint_url), workdir
        sandbox.reset()


def verdict_with(chain, pattern, label, **options):
    """Put ``pattern`` on the chain's metric filter and run the policy with plain `custodian run`."""
    sandbox, logs, workdir = chain
    (metric_filter,) = logs.describe_metric_filters(logGroupName=ORGANIZATION_LOG_GROUP)["metricFilters"]
    logs.put_metric_filter(logGroupName=ORGANIZATION_LOG_GROUP, filterName=metric_filter["filterName"],
                           filterPattern=pattern, metricTransformations=metric_filter["metricTransformations"])
    policy = {"name": "root-usage-alarm-missing", "resource": "aws.account",
              "filters": [{"type": "root-usage-alarm", **options}]}
    policy_file = workdir / f"{label}.yml"
    policy_file.write_text(yaml.safe_dump({"policies": [policy]}))
    out = workdir / label
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    done = subprocess.run([tool("custodian"), "run", "-s", str(out), "-r", REGION, "--cache-period", "0",
                           str(policy_file)], env=offline_env(sandbox.endpoint_url, home),
                          capture_output=True, text=True, timeout=300)
    path = out / "root-usage-alarm-missing" / "rootguard-verdicts.json"
    assert path.exists(), done.stderr[-3000:]
    return json.loads(path.read_text())["verdicts"][MANAGEMENT_ACCOUNT_ID]["root-usage-alarm"]


def test_a_pattern_requiring_only_what_every_record_carries_is_compliant(chain):
    verdict = verdict_with(chain, f"{{ {CIS_CORE} && $.eventName = * && $.recipientAccountId = * }}", "name")
    assert verdict["status"] == "compliant", verdict["reason"]


def test_fillers_used_up_still_show_the_escaping_root_record(chain):
    pattern = (f"{{ {CIS_CORE} && ({FILLERS} || $.eventName = RunInstances || $.eventName = ConsoleLogin "
               f"|| $.eventName = CreateAccessKey) }}")
    verdict = verdict_with(chain, pattern, "fillers")
    assert verdict["status"] == "non-compliant", verdict["reason"]
    (problem,) = verdict["details"]["trails"][0]["problems"]
    witness = problem["counterexample"]
    assert witness["userIdentity"]["arn"].endswith(":root") and len(witness["recipientAccountId"]) == 12
    assert witness["eventName"] not in ("RunInstances", "ConsoleLogin", "CreateAccessKey")
    assert "does not cover root usage: root " in verdict["reason"]


@pytest.mark.parametrize("regex, construct", [
    (r"\x52oot", r"the escape \x"), (r"\bRoot", r"the escape \b"), (r"\ARoot", r"the escape \A"),
    ("R.*?t", "the quantifier *?"),
])
def test_an_undocumented_regex_construct_is_could_not_evaluate_naming_it(chain, regex, construct):
    verdict = verdict_with(chain, f"{{ $.userIdentity.type = %{regex}% }}", f"regex-{construct[-2:]}")
    assert verdict["status"] == "could-not-evaluate", verdict["reason"]
    assert construct in verdict["reason"] and "does not document" in verdict["reason"]


def test_a_decision_past_its_deadline_is_could_not_evaluate_naming_the_setting(chain):
    verdict = verdict_with(chain, SLOW, "slow", **{"deadline-seconds": 0.01})
    assert verdict["status"] == "could-not-evaluate", verdict["reason"]
    assert "deadline" in verdict["reason"] and "deadline-seconds" in verdict["reason"]
    # the default deadline decides it
    assert verdict_with(chain, SLOW, "slow-default")["status"] == "compliant"
