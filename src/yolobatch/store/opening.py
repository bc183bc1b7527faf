"""Open the store of a data dir: migrated, with its secret key, its files private to this user.

Here rather than in the engine: the quick commands (`yolobatch batches`, `status`) read the database
without loading Temporal.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretBox, SecretKeyMissing
from yolobatch.store.db import make_engine, migrate
from yolobatch.store.repository import Store


def open_store(settings: Settings) -> Store:
    """The migrated store with its secret key; refuses (SecretKeyMissing) when secrets are stored and the
    key that sealed them is missing or another one, rather than start and fail on every restaurant."""
    private_data_dir(settings.data_dir)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    private_data_dir(settings.data_dir)  # the database file may have just been created
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    sample = Store.sealed_sample(engine)
    box = SecretBox.from_settings(secret, settings.data_dir, may_generate=sample is None)
    if sample is not None:
        try:
            box.open(sample)
        except ValueError:
            raise SecretKeyMissing(
                "the stored secrets cannot be decrypted with this secret key (YOLOBATCH_SECRET_KEY or "
                f"{settings.data_dir / 'secret.key'}): give the key they were sealed with (while rotating, "
                "`NEW,OLD`)"
            ) from None
    return Store(engine, box)


# Our files in the data dir: the SQLite database (and its journals), the secret key, the local token and
# the embedded Temporal server's files.
PRIVATE_FILES = ("yolobatch.db*", "secret.key", "local-token", "sandbox-admin-token", "temporal.*")


def private_data_dir(data_dir: Path) -> None:
    """The data dir 0700 and our files in it 0600: they hold the secret key, tokens and every config.

    An existing directory is tightened only when this user owns it and it is not a shared sticky one
    (`--data-dir /tmp`), so pointing the data dir somewhere odd never locks others out of it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = data_dir.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        data_dir.chmod(0o700)
    for pattern in PRIVATE_FILES:
        for path in data_dir.glob(pattern):
            if path.is_file() and path.stat().st_uid == os.getuid():
                path.chmod(0o600)
