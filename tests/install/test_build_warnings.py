"""Building the wheel is quiet: no deprecated license classifier, no data folder "would be ignored"."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WARNINGS = ("BuildBackendWarning", "SetuptoolsDeprecationWarning", "would be ignored",
            "License classifiers are deprecated")


def test_wheel_builds_without_setuptools_warnings_and_keeps_the_data(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert not [w for w in WARNINGS if w in output], [line for line in output.splitlines()
                                                      if any(w in line for w in WARNINGS)][:5]
    wheel = next(tmp_path.glob("rootguard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n for n in names if n.startswith("rootguard_filters/data/cloudtrail/") and n.endswith(".json")}
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "rootguard_filters" / "data" / "cloudtrail").rglob("*.json")}
    assert shipped == on_disk
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Classifier: License ::" not in text and "Apache-2.0" in text
