import pytest

from rootguard_filters.sandbox.server import Sandbox

from lambda_support import runtime_dir


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        sb.reset()  # moto's state is process-wide: start from nothing
        yield sb


@pytest.fixture(scope="session")
def lambda_runtime(tmp_path_factory):
    return runtime_dir(tmp_path_factory.mktemp("lambda-runtime"))
