"""What every adapter of ``controls/`` shares: run-scoped evidence fetchers, the Organizations reader,
the filter base class (verdict → match, annotation, verdict file), run-time option checks and the
write log of actions. Imports c7n and boto3; never imported by ``decide/`` or ``logic/``.
"""
