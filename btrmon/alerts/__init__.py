"""The alert engine: rules (``rules``), evaluation and lifecycle (``engine``), escalation,
the 7-day preview, stored history (``store`` + ``btrmon.queries.alerts``) and channels."""
