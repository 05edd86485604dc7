"""``rootguard report OUT``: the organization's root checklist from a custodian / c7n-org output tree.

Exit status (so the report can gate CI; the highest that applies wins):

====  =======================================================================================
0     no cell has a ``--fail-on`` status
2     usage error, or OUT / the accounts file / the c7n-org log cannot be read
3     OUT holds no rootguard output (nothing was run, or the wrong directory)
4     some cell is not-evaluated (an account or control without output)
5     some cell is non-compliant (a finding)
6     some cell is could-not-evaluate (the audit itself is broken: it may hide a finding)
7     some cell is not-applicable (only when ``--fail-on`` names not-applicable)
8     a fix did not happen: an action record is failed, left-behind or not-attempted
====  =======================================================================================
"""
import argparse
import sys

from rootguard_filters.report.collect import (
    NOT_EVALUATED, ReportInputError, collect)
from rootguard_filters.report.render import RENDERERS, render
from rootguard_filters.verdict import COULD_NOT_EVALUATE, NON_COMPLIANT, NOT_APPLICABLE

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_NO_OUTPUT = 3
FAILED_FIX = "failed-fix"      # not a cell status: an action record whose fix did not happen
EXIT_FOR_STATUS = {NOT_EVALUATED: 4, NON_COMPLIANT: 5, COULD_NOT_EVALUATE: 6, NOT_APPLICABLE: 7, FAILED_FIX: 8}
FAIL_ON_CHOICES = (NON_COMPLIANT, COULD_NOT_EVALUATE, NOT_EVALUATED, NOT_APPLICABLE, FAILED_FIX)
DEFAULT_FAIL_ON = f"{NON_COMPLIANT},{COULD_NOT_EVALUATE},{NOT_EVALUATED},{FAILED_FIX}"

EPILOG = f"""exit status (the highest that applies):
  0  no cell has a --fail-on status
  2  usage error, or OUT, the accounts file or the c7n-org log cannot be read
  3  OUT holds no rootguard output (nothing ran, or the wrong directory)
  4  not-evaluated cells      5  non-compliant cells      6  could-not-evaluate cells
  7  not-applicable cells (only when --fail-on names not-applicable)
  8  a fix did not happen (failed, left-behind or not-attempted action records)

--fail-on default: {DEFAULT_FAIL_ON} (everything a CI gate should stop on);
--fail-on none always exits 0 once the report is written."""


def fail_on_statuses(text):
    """The statuses of a ``--fail-on`` value (comma-separated; ``none`` for none)."""
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    if chosen == ["none"]:
        return ()
    unknown = [s for s in chosen if s not in FAIL_ON_CHOICES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown status {', '.join(unknown) or '(empty)'}: choose from {', '.join(FAIL_ON_CHOICES)}, or none")
    return tuple(dict.fromkeys(chosen))


def parser():
    p = argparse.ArgumentParser(
        prog="rootguard report",
        description="Show the root-user checklist of every account as an accounts × controls matrix, "
                    "read from a custodian (-s OUT) or c7n-org run output directory.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="OUT", help="output directory of custodian run or c7n-org run")
    p.add_argument("--format", "-f", choices=sorted(RENDERERS), default="text",
                   help="output format (default: text, a table for a 120-column terminal)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--accounts", "-c", metavar="ACCOUNTS_YML",
                   help="c7n-org accounts file: its accounts appear even without output (not evaluated)")
    p.add_argument("--c7n-org-log", metavar="LOG",
                   help="c7n-org's saved log (c7n-org run ... 2> LOG): names why an account did not run, "
                        "e.g. AccessDenied on AssumeRole")
    p.add_argument("--fail-on", metavar="STATUSES", type=fail_on_statuses, default=fail_on_statuses(DEFAULT_FAIL_ON),
                   help=f"comma-separated statuses that make the exit status non-zero "
                        f"(default: {DEFAULT_FAIL_ON}; 'none' never fails)")
    return p


def found(matrix, status):
    """How many cells have ``status`` (for failed-fix: how many fixes did not happen)."""
    return len(matrix.fixes) if status == FAILED_FIX else matrix.counts((status,))


def exit_status(matrix, fail_on):
    """The documented exit status for a collected matrix."""
    present = [status for status in fail_on if found(matrix, status)]
    return max((EXIT_FOR_STATUS[s] for s in present), default=EXIT_OK)


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        matrix = collect(args.out, args.accounts, args.c7n_org_log)
    except ReportInputError as error:
        print(f"rootguard report: {error}", file=sys.stderr)
        return EXIT_INPUT
    if not matrix.has_output():
        print(f"rootguard report: {args.out} holds no rootguard output (no policy directory of the pack's "
              "policies): run `custodian run -s OUT policies/...` or `c7n-org run -s OUT ...` first, "
              "and pass that OUT", file=sys.stderr)
        return EXIT_NO_OUTPUT
    text = render(matrix, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        except OSError as error:
            print(f"rootguard report: cannot write {args.output}: {error}", file=sys.stderr)
            return EXIT_INPUT
    else:
        sys.stdout.write(text)
    status = exit_status(matrix, args.fail_on)
    if status:
        counts = ", ".join(f"{found(matrix, s)} {s}" for s in args.fail_on if found(matrix, s))
        print(f"rootguard report: failing (exit {status}): {counts} (--fail-on {','.join(args.fail_on)})",
              file=sys.stderr)
    for warning in matrix.warnings:
        print(f"rootguard report: WARNING: {warning}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
