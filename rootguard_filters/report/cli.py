"""``rootguard report OUT``: the organization's root checklist from a custodian / c7n-org output tree."""
import argparse
import sys

from rootguard_filters.report.collect import ReportInputError, collect
from rootguard_filters.report.render import RENDERERS, render


def parser():
    p = argparse.ArgumentParser(
        prog="rootguard report",
        description="Show the root-user checklist of every account as an accounts × controls matrix, "
                    "read from a custodian (-s OUT) or c7n-org run output directory.")
    p.add_argument("out", metavar="OUT", help="output directory of custodian run or c7n-org run")
    p.add_argument("--format", "-f", choices=sorted(RENDERERS), default="text",
                   help="output format (default: text, a table for a 120-column terminal)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--accounts", "-c", metavar="ACCOUNTS_YML",
                   help="c7n-org accounts file: its accounts appear even without output (not evaluated)")
    return p


def main(argv=None):
    """Exit 0 with the report, or 2 when OUT or the accounts file cannot be read."""
    args = parser().parse_args(argv)
    try:
        matrix = collect(args.out, args.accounts)
    except ReportInputError as error:
        print(f"rootguard report: {error}", file=sys.stderr)
        return 2
    text = render(matrix, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        except OSError as error:
            print(f"rootguard report: cannot write {args.output}: {error}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
