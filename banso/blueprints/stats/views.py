from flask import abort, render_template, request

from banso.blueprints.stats import bp
from banso.listing import export_workbook
from banso.permissions import allowed
from banso.policies import publication as publication_policy
from banso.services import phases, statistics

HEADLINE_ROWS = [
    ("国の職員からの応募（名）", "officer_applicants"), ("応募のあった府省庁等", "ministries"),
    ("地方創生支援官（名、現員）", "officers"), ("うち地方創生支援オフィサー（名）", "secondees"), ("伴走支援チーム", "teams"),
    ("自治体からの応募（市町村）", "municipal_applicants"), ("支援対象自治体（市町村）", "supported"),
    ("支援対象の道府県", "supported_prefectures"), ("新規支援（市町村）", "new"), ("新規支援の道府県", "new_prefectures"),
    ("継続支援（市町村）", "continuing"), ("継続支援の道府県", "continuing_prefectures"),
]


@bp.get("/", endpoint="index")
@allowed(publication_policy.may_see_results)
def index():
    phase = phases.selected_phase(request.args.get("phase"), phases.SUPPORT)
    if phase is None:
        abort(404)
    all_phases = phases.all_phases()
    headlines = statistics.headlines(sorted(all_phases, key=lambda p: p.number))
    breakdown, regions, sizes = statistics.officer_breakdown(phase), statistics.by_region(phase), statistics.by_population(phase)
    if request.args.get("format") == "xlsx":
        pair = [("区分", lambda r: r[0]), ("応募", lambda r: r[1]), ("選定・支援", lambda r: r[2])]
        return export_workbook([
            ("主要数値", [("項目", lambda r: r[0])] + [(h.phase.name, (lambda h: lambda r: getattr(h, r[1]))(h)) for h in headlines],
             HEADLINE_ROWS),
            *[(title.replace("①", "").replace("②", "").replace("③", "").replace("④", "").strip(), pair, rows)
              for title, rows in breakdown.items()],
            ("⑤地域別", pair, regions),
            ("⑥人口規模別", [("人口規模", lambda r: r[0]), ("支援対象", lambda r: r[1])], sizes),
        ], f"{phase.name}_制度の実績")
    return render_template("stats/index.html", phase=phase, all_phases=all_phases, headlines=headlines, rows=HEADLINE_ROWS,
                           breakdown=breakdown, regions=regions, sizes=sizes,
                           current=next(h for h in headlines if h.phase.id == phase.id))
