"""Pointing yolobatch at a Temporal cluster: its own namespace, TLS and API-key options."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, TLSConfig

from tests.conftest import OTHER_NAMESPACE, batch_of, settings_for
from tests.engine_helpers import all_completed, create, spawn_worker, stop, wait_until
from tests.test_reconcile import cli
from yolobatch.engine.contracts import onboarding_workflow_id
from yolobatch.engine.temporal_client import TemporalConfigError, connect_config
from yolobatch.service.control import start_batch, tuning_for
from yolobatch.settings import Settings

pytestmark = pytest.mark.reliability


async def test_workers_and_commands_use_the_configured_namespace(dev_server, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, temporal_namespace=OTHER_NAMESPACE)
    batch_id, job_ids = create(store, batch_of(3))
    log = tmp_path / "worker.log"
    # The worker reads Temporal's own name for it, `reconcile` the yolobatch alias.
    worker = spawn_worker(settings, dev_server.address, log, TEMPORAL_NAMESPACE=OTHER_NAMESPACE)
    try:
        client = await Client.connect(dev_server.address, namespace=OTHER_NAMESPACE)
        await start_batch(client, store, batch_id, tuning_for(settings))
        await wait_until(store, batch_id, all_completed, timeout=120)
        code, output = await cli(
            dev_server, settings, "reconcile", "--check", YOLOBATCH_TEMPORAL_NAMESPACE=OTHER_NAMESPACE
        )
        assert code == 0 and "3 restaurants checked: 0 differences found." in output, output
    finally:
        assert stop(worker) == 0, log.read_text()[-3000:]
    # The workflows live in that namespace, and only there.
    workflow_id = onboarding_workflow_id(job_ids[0])
    assert (await client.get_workflow_handle(workflow_id).describe()).namespace == OTHER_NAMESPACE
    default = await Client.connect(dev_server.address)
    with pytest.raises(RPCError):
        await asyncio.wait_for(default.get_workflow_handle(workflow_id).describe(), 10)


def test_tls_and_api_key_options_keep_their_yolobatch_names(tmp_path):
    plain = connect_config(Settings(data_dir=tmp_path), env={})
    assert plain == {"tls": False}  # no cluster: the embedded server; the namespace `default`

    cloud = connect_config(
        Settings(data_dir=tmp_path, temporal_api_key="key-123", temporal_namespace="acme.a1b2"), env={}
    )
    assert cloud == {"namespace": "acme.a1b2", "tls": True, "api_key": "key-123"}

    cert, key = _pem_pair(tmp_path)
    mtls = connect_config(Settings(data_dir=tmp_path, temporal_tls_cert=cert, temporal_tls_key=key), env={})
    assert mtls["tls"] == TLSConfig(client_cert=cert.read_bytes(), client_private_key=key.read_bytes())

    with pytest.raises(ValidationError, match="set both temporal_tls_cert and temporal_tls_key"):
        Settings(data_dir=tmp_path, temporal_tls_cert=cert)
    with pytest.raises(ValidationError, match="is not a readable file"):
        Settings(data_dir=tmp_path, temporal_tls_cert=cert, temporal_tls_key=tmp_path / "missing.key")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, temporal_namespace="")


def _pem_pair(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nclient\n")
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nclient\n")
    return cert, key


def test_temporal_environment_variables_configure_the_client(tmp_path):
    """The names every Temporal tool reads, including a server CA for a cluster with a private CA."""
    cert, key = _pem_pair(tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nprivate ca\n")
    env = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_NAMESPACE": "onboarding",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
    }
    config = connect_config(Settings(data_dir=tmp_path), env=env)
    assert config["target_host"] == "temporal.internal:7233" and config["namespace"] == "onboarding"
    assert config["tls"] == TLSConfig(
        server_root_ca_cert=ca.read_bytes(),
        domain="temporal.internal",
        client_cert=cert.read_bytes(),
        client_private_key=key.read_bytes(),
    )

    # An API key alone means TLS with the system's roots (Temporal Cloud).
    cloud = connect_config(
        Settings(data_dir=tmp_path), env={"TEMPORAL_ADDRESS": "a.tmprl.cloud:7233", "TEMPORAL_API_KEY": "k"}
    )
    assert cloud == {"target_host": "a.tmprl.cloud:7233", "api_key": "k", "tls": True}

    # The YOLOBATCH_ aliases win where both are set; the CA from TEMPORAL_TLS_* stays.
    other_cert, other_key = tmp_path / "other.pem", tmp_path / "other.key"
    other_cert.write_bytes(b"other cert")
    other_key.write_bytes(b"other key")
    aliased = Settings(
        data_dir=tmp_path,
        temporal_namespace="yolo",
        temporal_tls_cert=other_cert,
        temporal_tls_key=other_key,
    )
    mixed = connect_config(aliased, env=env)
    assert mixed["namespace"] == "yolo"
    assert mixed["tls"].server_root_ca_cert == ca.read_bytes()
    assert mixed["tls"].client_cert == b"other cert"


@pytest.mark.security
def test_a_profile_of_the_temporal_config_file_configures_the_client(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nprivate ca\n")
    config_file = tmp_path / "temporal.toml"
    config_file.write_text(
        '[profile.default]\naddress = "localhost:7233"\n\n'
        "[profile.prod]\n"
        'address = "temporal.prod.internal:7233"\n'
        'namespace = "onboarding-prod"\n'
        'api_key = "prod-key"\n'
        "[profile.prod.tls]\n"
        f'server_ca_cert_path = "{ca}"\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "prod"}
    config = connect_config(Settings(data_dir=tmp_path), env=env)
    assert config["target_host"] == "temporal.prod.internal:7233"
    assert config["namespace"] == "onboarding-prod" and config["api_key"] == "prod-key"
    assert config["tls"].server_root_ca_cert == ca.read_bytes()

    # A broken file is a clear error that says where, without quoting the line (it may hold the key).
    config_file.write_text('[profile.prod]\napi_key = "planted-key-7f3a" oops\n')
    with pytest.raises(TemporalConfigError, match="line 2, column") as refused:
        connect_config(Settings(data_dir=tmp_path), env=env)
    assert "planted-key-7f3a" not in str(refused.value)
