from __future__ import annotations

from datetime import datetime, timezone

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import DateTime, MetaData, text
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Banso stores only timezone-aware times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    # Stable constraint names on SQLite and PostgreSQL; every datetime column is UTC-aware.
    registry = registry(
        metadata=MetaData(
            naming_convention={
                "ix": "ix_%(column_0_label)s",
                "uq": "uq_%(table_name)s_%(column_0_name)s",
                "ck": "ck_%(table_name)s_%(constraint_name)s",
                "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                "pk": "pk_%(table_name)s",
            }
        ),
        type_annotation_map={datetime: UTCDateTime()},
    )


def one_of(column: str, values) -> str:
    """The SQL of a CheckConstraint allowing only ``values`` (an enum or the keys of a label dict)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def sqlite_savepoint_inside_the_transaction(connection, _name) -> None:
    """Engine ``savepoint`` (installed by banso/hooks.py). pysqlite opens its transaction only before a write, so a SAVEPOINT taken before any write (a form's one-time
    key) ran outside it and its RELEASE wrote the row for good: a refused form left its key spent, and the corrected
    form was turned away as a double submit. On SQLite the transaction is begun before such a SAVEPOINT; reads before
    the first write stay outside it, as pysqlite keeps them (two writers then wait for each other instead of failing)."""
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()


def reset_sequences() -> None:
    """After rows were written with explicit ids, PostgreSQL's sequences must start past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False:
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
