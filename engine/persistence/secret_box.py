"""Secrets at rest (SQL source URLs): sealed with Fernet under a key derived from the deployment's secret."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from engine.domain.errors import SourceError


class SecretBox:
    """Seal and open short secrets; a sealed value cannot be read without the same key."""

    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(("auditloop-secret-box:" + secret).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """A box whose key lives in a file readable only by this user, made on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return cls(path.read_text().strip())

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as err:
            raise SourceError("the stored source URL cannot be decrypted with this deployment's key") from err
