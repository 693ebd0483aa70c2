"""Joining a Ray cluster (the optional extra qa[ray]), with clear errors when that cannot be done."""

from __future__ import annotations

import socket

from qa.errors import ClusterError, ModelError


def ray_module():
    """The ray package, or a clear error when the extra is not installed."""
    try:
        import ray
    except ImportError as exc:
        raise ModelError("--ray needs the Ray extra: pip install 'qa[ray]'") from exc
    return ray


def reachable(address: str | None) -> None:
    """Fail now, clearly, when a HOST:PORT answers nothing (ray.init would retry for minutes)."""
    if not address or address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc}") from None


def join(address: str | None):
    """Connect this process to the cluster at `address` (None: RAY_ADDRESS, else a new local one); ray."""
    ray = ray_module()
    reachable(address)
    try:
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address or 'RAY_ADDRESS'}: {exc}") from exc
    return ray
