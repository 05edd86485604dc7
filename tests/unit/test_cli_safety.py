"""`rootguard demo --workdir` clears only a directory it made; `rootguard deploy` needs a checkout."""
import pytest

from rootguard_filters.cli.demo import WORKDIR_MARKER, WorkdirRefused, main, prepare_workdir


def test_new_directory_is_made_with_the_marker(tmp_path):
    workdir = prepare_workdir(tmp_path / "demo-out")
    assert (workdir / WORKDIR_MARKER).is_file() and len(list(workdir.iterdir())) == 1


def test_empty_existing_directory_is_used(tmp_path):
    assert prepare_workdir(tmp_path) == tmp_path.resolve()
    assert (tmp_path / WORKDIR_MARKER).is_file()


def test_previous_demo_output_is_cleared(tmp_path):
    workdir = prepare_workdir(tmp_path / "demo-out")
    (workdir / "report.html").write_text("old")
    prepare_workdir(workdir)
    assert sorted(p.name for p in workdir.iterdir()) == [WORKDIR_MARKER]


def test_a_directory_with_other_content_is_refused_and_left_alone(tmp_path):
    precious = tmp_path / "home"
    (precious / ".ssh").mkdir(parents=True)
    (precious / ".ssh" / "id_ed25519").write_text("key")
    with pytest.raises(WorkdirRefused, match="not made by `rootguard demo`"):
        prepare_workdir(precious)
    assert (precious / ".ssh" / "id_ed25519").read_text() == "key"


def test_a_file_is_refused(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    with pytest.raises(WorkdirRefused):
        prepare_workdir(target)
    assert target.read_text() == "keep"


def test_demo_command_exits_with_a_clear_error_before_touching_anything(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("keep")
    policies = tmp_path / "policies"
    policies.mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(["--policies", str(policies), "--workdir", str(tmp_path)])
    assert exit_.value.code == 2
    assert "not made by `rootguard demo`" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "keep"


def test_deploy_outside_a_checkout_fails_clearly_and_writes_nothing(tmp_path, capsys):
    from rootguard_filters.deployment import deploy_files as deploy
    with pytest.raises(SystemExit) as exit_:
        deploy.main(["--root", str(tmp_path)])
    assert exit_.value.code == 2
    assert "no policies/*.yml" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
