"""APP-4 as the answers really travel: the secretariat downloads the file to fill (last phase's supported
municipalities), the municipalities send it back filled in as people write (○, full-width, spaces), and it is
previewed with its row errors, then taken in all at once or not at all."""
import io
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Application, ContinuationResponse, ImportBatch
from banso.services import applications, continuation_import
from tests.conftest import login
from tests.factories import make_application, make_municipality, make_phase, make_publication, make_user


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([h for h, _ in continuation_import.COLUMNS])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _setup(app):
    with app.app_context():
        staff = make_user(email="staff@banso.example")
        first = make_phase(number=1, name="第1期", fiscal_year=2025, survey_opens_at=jst(2024, 12, 2),
                           answer_deadline_at=jst(2024, 12, 25, 17), support_start=date(2025, 4, 15), support_end=date(2026, 3, 31))
        make_publication(first)  # last phase's results are public
        make_phase()
        towns = {}
        for name in ("大船渡市", "遠野市", "釜石市"):
            old = make_application(first, make_municipality(name=name), received_at=jst(2024, 12, 20))
            for action in ("confirm", "eligible", "matched"):
                applications.change_status(old, action, reason="理由", actor=staff)
            towns[name] = old.municipality.code
        db.session.commit()
        return towns


def test_the_file_to_fill_comes_back_and_every_answer_is_taken_in_once(app, client):
    towns = _setup(app)
    login(client, "staff@banso.example")
    blank = load_workbook(io.BytesIO(client.get("/applications/continuation?phase=2&format=xlsx").data)).active
    assert [c.value for c in blank[1]] == [h for h, _ in continuation_import.COLUMNS]
    assert sorted(r[2] for r in blank.iter_rows(min_row=2, values_only=True)) == ["大船渡市", "遠野市", "釜石市"]
    filled = _workbook([[towns["大船渡市"], "岩手県", "大船渡市", " 希望する ", "子育て支援を追加"],
                        [towns["遠野市"], "岩手県", "遠野市", "×", ""],
                        [towns["釜石市"], "岩手県", "釜石市", "○", ""]])
    preview = client.post("/applications/continuation/import?phase=2",
                          data={"file": (io.BytesIO(filled), "継続意向_回答.xlsx")}, content_type="multipart/form-data")
    assert preview.status_code == 302
    batch_path = preview.location
    page = client.get(batch_path).get_data(as_text=True)
    assert "継続を希望" in page and "継続を希望しない" in page
    done = client.post(f"{batch_path}/commit", follow_redirects=True).get_data(as_text=True)
    assert "3件の継続意向調査の回答を取り込みました" in done
    with app.app_context():
        wishes = dict(db.session.execute(select(ContinuationResponse.municipality_id, ContinuationResponse.wishes_to_continue)).all())
        assert sorted(wishes.values()) == [False, True, True]
        continuing = db.session.scalars(select(Application).where(Application.is_continuing.is_(True))).all()
        assert len(continuing) == 2 and any("子育て支援を追加" in a.local_situation for a in continuing)


def test_a_file_with_a_bad_row_takes_in_nothing_and_says_which_row_and_why(app, client):
    towns = _setup(app)
    login(client, "staff@banso.example")
    other = None
    with app.app_context():
        other = make_municipality(name="花巻市").code
        db.session.commit()
    filled = _workbook([[towns["大船渡市"], "岩手県", "大船渡市", "希望する", ""],
                        [towns["遠野市"], "岩手県", "遠野市", "たぶん", ""],
                        [other, "岩手県", "花巻市", "希望する", ""]])
    preview = client.post("/applications/continuation/import?phase=2",
                          data={"file": (io.BytesIO(filled), "回答.xlsx")}, content_type="multipart/form-data")
    page = client.get(preview.location).get_data(as_text=True)
    assert "「希望する」か「希望しない」を記入してください" in page and "前期の支援先ではないため" in page
    refused = client.post(f"{preview.location}/commit", follow_redirects=True).get_data(as_text=True)
    assert "エラーのある行（3、4行目）が残っています" in refused
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContinuationResponse)) == 0
        assert db.session.scalar(select(ImportBatch.status)) == "ready"


def test_the_wish_is_read_as_people_write_it():
    for text, wished in (("希望する", True), ("　希望する　", True), ("○", True), ("〇", True), ("希望しない", False),
                         ("×", False), ("しない", False), ("", None), ("未定", None)):
        assert continuation_import.wish(text) is wished, text
