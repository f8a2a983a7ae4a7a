"""Issue 36, the restore drill (make test-slow, on PostgreSQL): a database with records and stored files is backed up
with `flask banso backup` (pg_dump, the files, a manifest), restored with `flask banso restore` into a new database
and a new files directory — row counts and every file's hash equal — and the app signs a user in and serves from it."""
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from banso.extensions import db
from banso.models import Receipt, TripRequest

pytestmark = pytest.mark.slow


def _database(base_url: str, name: str) -> str:
    url = make_url(base_url).set(database=name)
    subprocess.run(["createdb", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres", name],
                   check=True, capture_output=True)
    return url.render_as_string(hide_password=False)


def _drop(base_url: str, name: str) -> None:
    url = make_url(base_url)
    subprocess.run(["dropdb", "--force", "--if-exists", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                    url.username or "postgres", name], capture_output=True)


def test_a_backup_restores_into_a_new_database_whole_and_the_app_serves_from_it(database_url, redis_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the drill uses PostgreSQL's own tools (pg_dump, pg_restore)")
    from flask_migrate import upgrade

    from banso import pg_backup
    from tests.conftest import make_app
    from tests.factories import PASSWORD, make_rates, make_team, make_trip, make_user

    suffix = uuid.uuid4().hex[:8]
    source_name, copy_name = f"banso_drill_{suffix}", f"banso_drill_{suffix}_restored"
    try:
        source = make_app(_database(database_url, source_name), redis_url, RECEIPT_DIR=str(tmp_path / "files"))
        with source.app_context():
            upgrade()
            make_rates(2026)
            team = make_team()
            staff = make_user("secretariat", email="drill@banso.example")
            trip = make_trip(team, actor=staff)
            from banso.services import travel

            travel.review_request(trip, "approve", actor=make_user("finance"))
            lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
            travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4 drill receipt")], actor=staff)
            db.session.commit()
            manifest = pg_backup.backup(tmp_path / "backup")
            assert manifest["rows"]["trip_requests"] == 1 and len(manifest["files"]) == 1
            db.session.remove()

        copy = make_app(_database(database_url, copy_name), redis_url, RECEIPT_DIR=str(tmp_path / "restored-files"))
        runner = copy.test_cli_runner()
        result = runner.invoke(args=["banso", "restore", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        assert "一致することを確かめました" in result.output
        with copy.app_context():
            assert pg_backup.check(manifest) == []
            assert db.session.scalar(select(func.count()).select_from(TripRequest)) == 1
            digest = db.session.scalar(select(Receipt.sha256))
            assert (Path(copy.config["RECEIPT_DIR"]) / digest[:2] / digest).read_bytes() == b"%PDF-1.4 drill receipt"
            refused = runner.invoke(args=["banso", "restore", str(tmp_path / "backup")])
            assert refused.exit_code != 0 and "空ではありません" in refused.output  # never over a live database
            db.session.remove()
        client = copy.test_client()
        signed_in = client.post("/login", data={"email": "drill@banso.example", "password": PASSWORD}, follow_redirects=True)
        assert signed_in.status_code == 200 and "ホーム" in signed_in.get_data(as_text=True)
        assert client.get("/travel/").status_code == 200
    finally:
        for name in (source_name, copy_name):
            _drop(database_url, name)
