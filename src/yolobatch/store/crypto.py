"""Encryption of secrets at rest (Fernet). The key comes from settings or is generated into the data dir.

Rotation: `YOLOBATCH_SECRET_KEY=NEW,OLD` encrypts with NEW and still reads what OLD sealed;
`yolobatch rotate-secrets` then re-seals everything with NEW, after which OLD can be dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyMissing(RuntimeError):
    """Stored secrets exist but the key that sealed them is not here: starting would make them unreadable."""


class SecretBox:
    def __init__(self, key: str | bytes) -> None:
        """`key`: one Fernet key, or several separated by commas, the first one sealing."""
        text = key.decode() if isinstance(key, bytes) else key
        try:
            self._fernet = MultiFernet([Fernet(part.strip()) for part in text.split(",") if part.strip()])
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "YOLOBATCH_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes; for rotation, "
                "several separated by commas)"
            ) from exc

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path, *, may_generate: bool = True) -> SecretBox:
        """The configured key, else the data dir's, else a new one there; with `may_generate` False (secrets
        are already stored) a missing key is an error, never silently a new one."""
        if secret_key:
            return cls(secret_key)
        path = data_dir / "secret.key"
        if not path.exists() and not may_generate:
            raise SecretKeyMissing(
                f"the database holds encrypted secrets but there is no secret key: {path} is missing and "
                "YOLOBATCH_SECRET_KEY is not set. Restore the key file or set YOLOBATCH_SECRET_KEY to the "
                "key the secrets were sealed with; a new key could not read them."
            )
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once must not each write a different key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def reseal(self, token: str) -> str:
        """The same secrets sealed with the first key (rotation)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secrets cannot be decrypted with this secret key") from exc

    def open(self, token: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("stored secrets cannot be decrypted with this secret key") from exc
