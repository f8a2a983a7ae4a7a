from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from banso.blueprints.forms import act, opened_version, report_decision
from banso.blueprints.publication import bp, public_bp
from banso.extensions import db
from banso.listing import export, export_workbook
from banso.models import Application, Municipality, Phase, PrefectureContact
from banso.permissions import allowed
from banso.policies import publication as policy
from banso.reference import PREFECTURES, field_label
from banso.services import approvals, audit, phase_steps, phases, public_results, publication, statistics


def _phase():
    phase = phases.selected_phase(request.values.get("phase"), phases.INTAKE)
    if phase is None:
        abort(404)
    return phase


@bp.get("/", endpoint="index")
@allowed(policy.may_prepare)
def index():
    phase = _phase()
    record = publication.publication_of(phase)
    return render_template("publication/index.html", phase=phase, record=record, all_phases=phases.all_phases(),
                           history=audit.history_of(record), figures=statistics.headline(phase),
                           blockers=phase_steps.confirm_blockers(phase) if record.status == "preparing" or record.unlocked else [],
                           left_out=phase_steps.left_out_of_notices(phase),
                           early_case=approvals.latest_case("early_release", phase.id) if record.early_requested_at else None)


@bp.get("/steps")
@allowed(policy.may_prepare)
def steps():
    """The phase's steps in their order: what is done, what keeps the next one waiting, who acts."""
    phase = _phase()
    return render_template("publication/steps.html", phase=phase, steps=phase_steps.steps(phase), all_phases=phases.all_phases())


def _step(phase, action, success: str):
    return act(action, success, redirect(url_for("publication.index", phase=phase.number)))


@bp.post("/confirm")
@allowed(policy.may_prepare, refused="publication.index")
def confirm():
    phase = _phase()
    reason = request.form.get("reason", "")
    case = publication.request_confirmation(phase, actor=current_user, reason=reason)
    report_decision(case, f"{phase.name}のマッチング結果を確定しました。", f"{phase.name}のマッチング結果の確定")
    return redirect(url_for("publication.index", phase=phase.number))


@bp.post("/unlock")
@allowed(policy.may_decide, refused="publication.index")
def unlock():
    phase = _phase()
    reason = request.form.get("reason", "")
    return _step(phase, lambda: publication.unlock(phase, reason, actor=current_user), "確定済みマッチングの変更を許可しました。変更後、もう一度確定してください。")


@bp.post("/notify")
@allowed(policy.may_prepare, refused="publication.index")
def notify():
    phase = _phase()
    return _step(phase, lambda: publication.send_advance_notices(phase, actor=current_user),
                 "事前通知を送信しました（送信済みの方へは再送しません）。送信状況は通知の画面で確認できます。")


@bp.post("/early")
@allowed(policy.may_decide, refused="publication.index")
def request_early():
    phase = _phase()
    reason = request.form.get("reason", "")
    return _step(phase, lambda: publication.request_early_release(phase, reason, actor=current_user),
                 "公表の前倒しを起案しました。決裁ルートの確認者（申請者とは独立した事務局管理者）が決裁すると、その時点で公表されます。")


@bp.post("/release")
@allowed(policy.may_decide, refused="publication.index")
def release():
    phase = _phase()
    return _step(phase, lambda: publication.release(phase, actor=current_user), f"{phase.name}のマッチング結果を公表しました。")


@bp.route("/prefectures", methods=["GET", "POST"])
@allowed(policy.may_prepare, refused="publication.prefectures")
def prefectures():
    """PUB-4: each prefecture's packet, its contact, and sending it through the outbox."""
    phase = _phase()
    if request.method == "POST":
        back = redirect(url_for("publication.prefectures", phase=phase.number))
        if request.form.get("action") in ("allow", "forbid"):
            allowed = request.form["action"] == "allow"
            return act(lambda: publication.set_share_before_release(phase, allowed, actor=current_user),
                       "公表前の共有の設定を変更しました。", back)
        if request.form.get("action") == "send":
            return act(lambda: publication.send_prefecture_packets(phase, actor=current_user),
                       "都道府県へ共有の通知を送信しました（送信済みの都道府県へは再送しません）。", back)
        prefecture = request.form.get("prefecture", "")
        return act(lambda: publication.set_prefecture_contact(prefecture, request.form.get("email", ""),
                                                              request.form.get("department", ""), actor=current_user,
                                                              expected_version=opened_version()),
                   f"{prefecture}の共有先を保存しました。", back)
    prefecture = request.args.get("prefecture")
    if prefecture in PREFECTURES and request.args.get("format") == "xlsx":
        return _packet(phase, prefecture)
    counts = dict(db.session.execute(select(Municipality.prefecture, func.count()).join(Application)
                                     .where(Application.phase_id == phase.id).group_by(Municipality.prefecture)).all())
    supported = publication.supported_by_prefecture(phase)
    contacts = {c.prefecture: c for c in db.session.scalars(select(PrefectureContact))}
    return render_template("publication/prefectures.html", phase=phase, counts=counts, supported=supported, contacts=contacts,
                           prefectures=PREFECTURES, may_share=publication.may_share(phase), all_phases=phases.all_phases())


