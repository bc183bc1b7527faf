"""Alembic environment: migrations run on a connection handed over by `yolobatch.store.db.migrate`."""

from alembic import context

from yolobatch.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand reaches this
    raise RuntimeError("run migrations through yolobatch.store.db.migrate(engine)")

# Batch mode rewrites tables on SQLite, which cannot ALTER most things in place.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
