"""How output trees become cells: every status, org controls, missing output, errors, malformed files."""
import json
import os

import pytest

from report_trees import (
    BUILTIN_FILTERS, accounts_file, account_run, errored_run, org_resource, verdict, write, write_policy_dir)
from rootguard_filters.report.collect import (
    NOT_EVALUATED, WORST_FIRST, ReportInputError, collect)

PROD, DEV, MGMT, SANDBOX = "222222222222", "333333333333", "111111111111", "444444444444"


def test_each_verdict_status_becomes_the_cell_status(tmp_path):
    """Flagged non-compliant, flagged unknown, not-applicable and compliant keep their reasons."""
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "non-compliant", "root has a password and no MFA")
    account_run(out, "prod", PROD, "root-access-keys-present", "could-not-evaluate", "AccessDenied")
    account_run(out, "prod", PROD, "root-recently-used", "not-applicable", "root has no credentials")
    account_run(out, "prod", PROD, "root-mfa-not-hardware", "compliant", "hardware MFA", device="u2f")
    matrix = collect(out)
    assert [a.label for a in matrix.accounts] == [f"prod ({PROD})"]
    cells = {c: matrix.cell(PROD, c) for c in ("root-mfa-missing", "root-access-keys-present",
                                               "root-recently-used", "root-mfa-not-hardware")}
    assert cells["root-mfa-missing"].status == "non-compliant"
    assert "no MFA" in cells["root-mfa-missing"].reason
    assert cells["root-access-keys-present"].status == "could-not-evaluate"
    assert "AccessDenied" in cells["root-access-keys-present"].reason
    assert cells["root-recently-used"].status == "not-applicable"
    assert cells["root-mfa-not-hardware"].status == "compliant"
    assert cells["root-mfa-not-hardware"].details == {"root-mfa": {"device": "u2f"}}
    assert cells["root-mfa-not-hardware"].region == "us-east-1"


def test_missing_policy_output_is_not_evaluated_never_compliant(tmp_path):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    cell = collect(out).cell(PROD, "alternate-contacts-missing")
    assert cell.status == NOT_EVALUATED
    assert "no output of policy alternate-contacts-missing" in cell.reason


@pytest.mark.parametrize("flagged", [[PROD], []])
def test_policy_named_for_a_pack_control_without_its_filter_cannot_evaluate_it(tmp_path, flagged):
    """A policy named after a pack control that runs only built-in filters proves nothing about the
    control, flagged or not: could-not-evaluate naming the missing filter, never compliant."""
    out = tmp_path / "out"
    path = write_policy_dir(str(out / "prod" / "us-east-1" / "root-recently-used"), "root-recently-used",
                            PROD, "us-east-1", {}, flagged, filters=BUILTIN_FILTERS)
    assert not os.path.exists(os.path.join(path, "rootguard-verdicts.json"))
    cell = collect(str(out)).cell(PROD, "root-recently-used")
    assert cell.status == "could-not-evaluate"
    assert cell.reason.startswith("policy root-recently-used does not run root-credentials")


def test_accounts_file_account_without_output_is_not_evaluated(tmp_path):
    """An account whose role could not be assumed has no directory at all."""
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    matrix = collect(out, accounts_file(str(tmp_path), [(PROD, "prod"), (DEV, "dev")]))
    assert [a.name for a in matrix.accounts] == ["prod", "dev"]
    for control in matrix.controls:
        assert matrix.cell(DEV, control.id).status == NOT_EVALUATED
    assert "role could not be assumed" in matrix.cell(DEV, "root-mfa-missing").reason


