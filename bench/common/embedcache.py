"""An embedder that remembers vectors by text on disk, so benchmark indexes rebuild without the model."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.index.embedder import Embedder


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CachingEmbedder:
    """Wraps an embedder (created on first miss); same name and fingerprint, so indexes stay compatible."""

    def __init__(
        self,
        factory: Callable[[], Embedder],
        name: str,
        fingerprint: str,
        path: Path | None,
        also_read: tuple[Path, ...] = (),
    ) -> None:
        self._factory = factory
        self._inner: Embedder | None = None
        self.name = name
        self.fingerprint = fingerprint
        self.cache_file = path
        self._vectors: dict[bytes, np.ndarray] = {}
        self._unsaved = 0
        self.dimension = 0
        # Other processes' cache files are read too, so parallel runs share work without overwriting each other.
        for source in (*also_read, path):
            if source is not None and source.is_file():
                with np.load(source) as saved:
                    keys, vectors = saved["keys"], saved["vectors"]
                self._vectors.update((bytes(k), v) for k, v in zip(keys, vectors, strict=True))
                self.dimension = int(vectors.shape[1]) if len(vectors) else self.dimension
        self.misses = 0

    @property
    def inner(self) -> Embedder:
        """The wrapped embedder, loaded on first use."""
        if self._inner is None:
            self._inner = self._factory()
            self.dimension = self._inner.dimension
        return self._inner

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Vectors for texts, computing only those not seen before."""
        keys = [_key(t) for t in texts]
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        # In slices, saving after each, so an interrupted build keeps what it embedded.
        for i in range(0, len(todo), 4096):
            part = todo[i : i + 4096]
            vectors = self.inner.encode([t for _, t in part], batch_size=batch_size, progress=progress)
            self._vectors.update(zip((k for k, _ in part), vectors, strict=True))
            self.misses += len(part)
            self._unsaved += len(part)
            if self._unsaved >= 4096:
                self.save()
        if not texts:
            return np.zeros((0, self.dimension or self.inner.dimension), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def save(self) -> None:
        """Write the cache file (atomically) if anything was added."""
        if self.cache_file is None or not self._unsaved:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp.npz")
        keys = np.array(list(self._vectors), dtype="S16")
        np.savez(tmp, keys=keys, vectors=np.stack(list(self._vectors.values())).astype(np.float32))
        tmp.replace(self.cache_file)
        self._unsaved = 0
