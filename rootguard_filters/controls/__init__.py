"""The c7n adapters: one module per control family, its filters with their actions.

Each class fetches evidence through ``plumbing`` and hands it to a pure function of ``decide/``.
Importing this package imports none of them: ``_plugins`` imports the modules a run needs.
"""
