"""Lambda archive size and handler cold import time: the pack's handler vs c7n's default, side by side.

``python -m rootguard_filters.bench_lambda [--runs N]``. Builds root-mfa-missing from deploy/periodic.yml
with c7n's ``PolicyLambda`` (nothing is deployed), unpacks it, and imports each handler module in fresh
interpreters that see only the archive and the venv's boto3/botocore (as the Lambda runtime does).
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
start = time.perf_counter()
__import__(sys.argv[3])
print(time.perf_counter() - start)
"""


def build_archive(repo, dest):
    import rootguard_filters
    rootguard_filters.register()
    from c7n import mu
    from c7n.config import Config
    from c7n.policy import Policy

    data = next(p for p in yaml.safe_load((repo / "deploy/periodic.yml").read_text())["policies"]
                if p["name"] == "root-mfa-missing")
    archive = mu.PolicyLambda(Policy(data, Config.empty(account_id="123456789012", region="us-east-1"))).get_archive()
    with zipfile.ZipFile(archive.path) as zf:
        zf.extractall(dest)
        unpacked = sum(i.file_size for i in zf.infolist())
    return archive.size, unpacked


def cold_import_seconds(archive, runtime, module):
    out = subprocess.run([sys.executable, "-I", "-S", "-c", IMPORT_TIMER, str(archive), str(runtime), module],
                         cwd=archive, capture_output=True, text=True, check=True)
    return float(out.stdout)


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
        print(f"cold import, median of {args.runs} fresh interpreters:")
        for module, label in HANDLERS:
            times = [cold_import_seconds(archive, runtime, module) for _ in range(args.runs)]
            print(f"  {module:35} {statistics.median(times) * 1000:7.1f} ms   {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
