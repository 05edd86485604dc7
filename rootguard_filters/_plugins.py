"""Importing this module registers every filter and action of the pack on c7n's registries."""
from rootguard_filters import alarm_action  # noqa: F401
from rootguard_filters import alarm_chain  # noqa: F401
from rootguard_filters import centralized_root  # noqa: F401
from rootguard_filters import contacts  # noqa: F401
from rootguard_filters import member_root  # noqa: F401
from rootguard_filters import root_credentials  # noqa: F401
from rootguard_filters import root_scp  # noqa: F401
from rootguard_filters import lambda_modes  # noqa: F401  (execution modes rootguard-periodic / -cloudtrail)
