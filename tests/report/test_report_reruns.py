"""One output directory, many runs: which files count (trees shaped as custodian / c7n-org leave them).

c7n rewrites ``metadata.json`` on every run and leaves every other file of an earlier run; file times
are set as the runs would have left them (os.utime), the runs' times in metadata.json.
"""
import json
import os
import time

from report_trees import LOG_LINE, account_run, metadata, org_resource, verdict, write, write_policy_dir
from rootguard_filters.report import main
from rootguard_filters.report.collect import Matrix, collect

PROD, DEV, MGMT = "222222222222", "333333333333", "111111111111"
DAY1, DAY2 = 1_790_000_000.0, 1_790_086_400.0     # two scheduled runs, a day apart


def set_run(path, start, duration=1.0, execution_id=None, files=True):
    """Make ``path`` look written by a run at ``start``: metadata.json's execution, and (files=True) the
    other files' times."""
    meta_path = os.path.join(path, "metadata.json")
    with open(meta_path, encoding="utf-8") as f:
        data = json.load(f)
    data["execution"] = {"id": execution_id or f"run-{int(start)}", "start": start, "end_time": start + duration,
                         "duration": duration}
    write(path, "metadata.json", json.dumps(data))
    os.utime(meta_path, (start + duration, start + duration))
    if files:
        for name in os.listdir(path):
            if name != "metadata.json":
                os.utime(os.path.join(path, name), (start + duration / 2, start + duration / 2))


def stamp_verdicts(path, execution_id):
    file_path = os.path.join(path, "rootguard-verdicts.json")
    with open(file_path, encoding="utf-8") as f:
        data = json.load(f)
    data["execution_id"] = execution_id
    times = os.stat(file_path)
    write(path, "rootguard-verdicts.json", json.dumps(data))
    os.utime(file_path, (times.st_atime, times.st_mtime))


def local_log_time(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) + ",000"


# ------------------------------------------------------------------ one policy directory

