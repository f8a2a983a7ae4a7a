"""Scale data (`flask banso generate-scale`) and backup/restore (`flask banso export` / `import`)."""
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from banso import backup, scale
from banso.extensions import db
from banso.models import Application, Inquiry, Officer, OfficerCandidacy, Phase, Team, TeamMembership, User
from banso.models.travel import TripRequest
from tests.conftest import empty_tables, rolled_back
from tests.factories import make_user

AS_OF = date(2026, 11, 23)


def _snapshot() -> dict[str, list[tuple]]:
    tables = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.c)
        tables[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*order))]
    return tables


def _empty_all_tables() -> None:
    empty_tables()
    db.session.commit()


# Records one page may load (the team list: 25 teams with their members, officers and ministries is about 260; the
# rate table, fixed at 47 prefectures × 4 bands, about 200).
ROWS_PER_PAGE = 300


@pytest.fixture(scope="class")
def scale_one(app):
    """The N = 1 set, generated once for the tests of ScaleOne (about a hundred thousand rows), rolled back after them."""
    with rolled_back(app):
        with app.app_context():
            counts = scale.generate(1, as_of=AS_OF, echo=lambda _: None)
            db.session.commit()
        yield counts


def test_scale_data_is_reproducible_and_needs_an_empty_database(ctx):
    _empty_all_tables()
    scale.generate(1, as_of=AS_OF, phases=2, echo=lambda _: None)
    first = _snapshot()
    with pytest.raises(scale.EmptyDatabaseRequired):
        scale.generate(1, as_of=AS_OF, phases=2, echo=lambda _: None)
    db.session.rollback()
    _empty_all_tables()
    scale.generate(1, as_of=AS_OF, phases=2, echo=lambda _: None)
    second = _snapshot()
    volatile = {"imported_at", "created_at", "updated_at", "at", "computed_at", "password_hash"}  # stamped now; salted
    for name, rows in first.items():
        table = db.metadata.tables[name]
        keep = [i for i, c in enumerate(table.c) if c.name not in volatile]
        assert [[r[i] for i in keep] for r in rows] == [[r[i] for i in keep] for r in second[name]], name


def test_import_refuses_a_database_that_has_data_and_a_broken_archive(ctx, tmp_path):
    make_user(email="someone@banso.example")
    db.session.commit()
    archive = tmp_path / "backup.zip"
    backup.export(archive, echo=lambda _: None)
    with pytest.raises(backup.RestoreRefused, match="空のデータベース"):
        backup.restore(archive, echo=lambda _: None)

    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:200])
    _empty_all_tables()
    with pytest.raises(backup.RestoreRefused, match="読めません"):
        backup.restore(broken, echo=lambda _: None)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_an_archive_whose_rows_do_not_match_its_manifest_restores_nothing(ctx, tmp_path):
    import json
    import zipfile

    make_user(email="one@banso.example")
    make_user(email="two@banso.example")
    db.session.commit()
    archive = tmp_path / "backup.zip"
    backup.export(archive, echo=lambda _: None)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "tables/users.jsonl":
                data = data.splitlines(keepends=True)[0]
            target.writestr(item, data)
    _empty_all_tables()
    with pytest.raises(backup.RestoreRefused, match="行数"):
        backup.restore(tampered, echo=lambda _: None)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert json.loads(zipfile.ZipFile(tampered).read("manifest.json"))["tables"]["users"] == 2


