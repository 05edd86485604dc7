import sys

from rootguard_filters.sandbox.command import main

sys.exit(main())
