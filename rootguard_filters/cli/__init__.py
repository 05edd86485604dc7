"""``rootguard``: the sandbox organization, the checklist report and the one-command demo."""
import importlib.util
import sys

USAGE = """rootguard COMMAND [ARGS]

commands:
  demo      start the sandbox organization, run the pack's policies across it with c7n-org (account
            policies in every account, organization policies in the management account), stop the
            sandbox and print the root checklist (HTML report too); needs rootguard[sandbox]
  sandbox   run the local sandbox AWS (moto + rootguard fill-ins) on 127.0.0.1 until Ctrl-C;
            needs rootguard[sandbox]
  check     check in one line that AWS credentials and the endpoint work, before custodian / c7n-org
  report    render the root checklist from custodian / c7n-org output directories; --fail-on gates CI
  sessions  the break-glass review: every root session per account, what it did and its approval
  deploy    regenerate the Lambda-mode policies (deploy/periodic.yml, organization.yml,
            break-glass-review.yml, securityhub.yml) from policies/

`rootguard COMMAND --help` describes each command's options.
"""


SANDBOX_EXTRA = ("needs moto, which `pip install rootguard` leaves out: install the sandbox extra, "
                 "pip install 'rootguard[sandbox]' (from a checkout: pip install '.[sandbox]')")


def sandbox_missing(command):
    """A one-line error when the sandbox extra (moto) is not installed, else None."""
    if importlib.util.find_spec("moto") is None:
        return f"rootguard {command}: {SANDBOX_EXTRA}"
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "report":
        from rootguard_filters.report import main as report_main
        return report_main(rest)
    if command == "sessions":
        from rootguard_filters.report.sessions import main as sessions_main
        return sessions_main(rest)
    # demo --help works without moto (it imports the sandbox only to run); the sandbox needs moto to load.
    if sandbox_missing(command) and (command == "sandbox" or (command == "demo" and not {"-h", "--help"} & set(rest))):
        print(sandbox_missing(command), file=sys.stderr)
        return 2
    if command == "sandbox":
        from rootguard_filters.sandbox.command import main as sandbox_main
        return sandbox_main(rest, prog="rootguard sandbox")
    if command == "check":
        from rootguard_filters.cli.preflight import main as check_main
        return check_main(rest)
    if command == "deploy":
        from rootguard_filters.deployment.deploy_files import main as deploy_main
        return deploy_main(rest)
    if command == "demo":
        from rootguard_filters.cli.demo import main as demo_main
        return demo_main(rest)
    print(f"rootguard: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
