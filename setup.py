"""rootguard: a Cloud Custodian policy pack that keeps the AWS root user locked down."""
import os

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithPth(build_py):
    """Put ``rootguard.pth`` at the root of the wheel, i.e. of site-packages.

    The .pth registers the pack lazily when c7n loads (see rootguard_filters/_autoload.py);
    ``data_files`` cannot place a file at the purelib root, a build step can.
    """

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, "rootguard.pth"), os.path.join(self.build_lib, "rootguard.pth"))


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


setup(
    name="rootguard",
    version="0.1.0",
    description="Cloud Custodian policy pack that keeps the AWS root user locked down, and proves it",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",         # an SPDX expression; no License :: classifier (deprecated)
    python_requires=">=3.11",
    # Namespace discovery so the data folders (CloudTrail samples) are packages of their own: plain
    # find_packages skips folders without __init__.py and setuptools warns they "would be ignored".
    packages=find_namespace_packages(include=["rootguard_filters", "rootguard_filters.*"]),
    package_data={"rootguard_filters": ["data/*/*.json", "data/*/*/*.json", "data/*.yml", "policies/*.yml"],
                  "rootguard_filters.data.cloudtrail.either": ["*.json"],
                  "rootguard_filters.data.cloudtrail.must_alert": ["*.json"],
                  "rootguard_filters.data.cloudtrail.must_not_alert": ["*.json"]},
    include_package_data=True,
    install_requires=[
        # Tested with c7n 0.9.53 / c7n-org 0.6.52; the pack uses c7n's filter and registry internals.
        "c7n>=0.9.53,<0.10",
        "c7n-org>=0.6.52,<0.7",
        "boto3>=1.34",
        "pyyaml>=6.0",
    ],
    extras_require={
        # The fill-ins of the sandbox are tested against this exact moto release.
        "sandbox": ["moto[server]==5.2.1"],
        # c7n-mailer: the alert tests render the queued messages with the mailer's own rendering.
        # z3-solver: the SMT oracle of tests/proofs (the pack never imports it); mutmut: the mutation run.
        "test": ["pytest>=8", "hypothesis>=6", "placebo>=0.10", "moto[server]==5.2.1", "cfn-lint>=1.0", "wheel",
                 "c7n-mailer>=0.6.52,<0.7", "z3-solver>=4.12", "mutmut>=3.2"],
    },
    entry_points={"console_scripts": ["rootguard=rootguard_filters.cli:main"]},
    cmdclass={"build_py": BuildPyWithPth},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Security",
    ],
)
