"""The PostgreSQL backend (dedup/index_postgres.py) on a throwaway server started here.

The server (initdb + pg_ctl, on 127.0.0.1 and a free port, in a temporary folder) starts once per test
session, the first time a test asks for it, and stops at exit. As root (initdb refuses root) it runs as the
``postgres`` system user. Where the binaries, the user or psycopg are missing, or the server does not start,
every PostgreSQL test is skipped with the reason. The behavioural tests shared with SQLite (incremental ==
batch, parameters, crashes, concurrent readers, stories) are parametrised over both backends in
tests/test_index.py and tests/test_index_stories.py; this file holds what only PostgreSQL has.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import dedup  # noqa: E402
from dedup import Config, IncompatibleSignatures, MatchParams  # noqa: E402
from dedup.index import Index, IndexFileError  # noqa: E402
from dedup.index_postgres import redact  # noqa: E402
from dedup.index_store import FORMAT_VERSION  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class Unavailable(Exception):
    """Why no PostgreSQL server could be started."""


def _binary(name: str) -> str | None:
    """``name`` on PATH, else in the newest /usr/lib/postgresql/*/bin (Debian does not put initdb on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")])
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@lru_cache(maxsize=1)
def _server() -> str | Unavailable:
    """The URL of a running throwaway server (started once per process), or why there is none."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return Unavailable("psycopg is not installed (pip install 'dedup[postgres]')")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        return Unavailable("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
                           "(install the server: apt-get install postgresql)")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="dedup-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return Unavailable("running as root and there is no 'postgres' user to run the server as")
        if not shutil.which("runuser"):
            return Unavailable("running as root and runuser is missing (needed to run the server as postgres)")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = folder / "data", folder / "log", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(prefix + list(args), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            raise Unavailable(f"{Path(args[0]).name} failed: {why[-1] if why else done.returncode}")

    try:
        run(initdb, "-D", str(data), "-U", "dedup", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        run(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-h 127.0.0.1 -p {port} -k {folder} -c max_connections=40", "start")
    except (Unavailable, OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(folder, ignore_errors=True)
        return e if isinstance(e, Unavailable) else Unavailable(str(e))

    def stop() -> None:
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://dedup@127.0.0.1:{port}/postgres"


_schemas = itertools.count(1)


def postgres_url() -> str:
    """A fresh empty schema on the session's server, as an index URL; skips the test when there is no server."""
    server = _server()
    if isinstance(server, Unavailable):
        pytest.skip(f"PostgreSQL server not available: {server}")
    import psycopg

    name = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {name}")
    return f"{server}?options=-csearch_path%3D{name}"


@pytest.fixture
def pg() -> str:
    return postgres_url()


def example_docs():
    return dedup.read_all([str(REPO / "examples" / "corpus.jsonl")])[0]


# -- what only PostgreSQL has ----------------------------------------------------------------------------------

def test_url_opens_postgres_and_records_the_same_meta(pg):
    docs = example_docs()
    with Index.open(pg, Config(match=MatchParams(0.6))) as ix:
        assert type(ix.db).__name__ == "PostgresBackend"
        ix.add(docs[:10])
        meta = dict(ix.db.rows("SELECT name, value FROM meta"))
        stats = ix.stats()
    assert int(meta["format_version"]) == FORMAT_VERSION and meta["application"] == '"dedup-index"'
    assert stats["documents"] == 10 and stats["file_bytes"] > 0 and stats["backend"] == "PostgresBackend"
    with pytest.raises(IncompatibleSignatures, match="threshold"):
        Index.open(pg, Config())


def test_foreign_and_empty_databases_are_refused(pg):
    import psycopg

    with pytest.raises(IndexFileError, match="empty database"):
        Index.open(pg, create=False)
    schema = pg.rsplit("%3D", 1)[1]
    with psycopg.connect(pg.split("?")[0], autocommit=True) as con:
        con.execute(f"CREATE TABLE {schema}.customers (id integer)")
    with pytest.raises(IndexFileError, match="not a dedup index") as e:
        Index.open(pg)
    assert "\n" not in str(e.value)


def test_newer_format_and_other_application_are_refused(pg):
    Index.open(pg).close()
    import psycopg

    schema = pg.rsplit("%3D", 1)[1]
    with psycopg.connect(pg.split("?")[0], autocommit=True) as con:
        con.execute(f"UPDATE {schema}.meta SET value = '99' WHERE name = 'format_version'")
    with pytest.raises(IndexFileError, match="newer dedup"):
        Index.open(pg)
    with psycopg.connect(pg.split("?")[0], autocommit=True) as con:
        con.execute(f"UPDATE {schema}.meta SET value = '\"other\"' WHERE name = 'application'")
    with pytest.raises(IndexFileError, match="not a dedup index"):
        Index.open(pg)


def test_unreachable_server_is_one_line_and_password_is_hidden():
    url = f"postgresql://someone:secret@127.0.0.1:{_free_port()}/nowhere"
    with pytest.raises(IndexFileError, match="cannot connect to PostgreSQL") as e:
        Index.open(url)
    assert "secret" not in str(e.value) and "\n" not in str(e.value)
    assert redact(url).startswith("postgresql://someone:***@127.0.0.1:")


def test_cli_takes_a_url(pg, tmp_path):
    from typer.testing import CliRunner

    from dedup.cli import app

    corpus = str(REPO / "examples" / "corpus.jsonl")
    run = CliRunner().invoke
    assert run(app, ["index", "add", pg, corpus]).exit_code == 0
    got = run(app, ["index", "query", pg, corpus])
    assert got.exit_code == 0 and got.stdout.count("\n") == len(example_docs())
    assert run(app, ["index", "check", pg]).stdout.strip() == "ok"
    assert run(app, ["index", "export", pg, "--out", str(tmp_path / "out")]).exit_code == 0
    assert (tmp_path / "out" / "stories.jsonl").stat().st_size > 0
    bad = run(app, ["index", "add", pg, corpus, "-k", "3"])
    assert bad.exit_code == 1 and "different parameters" in bad.stderr
