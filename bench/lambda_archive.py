"""Lambda archive size and handler cold import time: the pack's handler vs c7n's default, side by side.

``python -m bench.lambda_archive [--runs N]``. Builds root-mfa-missing from deploy/periodic.yml
with c7n's ``PolicyLambda`` (nothing is deployed), unpacks it, and imports each handler module in fresh
interpreters that see only the archive and the venv's boto3/botocore (as the Lambda runtime does).
The two handlers alternate run by run, so load from other processes hits both alike; wall and CPU
time (user + system, less sensitive to a busy machine) are shown. The pack's handler imports its
filter modules on the first invocation: that step (``prepare()``: read config.json, import what the
policy names, build and validate the policy as c7n's handler then does) is timed too.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "s3transfer", "urllib3", "six.py")
HANDLERS = (("rootguard_filters.lambda_handler", "rootguard (registers the pack)"),
            ("custodian_policy", "c7n default"))
IMPORT_TIMER = """
import sys, time
sys.path[:0] = sys.argv[1:3]
start, cpu = time.perf_counter(), time.process_time()
__import__(sys.argv[3])
print(time.perf_counter() - start, time.process_time() - cpu)
"""
# After the cold import: what the pack's first invocation adds before c7n takes over.
PREPARE_TIMER = """
import json, sys, time
sys.path[:0] = sys.argv[1:3]
import rootguard_filters.lambda_handler as h
start, cpu = time.perf_counter(), time.process_time()
h.prepare()
from c7n.config import Config
from c7n.policy import PolicyCollection
from c7n.resources import load_resources
from c7n.structure import StructureParser
data = json.load(open("config.json"))
load_resources(StructureParser().get_resource_types(data))
config = Config.empty(account_id="123456789012", region="us-east-1")   # init_config would call STS
for policy in PolicyCollection.from_data(data, config):
    policy.validate()
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def build_archive(repo, dest):
    import rootguard_filters
    rootguard_filters.register()
    from c7n import mu
    from c7n.config import Config
    from c7n.policy import Policy
    from c7n.resources import load_resources
    load_resources(("aws.account",))   # c7n's provider-wide actions (notify) register here

    data = next(p for p in yaml.safe_load((repo / "deploy/periodic.yml").read_text())["policies"]
                if p["name"] == "root-mfa-missing")
    archive = mu.PolicyLambda(Policy(data, Config.empty(account_id="123456789012", region="us-east-1"))).get_archive()
    with zipfile.ZipFile(archive.path) as zf:
        zf.extractall(dest)
        unpacked = sum(i.file_size for i in zf.infolist())
    return archive.size, unpacked


def timed(script, archive, runtime, *args):
    """(wall, cpu) seconds printed by ``script`` run in a fresh interpreter in the archive."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(archive), str(runtime), *args],
                         cwd=archive, capture_output=True, text=True, check=True,
                         env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"})
    wall, cpu = map(float, out.stdout.split()[-2:])
    return wall, cpu


def cold_import_seconds(archive, runtime, module):
    return timed(IMPORT_TIMER, archive, runtime, module)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per handler (median shown)")
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    args = parser.parse_args(argv)
    site_packages = Path(yaml.__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive, runtime = Path(tmp, "archive"), Path(tmp, "runtime")
        runtime.mkdir()
        for name in RUNTIME_PACKAGES:
            (runtime / name).symlink_to(site_packages / name)
        zipped, unpacked = build_archive(Path(args.root), archive)
        print(f"archive (c7n + rootguard_filters): {zipped / 1024:.0f} KiB zipped, {unpacked / 1024:.0f} KiB unpacked")
        times = {module: [] for module, _ in HANDLERS}
        for _ in range(args.runs):
            for module, _ in HANDLERS:      # alternate: a load spike hits both handlers
                times[module].append(cold_import_seconds(archive, runtime, module))
        print(f"cold import, median of {args.runs} fresh interpreters (wall / CPU):")
        medians = {}
        for module, label in HANDLERS:
            wall = statistics.median(t[0] for t in times[module]) * 1000
            cpu = statistics.median(t[1] for t in times[module]) * 1000
            medians[module] = (wall, cpu)
            print(f"  {module:35} {wall:7.1f} ms / {cpu:7.1f} ms CPU   {label}")
        (pack_wall, pack_cpu), (c7n_wall, c7n_cpu) = medians[HANDLERS[0][0]], medians[HANDLERS[1][0]]
        print(f"  ratio pack / c7n default: {pack_wall / c7n_wall:.2f} wall, {pack_cpu / c7n_cpu:.2f} CPU")
        prepared = [timed(PREPARE_TIMER, archive, runtime) for _ in range(args.runs)]
        print(f"first invocation, pack's prepare() + c7n loading and validating the policy: "
              f"{statistics.median(p[0] for p in prepared) * 1000:.1f} ms / "
              f"{statistics.median(p[1] for p in prepared) * 1000:.1f} ms CPU (c7n's default handler "
              f"cannot load this policy at all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