def _packet(phase: Phase, prefecture: str):
    applications = list(db.session.scalars(select(Application).join(Municipality).where(
        Application.phase_id == phase.id, Municipality.prefecture == prefecture).order_by(Municipality.code)))
    teams = {t.municipality_id: t for t in public_results.results(phase).get(prefecture, [])}
    activity = publication.activity_counts(phase)
    return export_workbook([
        ("回答", [("市町村", lambda a: a.municipality.name), ("区分", lambda a: "継続" if a.is_continuing else "新規"),
                ("状況", lambda a: a.status_label), ("優先分野", lambda a: "、".join(field_label(f) for f in a.priority_fields)),
                ("地域の状況", lambda a: a.local_situation), ("担当部署", lambda a: a.contact_department)], applications),
        ("マッチング結果", [("市町村", lambda t: t.municipality.name), ("支援テーマ", lambda t: "×".join(field_label(f) for f in t.themes)),
                       ("伴走支援チーム", public_results.members_text), ("支援期間", lambda t: f"{t.start_date}〜{t.end_date}"),
                       ("現地訪問（回）", lambda t: activity.get(t.id, {}).get("site_visit", 0)),
                       ("オンライン会議（回）", lambda t: activity.get(t.id, {}).get("online_meeting", 0)),
                       ("企業訪問（回）", lambda t: activity.get(t.id, {}).get("company_visit", 0))], list(teams.values())),
    ], f"{phase.name}_{prefecture}_共有資料")


# --- the public results page (PUB-3) ----------------------------------------------------------

@public_bp.get("/<int:number>/results")
def results(number: int):
    """Public after release; before it a 404 for everyone (the secretariat previews at its own address)."""
    phase = db.session.scalar(select(Phase).where(Phase.number == number))
    if phase is None or publication.confidential(phase):
        abort(404)
    return _results_page(phase, "public.results")


@bp.get("/preview")
@allowed(policy.may_prepare)
def preview():
    """The public page as it will read, before release: the secretariat's own address, never the public one (a
    cached or shared copy of the public URL must not hold results before their time)."""
    return _results_page(_phase(), "publication.preview")


def _results_page(phase: Phase, endpoint: str):
    """The public page reads the stored snapshot (services/public_results.py) and answers a browser holding the same
    one with 304; the secretariat's preview is computed from the records."""
    if endpoint == "public.results":
        content, etag = public_results.snapshot(phase)
        if request.args.get("format") not in ("csv", "xlsx") and etag in request.if_none_match:
            return _with_etag(make_response("", 304), etag)
        grouped, figures = content["grouped"], content["headline"]
    else:
        grouped, figures = public_results.rows(phase), statistics.headline(phase)
    if request.args.get("format") in ("csv", "xlsx"):
        rows = [(prefecture, town, members) for prefecture, towns in grouped for town, members in towns]
        columns = [("都道府県", lambda r: r[0]), ("市町村", lambda r: r[1]), ("地方創生支援官（府省庁）", lambda r: r[2])]
        return export(rows, columns, f"{phase.name}_伴走支援の対象自治体と支援官")
    page = make_response(render_template("publication/results.html", phase=phase, grouped=grouped, figures=figures,
                                         preview=publication.confidential(phase), endpoint=endpoint))
    return _with_etag(page, etag) if endpoint == "public.results" else page


def _with_etag(response, etag: str):
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"  # always ask; the ETag answers cheaply
    return response
