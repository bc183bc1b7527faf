"""Pointing yolobatch at a Temporal cluster: its own namespace, TLS and API-key options."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, TLSConfig

from tests.conftest import OTHER_NAMESPACE, batch_of, settings_for
from tests.engine_helpers import all_completed, create, spawn_worker, stop, wait_until
from tests.test_reconcile import cli
from yolobatch.engine.contracts import onboarding_workflow_id
from yolobatch.engine.control import start_batch, tuning_for
from yolobatch.engine.runtime import client_options
from yolobatch.settings import Settings

pytestmark = pytest.mark.reliability


async def test_workers_and_commands_use_the_configured_namespace(dev_server, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, temporal_namespace=OTHER_NAMESPACE)
    batch_id, job_ids = create(store, batch_of(3))
    log = tmp_path / "worker.log"
    worker = spawn_worker(settings, dev_server.address, log, YOLOBATCH_TEMPORAL_NAMESPACE=OTHER_NAMESPACE)
    try:
        client = await Client.connect(dev_server.address, **client_options(settings))
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


def test_tls_and_api_key_options(tmp_path):
    plain = client_options(Settings(data_dir=tmp_path))
    assert plain == {"namespace": "default", "tls": False, "api_key": None}

    cloud = client_options(
        Settings(data_dir=tmp_path, temporal_api_key="key-123", temporal_namespace="acme.a1b2")
    )
    assert cloud == {"namespace": "acme.a1b2", "tls": True, "api_key": "key-123"}

    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n...")
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n...")
    mtls = client_options(Settings(data_dir=tmp_path, temporal_tls_cert=cert, temporal_tls_key=key))
    assert mtls["tls"] == TLSConfig(client_cert=cert.read_bytes(), client_private_key=key.read_bytes())

    with pytest.raises(ValidationError, match="set both temporal_tls_cert and temporal_tls_key"):
        Settings(data_dir=tmp_path, temporal_tls_cert=cert)
    with pytest.raises(ValidationError, match="is not a readable file"):
        Settings(data_dir=tmp_path, temporal_tls_cert=cert, temporal_tls_key=tmp_path / "missing.key")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, temporal_namespace="")
