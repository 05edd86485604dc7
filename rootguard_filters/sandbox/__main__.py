import sys

from rootguard_filters.sandbox.server import main

sys.exit(main())
