"""The org run is the suite's one slow test (a c7n-org subprocess)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs c7n-org in subprocesses (about 20-40 s)")
