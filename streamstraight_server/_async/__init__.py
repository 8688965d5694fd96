"""The producer client. This package is the source of truth: ``_sync`` is generated from it."""
