"""Document contents on disk, addressed by their sha256 (written before the row, so a rollback leaves no row)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    """A folder of immutable blobs: <root>/<sha[:2]>/<sha>."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, content: bytes) -> str:
        """Store `content` (idempotent) and return its sha256."""
        digest = hashlib.sha256(content).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # atomic: readers never see half a file
        return digest

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError("not a sha256 digest")
        return self.root / digest[:2] / digest
