"""deploy/*.yml and the execution role are what the generator makes from policies/, and they validate."""
import json

import pytest
import yaml
from c7n.cli import main as custodian
from c7n.config import Config
from c7n.policy import Policy

import rootguard_filters
from lambda_support import REPO
from rootguard_filters import catalog
from rootguard_filters.deployment import deploy_files as deploy

# The deploy files use filters of the whole pack: register it.
rootguard_filters.register()

DEPLOY_FILES = ("deploy/periodic.yml", "deploy/organization.yml", "deploy/break-glass-review.yml",
                "deploy/securityhub.yml", "deploy/realtime.yml", "remediation/realtime-drift.yml")
GENERATED = ("deploy/periodic.yml", "deploy/organization.yml", "deploy/break-glass-review.yml", "deploy/securityhub.yml")


def test_committed_periodic_and_securityhub_files_match_the_generator():
    for name, text in deploy.generate(REPO / "policies").items():
        assert (REPO / name).read_text() == text, f"{name} is stale: run `rootguard deploy`"


def test_committed_execution_role_matches_the_permissions_of_the_deployed_policies():
    files = [REPO / name for name in deploy.ROLE_DOCUMENTS["iam/lambda-execution-role.json"]]
    committed = json.loads((REPO / "iam/lambda-execution-role.json").read_text())
    assert committed == deploy.execution_role_policy(files)
    actions = committed["Statement"][1]["Action"]
    assert {"iam:GetAccountSummary", "iam:GetCredentialReport", "securityhub:BatchImportFindings",
            "sqs:SendMessage"} <= set(actions)
    assert not any(a.endswith(":*") or a == "*" for a in actions)


