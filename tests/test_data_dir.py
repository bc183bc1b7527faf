"""The data dir: private to its user, and never started with a key that cannot open the stored secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import batch_of
from yolobatch.engine.runtime import open_store
from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretKeyMissing

pytestmark = pytest.mark.security


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_is_0700_and_its_files_0600(tmp_path):
    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data))
    store.ensure_org("o")
    store.create_batch("o", "b", batch_of(1).restaurants)
    (data / "yolobatch.db").chmod(0o644)  # as an older version left it, or a umask of 022
    open_store(Settings(data_dir=data))
    assert mode(data) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith(("yolobatch.db", "secret.key"))]
    assert {p.name for p in files} >= {"yolobatch.db", "secret.key"}
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_a_shared_sticky_directory_is_left_as_it_is(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    open_store(Settings(data_dir=shared))
    assert mode(shared) == 0o1777 and mode(shared / "yolobatch.db") == 0o600


def test_a_missing_or_wrong_key_refuses_to_start_instead_of_making_secrets_unreadable(tmp_path):
    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data))
    store.ensure_org("o")
    store.create_batch("o", "b", batch_of(1).restaurants)  # ready configs: their passwords are sealed
    key = (data / "secret.key").read_bytes()
    (data / "secret.key").unlink()

    with pytest.raises(SecretKeyMissing, match="secret.key is missing and YOLOBATCH_SECRET_KEY is not set"):
        open_store(Settings(data_dir=data))
    assert not (data / "secret.key").exists()  # no new key was made behind the operator's back

    other = Fernet.generate_key().decode()
    with pytest.raises(SecretKeyMissing, match="cannot be decrypted with this secret key"):
        open_store(Settings(data_dir=data, secret_key=other))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    cli = subprocess.run(
        [sys.executable, "-m", "yolobatch", "token", "list", "--org", "o", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2 and "Refusing to start" in cli.stderr and "Traceback" not in cli.stderr

    assert open_store(Settings(data_dir=data, secret_key=f"{other},{key.decode()}")) is not None  # rotating
    (data / "secret.key").write_bytes(key)
    assert open_store(Settings(data_dir=data)) is not None  # the right key back: it starts