def test_accounts_file_maps_directory_names_to_ids_without_metadata(tmp_path):
    """A run that died before metadata.json still lands on the right account id."""
    out = tmp_path / "out"
    (out / "prod" / "us-east-1" / "root-mfa-missing").mkdir(parents=True)
    matrix = collect(str(out), accounts_file(str(tmp_path), [(PROD, "prod")]))
    cell = matrix.cell(PROD, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert "no metadata.json" in cell.reason
    assert len(matrix.accounts) == 1


def test_errored_policy_logged_by_plain_custodian_is_could_not_evaluate(tmp_path):
    out = tmp_path / "out"
    account_run(str(out), "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    errored_run(str(out / "prod" / "us-east-1" / "root-access-keys-present"), "root-access-keys-present", PROD)
    cell = collect(str(out)).cell(PROD, "root-access-keys-present")
    assert cell.status == "could-not-evaluate"
    assert "AccessDenied" in cell.reason and "ClientError" in cell.reason


def test_errored_policy_under_c7n_org_is_detected_by_missing_resources_json(tmp_path):
    """c7n-org silences custodian.output, so the log is clean; resources.json is what's missing."""
    out = tmp_path / "out"
    errored_run(str(out / "prod" / "us-east-1" / "root-mfa-missing"), "root-mfa-missing", PROD,
                plain_custodian=False)
    cell = collect(str(out)).cell(PROD, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert "no resources.json" in cell.reason


@pytest.mark.parametrize("name, text, expected", [
    ("resources.json", "[{not json", "resources.json unreadable"),
    ("resources.json", '{"account_id": "x"}', "not a list of resources"),
    ("rootguard-verdicts.json", "{", "rootguard-verdicts.json unreadable"),
    ("rootguard-verdicts.json", '{"verdicts": {"222222222222": {"root-mfa": {"status": "fine"}}}}',
     "malformed verdict"),
    ("metadata.json", "", "metadata.json unreadable"),
])
def test_malformed_file_is_could_not_evaluate_not_a_crash(tmp_path, name, text, expected):
    out = tmp_path / "out"
    path = account_run(str(out), "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    write(path, name, text)
    cell = collect(str(out), accounts_file(str(tmp_path), [(PROD, "prod")])).cell(PROD, "root-mfa-missing")
    assert cell.status == "could-not-evaluate"
    assert expected in cell.reason


def test_malformed_annotation_in_resources_is_could_not_evaluate(tmp_path):
    out = tmp_path / "out"
    path = account_run(str(out), "prod", PROD, "root-mfa-missing", "non-compliant", "no MFA")
    write(path, "resources.json", json.dumps([{"account_id": PROD, "c7n:rootguard": ["oops"]}]))
    assert collect(str(out)).cell(PROD, "root-mfa-missing").status == "could-not-evaluate"


def test_worst_region_wins(tmp_path):
    """Same control in two regions: non-compliant in one beats compliant in the other."""
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on", region="us-east-1")
    account_run(out, "prod", PROD, "root-mfa-missing", "non-compliant", "no MFA", region="eu-west-1")
    cell = collect(out).cell(PROD, "root-mfa-missing")
    assert (cell.status, cell.region) == ("non-compliant", "eu-west-1")


def test_worst_first_order_is_documented():
    assert WORST_FIRST == ("could-not-evaluate", "non-compliant", "not-evaluated", "not-applicable", "compliant")


def org_tree(tmp_path):
    """Management account ran root-scp-missing: one member covered, one not, one unknown."""
    out = tmp_path / "out"
    verdicts = {
        MGMT: {"root-scp": verdict("compliant", "deny-root SCP attached to the root")},
        PROD: {"root-scp": verdict("non-compliant", "no SCP denies root", ou="ou-prod")},
        DEV: {"root-scp": verdict("could-not-evaluate", "DescribePolicy AccessDenied")},
    }
    write_policy_dir(str(out / "mgmt" / "us-east-1" / "root-scp-missing"), "root-scp-missing", MGMT,
                     "us-east-1", verdicts, [PROD, DEV], resource=org_resource,
                     names={PROD: "prod", DEV: "dev"})
    for name, account_id in (("mgmt", MGMT), ("prod", PROD), ("dev", DEV)):
        account_run(str(out), name, account_id, "root-mfa-missing", "compliant", "MFA on")
    return str(out)


def test_org_control_maps_management_verdicts_to_member_accounts(tmp_path):
    matrix = collect(org_tree(tmp_path))
    assert matrix.cell(MGMT, "root-scp-missing").status == "compliant"
    prod = matrix.cell(PROD, "root-scp-missing")
    assert (prod.status, prod.details) == ("non-compliant", {"root-scp": {"ou": "ou-prod"}})
    assert matrix.cell(DEV, "root-scp-missing").status == "could-not-evaluate"
    assert {a.name for a in matrix.accounts} == {"mgmt", "prod", "dev"}


def test_org_member_missing_from_management_output_is_not_evaluated(tmp_path):
    out = org_tree(tmp_path)
    matrix = collect(out, accounts_file(str(tmp_path), [(MGMT, "mgmt"), (SANDBOX, "sandbox")]))
    cell = matrix.cell(SANDBOX, "root-scp-missing")
    assert cell.status == NOT_EVALUATED
    assert "not among the accounts root-scp-missing reported" in cell.reason


def test_org_control_failing_in_member_accounts_is_ignored_when_management_answered(tmp_path):
    """Members can't call Organizations; their errored runs must not hide the management answer."""
    out = org_tree(tmp_path)
    errored_run(os.path.join(out, "prod", "us-east-1", "root-scp-missing"), "root-scp-missing", PROD,
                plain_custodian=False)
    matrix = collect(out)
    assert matrix.cell(MGMT, "root-scp-missing").status == "compliant"
    assert any("ignored failed run in prod" in note for note in matrix.notes)


def test_org_control_that_failed_everywhere_is_could_not_evaluate_for_every_account(tmp_path):
    out = tmp_path / "out"
    errored_run(str(out / "mgmt" / "us-east-1" / "root-scp-missing"), "root-scp-missing", MGMT)
    account_run(str(out), "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    matrix = collect(str(out))
    for account in matrix.accounts:
        cell = matrix.cell(account, "root-scp-missing")
        assert cell.status == "could-not-evaluate"
        assert "in mgmt" in cell.reason


def test_plain_custodian_layout_reads_one_account_from_metadata(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # Same files as c7n-org writes, one level up: OUT/<policy>/.
    path = account_run(str(tmp_path / "org"), "x", PROD, "root-mfa-missing", "non-compliant", "no MFA")
    os.rename(path, out / "root-mfa-missing")
    matrix = collect(str(out))
    assert [a.id for a in matrix.accounts] == [PROD]
    assert matrix.cell(PROD, "root-mfa-missing").status == "non-compliant"


def test_other_policies_output_is_noted_and_skipped(tmp_path):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    os.makedirs(os.path.join(out, "prod", "us-east-1", "s3-public"))
    matrix = collect(out)
    assert any("s3-public" in note for note in matrix.notes)
    assert len(matrix.cells) == len(matrix.controls)


def test_totals_count_every_account_and_control(tmp_path):
    matrix = collect(org_tree(tmp_path))
    by_control = matrix.totals_by_control()
    assert sum(by_control["root-scp-missing"].values()) == 3
    assert by_control["root-mfa-missing"]["compliant"] == 3
    by_account = matrix.totals_by_account()
    assert sum(by_account[PROD].values()) == len(matrix.controls)


def test_unreadable_input_raises_report_input_error(tmp_path):
    with pytest.raises(ReportInputError):
        collect(str(tmp_path / "absent"))
    bad = tmp_path / "accounts.yml"
    bad.write_text("accounts: 3\n")
    tmp_out = tmp_path / "out"
    tmp_out.mkdir()
    with pytest.raises(ReportInputError):
        collect(str(tmp_out), str(bad))


# ---------------------------------------------------------------- pack policies: verdicts, not membership

def test_not_wrapped_could_not_evaluate_stays_could_not_evaluate(tmp_path):
    """`not: [root-credentials]` drops the unknown account from resources.json; the verdict stands."""
    out = tmp_path / "out"
    write_policy_dir(str(out / "prod" / "us-east-1" / "root-recently-used"), "root-recently-used",
                     PROD, "us-east-1",
                     {PROD: {"root-credentials": verdict("could-not-evaluate", "report in progress")}}, [],
                     filters=[{"not": [{"type": "root-credentials", "used-within-days": 90}]}])
    cell = collect(str(out)).cell(PROD, "root-recently-used")
    assert (cell.status, cell.reason) == ("could-not-evaluate", "root-credentials: report in progress")


def test_not_wrapped_compliant_account_flagged_by_the_policy_is_compliant(tmp_path):
    out = tmp_path / "out"
    write_policy_dir(str(out / "prod" / "us-east-1" / "root-mfa-missing"), "root-mfa-missing",
                     PROD, "us-east-1", {PROD: {"root-mfa": verdict("compliant", "hardware MFA")}}, [PROD],
                     filters=[{"not": [{"type": "root-mfa"}]}])
    assert collect(str(out)).cell(PROD, "root-mfa-missing").status == "compliant"


def test_extra_filter_that_drops_a_finding_keeps_it_non_compliant(tmp_path):
    out = tmp_path / "out"
    write_policy_dir(str(out / "prod" / "us-east-1" / "root-access-keys-present"), "root-access-keys-present",
                     PROD, "us-east-1", {PROD: {"root-credentials": verdict("non-compliant", "access keys present")}},
                     [], filters=[{"type": "root-credentials", "access-keys": True},
                                  {"type": "value", "key": "account_id", "value": "000000000000"}])
    assert collect(str(out)).cell(PROD, "root-access-keys-present").status == "non-compliant"


def test_completed_pack_policy_without_a_verdict_is_could_not_evaluate(tmp_path):
    """A filter before the pack's dropped the account: nothing was checked, so not compliant."""
    out = tmp_path / "out"
    path = write_policy_dir(
        str(out / "prod" / "us-east-1" / "root-signing-certificates-present"),
        "root-signing-certificates-present", PROD, "us-east-1", {}, [],
        filters=[{"and": [{"type": "value", "key": "account_id", "value": "000000000000"},
                          {"type": "root-credentials", "signing-certificates": True}]}])
    assert not os.path.exists(os.path.join(path, "rootguard-verdicts.json"))
    cell = collect(str(out)).cell(PROD, "root-signing-certificates-present")
    assert cell.status == "could-not-evaluate" and cell.reason.startswith("no verdict recorded")


def test_verdicts_of_other_pack_filters_do_not_answer_for_the_control(tmp_path):
    out = tmp_path / "out"
    write_policy_dir(str(out / "prod" / "us-east-1" / "root-access-keys-present"), "root-access-keys-present",
                     PROD, "us-east-1", {PROD: {"root-mfa": verdict("compliant", "hardware MFA")}}, [],
                     filters=[{"type": "root-mfa"}, {"type": "root-credentials", "access-keys": True}])
    cell = collect(str(out)).cell(PROD, "root-access-keys-present")
    assert cell.status == "could-not-evaluate" and "no verdict recorded" in cell.reason
    assert "only root-mfa" in cell.reason


def test_two_pack_filters_the_control_verdict_comes_from_its_own_filter(tmp_path):
    out = tmp_path / "out"
    write_policy_dir(str(out / "prod" / "us-east-1" / "root-access-keys-present"), "root-access-keys-present",
                     PROD, "us-east-1",
                     {PROD: {"root-mfa": verdict("could-not-evaluate", "ListVirtualMFADevices denied"),
                             "root-credentials": verdict("non-compliant", "access keys present")}}, [PROD],
                     filters=[{"type": "root-credentials", "access-keys": True}, {"type": "root-mfa"}])
    cell = collect(str(out)).cell(PROD, "root-access-keys-present")
    assert (cell.status, cell.reason) == ("non-compliant", "root-credentials: access keys present")


def test_org_pack_policy_trusts_member_verdicts_over_flags(tmp_path):
    out = tmp_path / "out"
    verdicts = {PROD: {"root-scp": verdict("could-not-evaluate", "malformed SCP")},
                DEV: {"root-scp": verdict("compliant", "denied")}}
    write_policy_dir(str(out / "mgmt" / "us-east-1" / "root-scp-missing"), "root-scp-missing", MGMT,
                     "us-east-1", verdicts, [DEV, SANDBOX], resource=org_resource,
                     names={DEV: "dev", SANDBOX: "sandbox"},
                     filters=[{"not": [{"type": "root-scp"}]}])
    matrix = collect(str(out))
    assert matrix.cell(PROD, "root-scp-missing").status == "could-not-evaluate"
    assert matrix.cell(DEV, "root-scp-missing").status == "compliant"
    sandbox = matrix.cell(SANDBOX, "root-scp-missing")
    assert sandbox.status == "could-not-evaluate" and "no verdict recorded" in sandbox.reason


def test_break_glass_review_not_run_is_left_out_with_a_note_not_missing_everywhere(tmp_path):
    """A daily run (account.yml) holds no break-glass review: its controls are not columns of missing cells."""
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    matrix = collect(out)
    review = {"root-session-unapproved", "root-only-admin", "admin-users-without-mfa"}
    assert review.isdisjoint(c.id for c in matrix.controls)
    assert matrix.cell(PROD, "root-session-unapproved") is None
    assert any("break-glass" in note and "root-session-unapproved" in note for note in matrix.notes)
    # daily controls that did not run stay not-evaluated: a missing daily policy is never hidden
    assert matrix.cell(PROD, "alternate-contacts-missing").status == NOT_EVALUATED


def test_break_glass_review_that_ran_is_reported(tmp_path):
    out = str(tmp_path / "out")
    account_run(out, "prod", PROD, "root-mfa-missing", "compliant", "MFA on")
    account_run(out, "prod", PROD, "root-session-unapproved", "non-compliant", "1 root session unapproved")
    matrix = collect(out)
    assert matrix.cell(PROD, "root-session-unapproved").status == "non-compliant"
    assert "root-only-admin" in {c.id for c in matrix.controls}
    assert matrix.cell(PROD, "root-only-admin").status == NOT_EVALUATED