def test_check_mode_reports_nothing_stale(capsys):
    assert deploy.main(["--root", str(REPO), "--check"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("path", DEPLOY_FILES)
def test_custodian_validate_accepts_the_deploy_file(path, monkeypatch, caplog):
    monkeypatch.setattr("sys.argv", ["custodian", "validate", str(REPO / path)])
    custodian()  # exits non-zero on an invalid file
    assert "Configuration invalid" not in caplog.text


def deployed(name):
    return yaml.safe_load((REPO / name).read_text())["policies"]


def test_every_audit_policy_gets_exactly_one_lambda_variant_and_policies_dir_stays_pull_mode():
    audit = deploy.load_audit_policies(REPO / "policies")
    variants = [p for name in GENERATED[:3] for p in deployed(name)]
    assert sorted(p["name"] for p in variants) == sorted(p["name"] for p in audit)
    assert all(p["mode"]["type"] == "rootguard-periodic" for p in variants)
    assert all(len(p.get("description", "")) <= deploy.MAX_DESCRIPTION for p in variants)
    assert all(p.get("mode", {"type": "pull"})["type"] == "pull" for p in audit)


def test_the_daily_audit_holds_neither_the_review_nor_organization_level_policies():
    daily = deployed("deploy/periodic.yml")
    assert {p["mode"]["schedule"] for p in daily} == {"rate(1 day)"}
    assert not [p for p in daily if p["resource"] == "aws.org-account" or catalog.get(p["name"]).cadence == "review"]
    assert [p["name"] for p in deployed("deploy/securityhub.yml")] == [p["name"] for p in daily]
    # organization-level policies only in the management account's file
    organization = deployed("deploy/organization.yml")
    assert organization and {p["resource"] for p in organization} == {"aws.org-account"}


def test_the_break_glass_review_runs_weekly_with_the_register_in_its_environment():
    review = {p["name"]: p for p in deployed("deploy/break-glass-review.yml")}
    assert set(review) == {c.id for c in catalog.CONTROLS if c.cadence == "review"}
    assert {p["mode"]["schedule"] for p in review.values()} == {"rate(7 days)"}
    session = review["root-session-unapproved"]
    assert session["mode"]["environment"] == {"Variables": {"ROOTGUARD_APPROVALS": "{rootguard_approvals}"}}
    assert "approvals" not in session["filters"][0]  # read from the environment
    # the register is required there: deployed without it, every approved session would be mailed as HIGH
    from rootguard_filters.deployment.lambda_modes import unset_variables
    assert "rootguard_approvals" in unset_variables(session)


def test_a_register_location_reaches_the_review_and_the_role_may_read_that_object_only(tmp_path):
    (tmp_path / "policies").mkdir()
    for name in ("account.yml", "break-glass.yml"):
        (tmp_path / "policies" / name).write_text((REPO / "policies" / name).read_text())
    assert deploy.main(["--root", str(tmp_path), "--approvals", "s3://security-registers/root-approvals.csv",
                        "--review-schedule", "rate(14 days)"]) == 0
    [session] = [p for p in yaml.safe_load((tmp_path / "deploy/break-glass-review.yml").read_text())["policies"]
                 if p["name"] == "root-session-unapproved"]
    assert session["mode"]["environment"]["Variables"]["ROOTGUARD_APPROVALS"] == \
        "s3://security-registers/root-approvals.csv"
    assert session["mode"]["schedule"] == "rate(14 days)"
    role = json.loads((tmp_path / "iam/lambda-execution-role.json").read_text())
    reads = [s for s in role["Statement"] if "s3:GetObject" in s["Action"]]
    assert reads == [{"Sid": "BreakGlassRegister", "Effect": "Allow", "Action": ["s3:GetObject"],
                      "Resource": ["arn:aws:s3:::security-registers/root-approvals.csv"]}]


def test_a_register_outside_s3_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        deploy.main(["--root", str(REPO), "--check", "--approvals", "/etc/approvals.csv"])
    assert exit_.value.code == 2 and "reads its register from S3" in capsys.readouterr().err


def test_generator_reads_whatever_policies_are_in_the_directory(tmp_path):
    (tmp_path / "extra.yml").write_text(yaml.safe_dump({"policies": [
        {"name": "root-recently-used", "resource": "aws.account",
         "metadata": catalog.get("root-recently-used").policy_metadata(),
         "filters": [{"type": "root-credentials", "used-within-days": 30}]}]}))
    files = deploy.generate(tmp_path, schedule="rate(12 hours)", role="arn:aws:iam::111122223333:role/audit",
                            output_dir="s3://rootguard-findings/periodic",
                            notify_queue="https://sqs.us-east-1.amazonaws.com/111122223333/rootguard")
    [policy] = yaml.safe_load(files["deploy/periodic.yml"])["policies"]
    assert policy["mode"]["schedule"] == "rate(12 hours)"
    assert policy["mode"]["execution-options"] == {"output_dir": "s3://rootguard-findings/periodic"}
    assert policy["actions"][0]["transport"] == {"type": "sqs",
                                                 "queue": "https://sqs.us-east-1.amazonaws.com/111122223333/rootguard"}


def test_every_periodic_policy_sends_its_findings_to_the_mailer_queue_of_the_vars_file_by_default():
    for name in GENERATED:
        for policy in yaml.safe_load((REPO / name).read_text())["policies"]:
            [notify] = [a for a in policy["actions"] if a["type"] == "notify"]
            assert notify["transport"] == {"type": "sqs", "queue": "{rootguard_notify_queue}"}, policy["name"]
            assert notify["to"] == ["{rootguard_notify_to}"]
            assert notify["template"] == "rootguard-finding.html"


def test_a_topic_replaces_the_default_queue(tmp_path):
    (tmp_path / "p.yml").write_text((REPO / "policies/account.yml").read_text())
    files = deploy.generate(tmp_path, notify_topic="arn:aws:sns:us-east-1:111122223333:rootguard")
    policy = yaml.safe_load(files["deploy/periodic.yml"])["policies"][0]
    assert [a["transport"] for a in policy["actions"] if a["type"] == "notify"] == [
        {"type": "sns", "topic": "arn:aws:sns:us-east-1:111122223333:rootguard"}]


@pytest.mark.parametrize("argv, message", [
    (["--member-role", "arn:aws:iam::{account_id}:role/rootguard-audit"], "Deploy deploy/periodic.yml to every account"),
    (["--output-dir", "/var/out"], "only an s3:// output"),
])
def test_generator_rejects_removed_and_useless_options_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        deploy.main(["--root", str(REPO), "--check", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_committed_drift_remediation_role_holds_exactly_the_remediation_policies_permissions():
    committed = json.loads((REPO / "iam/drift-remediation-role.json").read_text())
    assert committed == deploy.execution_role_policy([REPO / "remediation/realtime-drift.yml"])
    actions = {a for statement in committed["Statement"] for a in statement["Action"]}
    assert {"logs:PutMetricFilter", "cloudwatch:PutMetricAlarm", "organizations:AttachPolicy"} <= actions
    # the drift function attaches SCPs on its own: only the pack's tagged SCP (attach-root-scp's scopes)
    attach = [st for st in committed["Statement"] if "organizations:AttachPolicy" in st["Action"]]
    assert attach and all(st["Resource"] != "*" for st in attach)
    shared = set(json.loads((REPO / "iam/lambda-execution-role.json").read_text())["Statement"][1]["Action"])
    # the alert functions' role gets none of the remediation writes
    assert not {"logs:PutMetricFilter", "cloudwatch:PutMetricAlarm", "organizations:AttachPolicy",
                "organizations:CreatePolicy", "sns:Subscribe"} & shared


def test_securityhub_variant_carries_the_catalog_severity_and_cis_ids():
    hub = {p["name"]: p for p in yaml.safe_load((REPO / "deploy/securityhub.yml").read_text())["policies"]}
    [finding] = [a for a in hub["root-mfa-missing"]["actions"] if a["type"] == "post-finding"]
    assert finding["severity_label"] == "CRITICAL"
    assert finding["types"] == ["Software and Configuration Checks/Industry and Regulatory Standards/"
                                "CIS AWS Foundations Benchmark"]
    assert finding["fields"]["cis-aws-foundations-v3.0.0"] == "1.5"
    assert finding["fields"]["security-hub-controls"] == "IAM.9"
    assert hub["root-recently-used"]["actions"][-1]["severity_label"] == "MEDIUM"


def test_permissions_include_filters_nested_in_or_and_not():
    data = {"name": "nested", "resource": "aws.account",
            "filters": [{"or": [{"not": [{"type": "root-mfa", "states": ["none"]}]}]}]}
    policy = Policy(data, Config.empty(account_id="123456789012", region="us-east-1"))
    assert "iam:ListVirtualMFADevices" not in policy.get_permissions()  # c7n's own answer misses it
    assert "iam:ListVirtualMFADevices" in deploy.policy_permissions(policy)


def test_custodian_validate_rejects_a_bad_option_in_a_deploy_file(tmp_path, monkeypatch):
    bad = (REPO / "deploy/periodic.yml").read_text().replace("    - none\n", "    - nonsense\n", 1)
    (tmp_path / "bad.yml").write_text(bad)
    monkeypatch.setattr("sys.argv", ["custodian", "validate", str(tmp_path / "bad.yml")])
    with pytest.raises(SystemExit) as exit_:
        custodian()
    assert exit_.value.code == 1


def test_an_s3_output_dir_lands_in_the_mode_and_the_role_may_write_there_only(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "account.yml").write_text((REPO / "policies/account.yml").read_text())
    assert deploy.main(["--root", str(tmp_path), "--output-dir", "s3://rootguard-findings/daily"]) == 0
    periodic = yaml.safe_load((tmp_path / "deploy/periodic.yml").read_text())["policies"]
    assert {p["mode"]["execution-options"]["output_dir"] for p in periodic} == {"s3://rootguard-findings/daily"}
    role = json.loads((tmp_path / "iam/lambda-execution-role.json").read_text())
    [output] = [s for s in role["Statement"] if s["Sid"] == "RootguardOutput"]
    assert output == {"Sid": "RootguardOutput", "Effect": "Allow", "Action": ["s3:PutObject"],
                      "Resource": ["arn:aws:s3:::rootguard-findings/daily/*"]}
    committed = json.loads((REPO / "iam/lambda-execution-role.json").read_text())
    assert not [s for s in committed["Statement"] if s["Sid"] == "RootguardOutput"]  # default: no S3 output
