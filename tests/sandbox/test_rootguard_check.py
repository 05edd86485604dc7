"""`rootguard check --accounts`: the account whose role cannot be assumed, in one line, before c7n-org runs."""
from rootguard_filters import cli
from rootguard_filters.sandbox.seed import seed_organization
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS


def test_rootguard_check_names_the_unassumable_account_in_one_line(fresh, tmp_path, monkeypatch, capsys):
    seeded = seed_organization(fresh.endpoint_url, str(tmp_path))
    for name, value in {"AWS_ENDPOINT_URL": fresh.endpoint_url, **FAKE_CREDENTIALS}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    assert cli.main(["check", "--accounts", seeded["accounts_yml"]]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("rootguard check: ok: account ")
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and "unassumable" in errors[0] and "AccessDenied" in errors[0]
