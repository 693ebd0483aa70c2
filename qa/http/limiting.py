"""Per-client rate limiting of /api/ask with Flask-Limiter, counted in memory or in a store shared by workers."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

# Questions and feedback on answers share one limit per client: feedback comes from the same people.
LIMITED_ENDPOINTS = ("api.ask", "feedback.give")
KEY_PREFIX = "qa"  # keys in a shared store (redis) start with this


def client_address() -> str:
    """The client's address: the socket's peer, or what trusted proxies said it was (ProxyFix ran first)."""
    return request.remote_addr or "unknown"


def _exemption(exempt: tuple[str, ...]) -> Callable[[], bool]:
    """A request filter that is true for clients inside any of the exempt networks."""
    networks = [ipaddress.ip_network(name, strict=False) for name in exempt]

    def is_exempt() -> bool:
        try:
            address = ipaddress.ip_address(client_address())
        except ValueError:
            return False
        return any(address in network for network in networks)

    return is_exempt


def install(app: Flask) -> None:
    """Limit /api/ask to RATE_LIMIT questions a minute per client (0: no limit) in RATE_LIMIT_STORAGE."""
    per_minute = int(app.config["RATE_LIMIT"] or 0)
    if per_minute <= 0:
        return
    limiter = Limiter(
        client_address,
        app=app,
        storage_uri=app.config["RATE_LIMIT_STORAGE"],
        # A moving window holds the configured number in any 60 seconds, not twice it across a window edge.
        strategy="moving-window",
        key_prefix=KEY_PREFIX,
        # The store unreachable: count in this worker's memory meanwhile rather than answer 500 to everyone.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.request_filter(_exemption(tuple(app.config["RATE_LIMIT_EXEMPT"])))
    message = "too many requests from this address; wait the Retry-After seconds"
    shared = limiter.shared_limit(f"{per_minute} per minute", scope="questions", error_message=message)
    for endpoint in LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = shared(app.view_functions[endpoint])
    app.extensions["qa.limiter"] = limiter


def retry_after(exc: RateLimitExceeded) -> int:
    """Whole seconds until the client may ask again (at least 1)."""
    limiter: Limiter | None = current_app.extensions.get("qa.limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60 // max(1, exc.limit.limit.amount)
    return max(1, math.ceil(current.window.reset_time - time.time()))
