"""How `qa serve --ray` deploys: where the cluster is, how many replicas, Serve's port (no Ray import here)."""

from __future__ import annotations

from dataclasses import dataclass

ROUTER_CPUS = 1.0  # a router encodes questions: a core each
SHARD_CPUS = 0.25  # a shard's FAISS and BM25 search takes milliseconds a question
ASKS_AT_ONCE = 16  # questions a router replica takes at once (Serve's max_ongoing_requests); more wait in Serve
# Serve adds router replicas while each has more than this many questions in hand on average (autoscaling).
TARGET_ASKS = 4


@dataclass(frozen=True)
class ServeOptions:
    """The Ray cluster's address, router replicas (a range when max_replicas is above replicas), shard replicas,
    and the port of Serve's HTTP proxy."""

    address: str | None
    replicas: int = 1
    max_replicas: int | None = None
    shard_replicas: int = 1
    serve_port: int = 8000

    def router(self) -> dict:
        """The router deployment's Serve options: a fixed number of replicas, or autoscaling between two."""
        options: dict = {"max_ongoing_requests": ASKS_AT_ONCE, "ray_actor_options": {"num_cpus": ROUTER_CPUS}}
        if self.max_replicas and self.max_replicas > self.replicas:
            options["num_replicas"] = "auto"
            options["autoscaling_config"] = {
                "min_replicas": self.replicas,
                "initial_replicas": self.replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": TARGET_ASKS,
            }
        else:
            options["num_replicas"] = self.replicas
        return options

    def shard(self) -> dict:
        """A shard deployment's Serve options."""
        return {"num_replicas": self.shard_replicas, "ray_actor_options": {"num_cpus": SHARD_CPUS}}
