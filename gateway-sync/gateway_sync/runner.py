"""Interim shim while the runner moves here from target-gateway (issue 10)."""

from target_gateway.runner import main

__all__ = ["main"]
