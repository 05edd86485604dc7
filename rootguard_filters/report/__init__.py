"""``rootguard report``: read custodian / c7n-org output (never c7n itself) into a root checklist matrix."""
from rootguard_filters.report.cli import main  # noqa: F401
from rootguard_filters.report.collect import Cell, Matrix, ReportInputError, collect  # noqa: F401
from rootguard_filters.report.render import render  # noqa: F401
