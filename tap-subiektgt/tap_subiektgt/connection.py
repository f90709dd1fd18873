"""The connection to a Subiekt GT database: built from the settings, read-only, explained.

Why this is its own module: it is where the tap meets the customer's ERP, and three rules
hold here. (1) The tap never writes: SQLite test databases are opened with ``mode=ro``;
for SQL Server pymssql has no ``ApplicationIntent=ReadOnly`` connection-string switch, so
the connection asks for read-only intent with pymssql's ``read_only`` flag (a routing hint
for Always On replicas, not a lock), every statement passes :func:`refuse_writes` before it
is sent, and the README asks for a login that has only ``db_datareader``. (2) Every wait
ends: login and query timeouts are set. (3) A failure says what to check (login, server or
instance, database name), never the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from commerce_schema.redact import redact
from singer_sdk.sql import SQLConnector

from tap_subiektgt.queries import NEXO_MARKERS, REQUIRED_TABLES

DEFAULT_INSTANCE = "INSERTGT"
LOGIN_TIMEOUT_SECONDS = 20
QUERY_TIMEOUT_SECONDS = 600
APP_NAME = "tap-subiektgt"
_WRITE_VERBS = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|MERGE|UPSERT|REPLACE|CREATE|ALTER|DROP|TRUNCATE|EXEC|EXECUTE|"
    r"GRANT|REVOKE|DENY|BULK|BACKUP|RESTORE|ATTACH|DETACH|VACUUM|REINDEX|SP_\w+)\b",
    re.IGNORECASE)


class SubiektConnectionError(Exception):
    """The database cannot be used; the message says what to check (no secret in it)."""


class WriteRefusedError(RuntimeError):
    """The tap was about to send a statement that could change the database."""


def is_write(statement: str) -> bool:
    """True for a statement that could change data or schema (or that chains statements)."""
    text = statement.strip()
    if ";" in text.rstrip(";"):
        return True
    if _WRITE_VERBS.match(text):
        return True
    return bool(re.match(r"^\s*PRAGMA\b[^=]*=", text, re.IGNORECASE))


def refuse_writes(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                  executemany: bool) -> None:
    """SQLAlchemy ``before_cursor_execute`` hook: a write never reaches the server."""
    if is_write(statement):
        raise WriteRefusedError(
            f"tap-subiektgt refused to send a statement that could change the database: "
            f"{statement.strip()[:60]!r}")


def server_name(host: str, instance: str | None, port: int | None) -> str:
    """FreeTDS's server: ``HOST\\INSTANCE`` (found through SQL Browser, UDP 1434) or, when a
    port is given, ``HOST`` (the port then goes beside it: a fixed TCP port needs no
    Browser, and a named instance's name is ignored by SQL Server when the port is known)."""
    host = host.strip()
    if port or not instance:
        return host
    return f"{host}\\{instance.strip()}"


def url_from_parts(config: dict[str, Any]) -> sa.URL:
    """``mssql+pymssql://user:password@HOST\\INSTANCE/database`` from the split settings."""
    port = config.get("port")
    instance = config.get("instance")
    if instance is None and not port:
        instance = DEFAULT_INSTANCE
    return sa.URL.create(
        "mssql+pymssql", username=config.get("user"), password=config.get("password"),
        host=server_name(str(config.get("host") or ""), instance, port),
        port=int(port) if port else None, database=config.get("database"))


def database_url(config: dict[str, Any]) -> sa.URL:
    """The URL to open: ``sqlalchemy_url`` as given, else built from the parts; SQLite is
    opened read-only (``mode=ro``)."""
    raw = config.get("sqlalchemy_url")
    url = sa.make_url(raw) if raw else url_from_parts(config)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:":
            raise SubiektConnectionError("a SQLite sqlalchemy_url must name a database file")
        if not database.startswith("file:"):
            database = f"file:{database}"
        url = url.set(database=database).update_query_dict({"mode": "ro", "uri": "true"})
    if url.password:
        redact.add(str(url.password))
    return url


def describe_target(url: sa.URL) -> str:
    """Where the tap connects, without the password: ``HOST\\INSERTGT, database DEMO``."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {(url.database or '').removeprefix('file:')}"
    where = url.host or "?"
    if url.port:
        where += f":{url.port}"
    return f"{where}, database {url.database or '(default)'}"


def explain(exc: BaseException, url: sa.URL) -> str:
    """A driver error as one sentence a vendor can act on (secrets masked)."""
    text = redact(str(getattr(exc, "orig", None) or exc))
    lowered = text.lower()
    where = describe_target(url)
    user = url.username or "?"
    if "18456" in text or "login failed" in lowered:
        message = (f"SQL Server refused the login {user!r} at {where}: check user and "
                   "password (a SQL Server login, not a Subiekt operator) and that SQL "
                   "Server authentication is enabled")
    elif "4060" in text or "cannot open database" in lowered:
        message = (f"SQL Server at {url.host} has no database {url.database!r} that login "
                   f"{user!r} may open: check the database name (one per company, as in "
                   "Subiekt's company list) and the login's access to it")
    elif ("20009" in text or "unable to connect" in lowered or "adaptive server" in lowered
          or "20002" in text or "connection refused" in lowered):
        message = (f"cannot reach SQL Server at {where}: check host and instance (a named "
                   "instance needs the SQL Server Browser service, UDP 1434) or give the "
                   "instance's fixed TCP port, and that a firewall or VPN lets this machine "
                   "through")
    elif "unable to open database file" in lowered:
        message = f"cannot open {where}: the file does not exist or is not readable"
    elif "file is not a database" in lowered:
        message = f"{where} is not a SQLite database"
    else:
        message = f"the database at {where} failed: {text[:300]}"
    return redact(message)


def check_subiekt(conn: sa.Connection) -> list[str]:
    """Raise :class:`SubiektConnectionError` when this is not a Subiekt GT database (naming
    Subiekt nexo when its tables are there instead); return optional tables missing."""
    inspector = sa.inspect(conn)
    tables = {name.lower() for name in inspector.get_table_names()}
    missing = [t for t in REQUIRED_TABLES if t.lower() not in tables]
    if missing:
        schemas = {name.lower() for name in inspector.get_schema_names()}
        nexo = any(m.lower() in schemas or m.lower() in tables for m in NEXO_MARKERS)
        if nexo:
            raise SubiektConnectionError(
                "this is a Subiekt nexo database, not Subiekt GT: tap-subiektgt reads "
                "Subiekt GT only (nexo keeps its catalog in other tables, e.g. "
                "ModelDanychContainer.Asortymenty)")
        raise SubiektConnectionError(
            "this database is not a Subiekt GT company database: tables "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} are missing "
            "(is it the right database? each company has its own)")
    return [t for t in ("sl_WlasciwCechTw", "sl_WlasciwoscCecha", "kh__Kontrahent",
                        "adr__Ewid") if t.lower() not in tables]


def connect_args(url: sa.URL) -> dict[str, Any]:
    """The driver's options: for pymssql read-only intent, login and query timeouts and the
    application name a DBA sees in the session list; for SQLite a lock wait limit."""
    if url.get_backend_name() == "mssql":
        return {"login_timeout": LOGIN_TIMEOUT_SECONDS, "timeout": QUERY_TIMEOUT_SECONDS,
                "read_only": True, "appname": APP_NAME}
    if url.get_backend_name() == "sqlite":
        return {"timeout": LOGIN_TIMEOUT_SECONDS}
    return {}


class SubiektConnector(SQLConnector):
    """singer-sdk's SQL connector with the URL, timeouts and write guard of this tap."""

    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        """The URL from ``sqlalchemy_url`` or the split settings, as text for the SDK."""
        return database_url(config).render_as_string(hide_password=False)

    def create_engine(self) -> sa.Engine:
        """The SDK's documented hook for engine creation: timeouts and read-only intent
        for pymssql, no pooling games, and the write guard on every statement."""
        url = sa.make_url(self.sqlalchemy_url)
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args(url))
        sa.event.listen(engine, "before_cursor_execute", refuse_writes)
        return engine

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection that streams results; never committed (closing it rolls back)."""
        # the SDK documents ``_engine`` as "the correct way to access the Connector's
        # engine"; its public ``_connect`` twin is private too, so this is the one way in
        with self._engine.connect().execution_options(stream_results=True) as conn:
            yield conn

    def dispose(self) -> None:
        """Close pooled connections at the end of the run."""
        self._engine.dispose()