def test_resources_json_older_than_the_latest_run_is_never_a_verdict(tmp_path):
    out = str(tmp_path / "out")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    set_run(path, DAY1)
    set_run(path, DAY2, files=False)      # run 2 stopped in the resource query: only metadata.json is new
    matrix = collect(out)
    cell = matrix.cell(PROD, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert "output from an earlier run (2026-09-21T" in cell.reason and "no resources.json" in cell.reason
    assert matrix.stale and matrix.to_dict()["stale_output_seen"] is True


def test_a_verdict_file_stamped_by_another_run_is_ignored(tmp_path):
    out = str(tmp_path / "out")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    stamp_verdicts(path, "run-of-day-1")
    set_run(path, DAY2, execution_id="run-of-day-2")    # resources.json is new, the verdict file is not ours
    cell = collect(out).cell(PROD, "root-mfa-missing")
    assert cell.status == "could-not-evaluate" and cell.reason.startswith("no verdict recorded"), cell
    stamp_verdicts(path, "run-of-day-2")
    assert collect(out).cell(PROD, "root-mfa-missing").status == "compliant"


def test_an_unstamped_verdict_file_older_than_the_run_is_ignored(tmp_path):
    out = str(tmp_path / "out")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    set_run(path, DAY2)
    os.utime(os.path.join(path, "rootguard-verdicts.json"), (DAY1, DAY1))
    matrix = collect(out)
    assert matrix.cell(PROD, "root-mfa-missing").status == "could-not-evaluate"
    assert any("rootguard-verdicts.json from an earlier run" in s for s in matrix.stale)


def test_an_earlier_runs_error_in_the_appended_log_does_not_stick(tmp_path):
    out = str(tmp_path / "out")
    error = (f"{local_log_time(DAY1)} - custodian.output - ERROR - Error while executing policy\n"
             "Traceback (most recent call last):\n"
             "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
             "ListAccountAliases operation: denied\n")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    write(path, "custodian-run.log", error)
    set_run(path, DAY2)
    assert collect(out).cell(PROD, "root-mfa-missing").status == "compliant"
    set_run(path, DAY1 - 60)            # the error is the latest run's
    assert collect(out).cell(PROD, "root-mfa-missing").status == "could-not-evaluate"


# ------------------------------------------------------------------ controls by metadata

def test_renamed_policies_feed_the_control_their_metadata_names(tmp_path):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-access-keys-present", "non-compliant", "keys")
    os.rename(os.path.join(out, "prod", "us-east-1", "root-access-keys-present"),
              os.path.join(out, "prod", "us-east-1", "prod-root-access-keys"))
    scp = os.path.join(out, "mgmt", "us-east-1", "org-wide-scp-check")
    write_policy_dir(scp, "root-scp-missing", MGMT, "us-east-1",
                     {PROD: {"root-scp": verdict("non-compliant", "no SCP denies root")}}, [PROD],
                     resource=org_resource, names={PROD: "prod"})
    matrix = collect(out)
    cell = matrix.cell(PROD, "root-access-keys-present")
    assert (cell.status, cell.policy) == ("non-compliant", "prod-root-access-keys")
    assert matrix.cell(PROD, "root-scp-missing").status == "non-compliant"
    assert not [n for n in matrix.notes if "not a rootguard control" in n]


def test_metadata_naming_no_rootguard_control_is_not_one(tmp_path):
    out = str(tmp_path / "out")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    with open(os.path.join(path, "metadata.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["policy"]["metadata"]["control"] = "s3-public-buckets"
    write(path, "metadata.json", json.dumps(data))
    os.rename(path, path.replace("root-mfa-missing", "team-s3-check"))
    matrix = collect(out)
    assert matrix.cell(PROD, "root-mfa-missing") is None or matrix.cell(PROD, "root-mfa-missing").status != "compliant"
    assert [n for n in matrix.notes if "team-s3-check: not a rootguard control" in n]


def test_an_org_policy_mapped_to_a_pack_control_without_its_filter_cannot_evaluate_any_member(tmp_path):
    out = str(tmp_path / "out")
    path = os.path.join(out, "mgmt", "us-east-1", "root-scp-missing")
    write_policy_dir(path, "root-scp-missing", MGMT, "us-east-1", {}, [], resource=org_resource,
                     filters=[{"type": "value", "key": "Status", "value": "ACTIVE"}])
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    cell = collect(out).cell(PROD, "root-scp-missing")
    assert cell.status == "could-not-evaluate" and "does not run root-scp" in cell.reason


# ------------------------------------------------------------------ c7n-org's log

def c7n_org_sequence(out, account, account_id, policies, start, gap=0.002, duration=0.3):
    """Policies run back to back in one c7n-org account × region task; returns {policy: path}."""
    paths = {}
    for index, policy in enumerate(policies):
        path = account_run(out, account, account_id, policy, "compliant", "fine")
        set_run(path, start + index * (duration + gap), duration)
        paths[policy] = path
    return paths


def test_an_account_stopped_mid_sequence_keeps_what_ran_before_and_not_what_ran_yesterday(tmp_path):
    out = str(tmp_path / "out")
    order = ["root-mfa-missing", "root-access-keys-present", "root-recently-used", "alternate-contacts-missing"]
    c7n_org_sequence(out, "prod", PROD, order, DAY1)                  # yesterday: all four
    today = c7n_org_sequence(out, "prod", PROD, order[:2], DAY2)      # today: two, then ...
    stopped = account_run(out, "prod", PROD, order[2], "compliant", "fine")
    set_run(stopped, DAY1 + 0.6)                                      # ... the third's query is denied:
    set_run(stopped, DAY2 + 0.604, files=False)                       # only its metadata.json is today's
    log = tmp_path / "c7n-org.log"
    log.write_text(f"{local_log_time(DAY2 + 0.904)}: c7n_org:WARNING Access denied api:ListAccountAliases "
                   f"policy:{order[2]} account:prod region:us-east-1\n")
    matrix = collect(out, c7n_org_log=str(log))
    assert today and matrix.cell(PROD, order[0]).status == "compliant"
    assert matrix.cell(PROD, order[1]).status == "compliant"
    third, fourth = matrix.cell(PROD, order[2]), matrix.cell(PROD, order[3])
    assert third.status == "could-not-evaluate" and "AccessDenied on ListAccountAliases" in third.reason
    assert fourth.status == "could-not-evaluate"
    assert f"c7n-org stopped the account at {order[2]}" in fourth.reason
    assert "output from an earlier run (" in fourth.reason


def test_output_newer_than_the_log_is_not_overruled_by_it(tmp_path):
    out = str(tmp_path / "out")
    path = account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "hardware MFA")
    set_run(path, DAY2)
    log = tmp_path / "c7n-org.log"
    log.write_text(f"{local_log_time(DAY1)}: c7n_org:WARNING Access denied api:AssumeRole "
                   "policy:root-mfa-missing account:prod region:us-east-1\n")
    assert collect(out, c7n_org_log=str(log)).cell(PROD, "root-mfa-missing").status == "compliant"


def test_an_unassumable_account_with_yesterdays_output_is_could_not_evaluate(tmp_path, capsys):
    out = str(tmp_path / "out")
    c7n_org_sequence(out, "prod", PROD, ["root-mfa-missing", "root-access-keys-present"], DAY1)
    c7n_org_sequence(out, "dev", DEV, ["root-mfa-missing", "root-access-keys-present"], DAY2)
    log = tmp_path / "c7n-org.log"
    log.write_text(f"{local_log_time(DAY2 + 0.1)}: c7n_org:WARNING Access denied api:AssumeRole "
                   "policy:root-mfa-missing account:prod region:us-east-1\n")
    status = main([out, "--c7n-org-log", str(log), "--format", "json", "--fail-on", "non-compliant,could-not-evaluate"])
    data = json.loads(capsys.readouterr().out)
    assert status == 6
    cells = {(c["account_name"], c["control"]): c for c in data["cells"]}
    for control in ("root-mfa-missing", "root-access-keys-present"):
        assert cells[("prod", control)]["status"] == "could-not-evaluate"
        assert "AccessDenied on AssumeRole" in cells[("prod", control)]["reason"]
        assert "output from an earlier run (2026-09-21T" in cells[("prod", control)]["reason"]
        assert cells[("prod", control)]["evaluated_at"].startswith("2026-09-22T")   # the log's run
        assert cells[("dev", control)]["status"] == "compliant"
        assert cells[("dev", control)]["evaluated_at"].startswith("2026-09-22T")
    assert data["stale_output_seen"] is True
    # the "as of" span is the runs the cells come from, not yesterday's leftovers
    assert data["run_started"].startswith("2026-09-22T")


# ------------------------------------------------------------------ failed fixes

def remediation_dir(out, records, start=DAY2, log=""):
    path = os.path.join(out, "attach-root-scp")
    os.makedirs(path, exist_ok=True)
    data = metadata("root-scp-missing", MGMT, "us-east-1", out)
    data["policy"] = {"name": "attach-root-scp", "resource": "aws.org-account", "filters": [{"type": "root-scp"}],
                      "actions": [{"type": "attach-root-scp"}]}
    write(path, "metadata.json", json.dumps(data))
    write(path, "resources.json", "[]")
    write(path, "action-attachrootscp", json.dumps(records))
    write(path, "custodian-run.log", log)
    set_run(path, start)
    return path


FAILED = {"action": "attach-root-scp", "account": MGMT, "call": "organizations:AttachPolicy", "target": "r-abcd",
          "result": "failed", "detail": "organizations:AttachPolicy failed: ConstraintViolationException: "
                                        "<b>six</b> SCPs on r-abcd", "error_code": "ConstraintViolationException"}


def test_failed_fixes_are_listed_in_every_format_and_exit_8(tmp_path, capsys):
    out = str(tmp_path / "plain")
    account_run(out, "x", MGMT, "root-mfa-missing", "compliant", "fine")
    out = os.path.join(out, "x", "us-east-1")     # plain custodian layout: OUT/<policy>/
    remediation_dir(out, [dict(FAILED), dict(FAILED, result="done", call="organizations:CreatePolicy")])
    for fmt, needle in (("text", "Fixes that did not happen (1)"), ("markdown", "Fixes that did not happen (1)"),
                        ("html", "&lt;b&gt;six&lt;/b&gt;"), ("csv", ",failed,"), ("json", '"failed_fixes"')):
        assert main([out, "--format", fmt]) == 8, fmt
        text = capsys.readouterr().out
        assert needle in text and "organizations:AttachPolicy" in text, fmt
        if fmt == "json":     # only the unfixed record: the done one is not a failure
            assert [f["call"] for f in json.loads(text)["failed_fixes"]] == ["organizations:AttachPolicy"]
    assert main([out, "--fail-on", "non-compliant,could-not-evaluate"]) == 0
    capsys.readouterr()


def test_an_earlier_runs_action_file_is_not_todays_failure(tmp_path):
    out = str(tmp_path / "plain")
    account_run(out, "x", MGMT, "root-mfa-missing", "compliant", "fine")
    out = os.path.join(out, "x", "us-east-1")
    path = remediation_dir(out, [dict(FAILED)], start=DAY1)
    set_run(path, DAY2, files=False)
    os.utime(os.path.join(path, "resources.json"), (DAY2 + 0.5, DAY2 + 0.5))
    matrix = collect(out)
    assert matrix.fixes == [] and any("action-attachrootscp from an earlier run" in s for s in matrix.stale)


def test_the_packs_fixes_failed_error_is_not_an_evaluation_error(tmp_path):
    out = str(tmp_path / "out")
    log = (LOG_LINE.format(logger="custodian.output", level="ERROR", message="Error while executing policy")
           + "Traceback (most recent call last):\n"
           + "rootguard_filters.plumbing.writes.FixesFailed: attach-root-scp: 1 fix(es) did not happen\n")
    path = write_policy_dir(os.path.join(out, "root-scp-missing"), "root-scp-missing", MGMT, "us-east-1",
                            {PROD: {"root-scp": verdict("compliant", "covered")}}, [], resource=org_resource,
                            log=log)
    set_run(path, 1735725000.0)    # the log line (2025-01-01 10:00 local) is this run's
    assert collect(out).cell(PROD, "root-scp-missing").status == "compliant"


def test_json_round_trip_keeps_fixes_and_stale_output(tmp_path):
    out = str(tmp_path / "plain")
    account_run(out, "x", MGMT, "root-mfa-missing", "compliant", "fine")
    out = os.path.join(out, "x", "us-east-1")
    remediation_dir(out, [dict(FAILED)])
    matrix = collect(out)
    again = Matrix.from_dict(json.loads(json.dumps(matrix.to_dict())))
    assert again.fixes == matrix.fixes and again.fixes[0]["call"] == "organizations:AttachPolicy"
    assert again.fixes[0]["account_id"] == MGMT and again.stale == matrix.stale
