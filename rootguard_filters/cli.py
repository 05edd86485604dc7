"""``rootguard``: the sandbox organization, the checklist report and the one-command demo."""
import sys

USAGE = """rootguard COMMAND [ARGS]

commands:
  demo      start the sandbox organization, run every policy of the pack across it with c7n-org,
            stop the sandbox and print the root checklist (HTML report too)
  sandbox   run the local sandbox AWS (moto + rootguard fill-ins) on 127.0.0.1 until Ctrl-C
  report    render the root checklist from custodian / c7n-org output directories
  deploy    regenerate the Lambda-mode policies (deploy/periodic.yml, deploy/securityhub.yml) from policies/

`rootguard COMMAND --help` describes each command's options.
"""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "report":
        from rootguard_filters.report import main as report_main
        return report_main(rest)
    if command == "sandbox":
        from rootguard_filters.sandbox.server import main as sandbox_main
        return sandbox_main(rest)
    if command == "deploy":
        from rootguard_filters.deploy import main as deploy_main
        return deploy_main(rest)
    if command == "demo":
        from rootguard_filters.demo import main as demo_main
        return demo_main(rest)
    print(f"rootguard: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