class TestScaleOne:
    """The generated set, and its backup round trip."""

    def test_scale_one_is_ten_years_of_the_programme(self, scale_one, ctx):
        counts = scale_one

        assert db.session.scalar(select(func.count()).select_from(Phase)) == 10
        per_phase = Counter(db.session.scalars(select(Application.phase_id)))
        assert set(per_phase.values()) == {115}
        teams_per_phase = Counter(db.session.scalars(select(Team.phase_id)))
        assert all(90 <= n <= 97 for n in teams_per_phase.values()), teams_per_phase
        selected = Counter(db.session.scalars(select(OfficerCandidacy.phase_id).where(OfficerCandidacy.status == "selected")))
        assert set(selected.values()) == {300}
        # Every team is a valid one (TEAM-1: 2-3 members from different ministries), and only this year's are active.
        for team in db.session.scalars(select(Team).where(Team.phase_id == 10).limit(50)):
            homes = [m.officer.home_ministry.id for m in team.current_members]
            assert 2 <= len(homes) <= 3 and len(set(homes)) == len(homes)
        assert set(db.session.scalars(select(Team.status).where(Team.phase_id < 10))) == {"ended"}
        assert set(db.session.scalars(select(Team.status).where(Team.phase_id == 10))) == {"active"}
        # A year of weekly meetings per past team; travel and inquiries in proportion.
        assert counts["activities"] > 40 * 970
        assert db.session.scalar(select(func.count()).select_from(TripRequest)) > 3 * 970
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) > 2_500
        assert db.session.scalar(select(User.id).join(Officer, Officer.user_id == User.id)
                                 .join(TeamMembership, TeamMembership.officer_id == Officer.id)
                                 .where(User.email == "officer@banso.example").limit(1)) is not None
        # The money the database keeps (triggers, as the generator's rows went in) equals every phase's trips summed.
        from banso.services import travel

        assert [d for phase in db.session.scalars(select(Phase)) for d in travel.check_kept(phase)] == []

    def test_no_page_loads_more_than_a_page_of_records_at_ten_years(self, app, scale_one):
        """Issue 19's guard on rows read: every page `make bench` measures, as its role, over ten years of the programme
        (a phase: 97 teams, ~290 memberships, 330 officers, ~4,000 activities), hydrates at most ROWS_PER_PAGE records.
        A page that loads a whole phase — its teams with their members, its officers, its activity — fails here."""
        from collections import Counter

        from sqlalchemy import event

        from bench.pages import PAGES, PASSWORD, ROLES, _ids

        with app.app_context():
            ids = _ids()
        loaded: Counter = Counter()

        def on_load(target, _context):
            loaded[type(target).__name__] += 1

        over = {}
        event.listen(db.Model, "load", on_load, propagate=True)
        try:
            clients = {}
            for role, email in ROLES.items():
                clients[role] = app.test_client()
                if email:
                    assert clients[role].post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
            for role, template in PAGES:
                path = template.format(**ids)
                clients[role].get(path)  # warm: what a first visit fills is not the page's own reading
                loaded.clear()
                assert clients[role].get(path).status_code == 200, (role, path)
                if sum(loaded.values()) > ROWS_PER_PAGE:
                    over[f"{role} {template}"] = dict(loaded.most_common(4))
        finally:
            event.remove(db.Model, "load", on_load)
        assert over == {}, over

    def test_export_then_import_into_an_empty_database_restores_every_table_and_file(self, app, scale_one, ctx, tmp_path):
        receipt = Path(app.config["RECEIPT_DIR"]) / "ab" / "ab12"
        receipt.parent.mkdir(parents=True, exist_ok=True)
        receipt.write_bytes(b"%PDF-1.4 receipt")
        db.session.commit()
        before = _snapshot()
        archive = tmp_path / "banso-backup.zip"

        counts = backup.export(archive, echo=lambda _: None)
        assert counts["activities"] == len(before["activities"]) > 40_000

        _empty_all_tables()
        receipt.unlink()
        backup.restore(archive, echo=lambda _: None)
        db.session.commit()
        after = _snapshot()
        for name in before:
            assert after[name] == before[name], name
        assert receipt.read_bytes() == b"%PDF-1.4 receipt"
        # New rows continue past the restored ids (PostgreSQL sequences were moved on).
        user = make_user(email="after-restore@banso.example")
        db.session.commit()
        assert user.id > max(row[0] for row in before["users"])
