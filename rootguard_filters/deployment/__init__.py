"""The always-on machinery: the Lambda execution modes, the generators of ``deploy/`` and ``iam/``
files, and the EventBridge forwarding template. The Lambda entry point stays at
``rootguard_filters.lambda_handler`` (deployed functions name it).
"""
