"""``rootguard demo``: the pack on the sandbox organization, end to end, with plain c7n-org.

1. start the sandbox (moto + fill-ins) on 127.0.0.1 and seed the organization (WORKDIR/accounts.yml);
2. ``c7n-org run -c WORKDIR/accounts.yml -s WORKDIR/output -u WORKDIR/account-policies.yml
   -r us-east-1 --cache-period 0``: the aws.account policies in every account;
3. ``c7n-org run ... -u WORKDIR/organization-policies.yml -a management ...``: the aws.org-account
   policies once, in the management account;
4. stop the sandbox, print the checklist (``rootguard report WORKDIR/output --accounts
   WORKDIR/accounts.yml --c7n-org-log WORKDIR/run.log``) and write WORKDIR/report.html.

The commands and c7n-org's log are in WORKDIR/run.log. Needs the sandbox extra: rootguard[sandbox].
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ORG_RESOURCES = ("aws.org-account", "org-account")
# Written into every work directory the demo makes: only a directory carrying it is ever cleared.
WORKDIR_MARKER = ".rootguard-demo"


class WorkdirRefused(Exception):
    """The work directory holds something the demo did not make."""


def prepare_workdir(path):
    """Make ``path`` an empty demo work directory, carrying the marker.

    A missing or empty directory is used; one that carries the marker (a previous demo's) is
    cleared; anything else (a file, or a directory with other content) is refused, never deleted.
    """
    workdir = Path(path).resolve()
    if workdir.exists() and not workdir.is_dir():
        raise WorkdirRefused(f"{workdir} is not a directory")
    if workdir.is_dir() and any(workdir.iterdir()):
        if not (workdir / WORKDIR_MARKER).is_file():
            raise WorkdirRefused(
                f"{workdir} is not empty and was not made by `rootguard demo` (no {WORKDIR_MARKER}): "
                "choose another --workdir, or empty it yourself")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / WORKDIR_MARKER).write_text("made by `rootguard demo`; the next demo run may clear this directory\n")
    return workdir


def load_policies(*paths):
    """Policy dicts from YAML files or directories of them, in file order."""
    policies = []
    for path in paths:
        files = sorted(Path(path).glob("*.yml")) if Path(path).is_dir() else [Path(path)]
        for file in files:
            policies.extend((yaml.safe_load(file.read_text()) or {}).get("policies", []))
    return policies


def by_resource(policies):
    """(account-level policies, organization-level policies): c7n-org runs them with different scopes."""
    org = [p for p in policies if p.get("resource") in ORG_RESOURCES]
    return [p for p in policies if p not in org], org


def write_policy_files(policies, directory, prefix=""):
    """The account-level and organization-level policies in one file each, as users run them."""
    files = {}
    for scope, chosen in zip(("account", "organization"), by_resource(policies)):
        if chosen:
            files[scope] = Path(directory) / f"{prefix}{scope}-policies.yml"
            files[scope].write_text(yaml.safe_dump({"policies": chosen}, sort_keys=False))
    return files


def offline_env(endpoint, home=None):
    """Environment for custodian / c7n-org that reaches only the sandbox at ``endpoint``."""
    from rootguard_filters.sandbox.server import FAKE_CREDENTIALS
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("C7N_USE_STS_REGIONAL",)}
    env.update(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=endpoint)
    if home:
        env["HOME"] = str(home)
    return env


def tool(name):
    """The console script installed beside this Python (the venv's custodian / c7n-org)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def run(cmd, env, log):
    with open(log, "a") as out:
        out.write("$ " + " ".join(map(str, cmd)) + "\n")
        out.flush()
        return subprocess.run([str(c) for c in cmd], env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog="rootguard demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", default="policies", help="policy directory (default: ./policies)")
    parser.add_argument("--workdir", default="demo-out",
                        help="where output and reports go (default: ./demo-out); must be new, empty or "
                             "a previous demo's (it is cleared)")
    args = parser.parse_args(argv)
    if not Path(args.policies).is_dir():
        parser.error(f"no policy directory at {args.policies!r}: run from the rootguard checkout")

    from rootguard_filters.report import collect, render
    from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization
    from rootguard_filters.sandbox.server import Sandbox

    try:
        workdir = prepare_workdir(args.workdir)
    except WorkdirRefused as refusal:
        parser.error(str(refusal))
    (workdir / "home").mkdir(parents=True)
    out, log = workdir / "output", workdir / "run.log"
    started = time.monotonic()
    with Sandbox() as sandbox:
        seeded = seed_organization(sandbox.endpoint_url, str(workdir))
        accounts_yml = seeded["accounts_yml"]
        print(f"sandbox organization on {sandbox.endpoint_url}: {len(seeded['accounts'])} accounts "
              f"(accounts.yml: {accounts_yml})")
        env = offline_env(sandbox.endpoint_url, workdir / "home")
        env["ROOTGUARD_APPROVALS"] = seeded["approvals"]  # the seed's break-glass register
        files = write_policy_files(load_policies(args.policies), workdir)
        if "account" in files:
            print("c7n-org run: account policies across the organization ...", flush=True)
            run([tool("c7n-org"), "run", "-c", accounts_yml, "-s", out, "-u", files["account"],
                 "-r", "us-east-1", "--cache-period", "0"], env, log)
        if "organization" in files:
            print("c7n-org run: organization policies in the management account ...", flush=True)
            management = next(a["name"] for a in yaml.safe_load(Path(accounts_yml).read_text())["accounts"]
                              if str(a["account_id"]) == MANAGEMENT_ACCOUNT_ID)
            run([tool("c7n-org"), "run", "-c", accounts_yml, "-s", out, "-u", files["organization"],
                 "-a", management, "-r", "us-east-1", "--cache-period", "0"], env, log)
    matrix = collect(str(out), accounts_yml, str(log))
    print(render(matrix, "text"))
    html = workdir / "report.html"
    html.write_text(render(matrix, "html"))
    print(f"HTML report: {html}\nrun log: {log}\ndemo took {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
