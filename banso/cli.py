"""`flask banso …` commands."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from banso.extensions import db
from banso.models import Role
from banso.services import RuleViolation, users

banso_cli = AppGroup("banso", help="Banso の管理コマンド")


@banso_cli.command("seed-demo")
def seed_demo() -> None:
    """Load the demo data once (development only)."""
    from banso import demo

    if not current_app.config["LOAD_DEMO_DATA"]:
        raise click.ClickException("本番環境（BANSO_ENV=production）ではデモデータを読み込みません。")
    if demo.is_loaded():
        click.echo("デモデータは読み込み済みです。")
        return
    demo.load()
    db.session.commit()
    click.echo("デモデータを読み込みました。")


@banso_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user (e.g. the first admin in production)."""
    try:
        users.create_user(email=email, name=name, role=role, password=password, actor=None, must_change=True)
    except RuleViolation as violation:
        raise click.ClickException(violation.message) from violation
    db.session.commit()
    click.echo(f"{email} を作成しました。初回のサインインで、本人にパスワードの変更を求めます。")


@banso_cli.command("sweep-outbox")
def sweep_outbox() -> None:
    """Re-enqueue notifications that should have been delivered by now."""
    from worker import jobs

    click.echo(f"{jobs.sweep_outbox()} 件を再投入しました。")


@banso_cli.command("check-budget")
def check_budget() -> None:
    """Compare each phase's money kept by the database (budget_totals, budget_breakdown) with the trips summed afresh;
    exits with status 1 naming each difference (there is none unless the triggers were dropped)."""
    from banso.services import phases, travel

    differences = [line for phase in phases.all_phases() for line in travel.check_kept(phase)]
    for line in differences:
        click.echo(line)
    if differences:
        raise SystemExit(1)
    click.echo("すべての期の旅費の集計が、出張の記録から計算し直した値と一致しています。")


@banso_cli.command("recompute-figures")
@click.option("--phase", "phase_number", type=int, default=None, help="この期だけ（省略時は締め切ったすべての期）")
def recompute_figures(phase_number: int | None) -> None:
    """Compute and store again the figures of closed phases (after a correction an admin made to a closed phase)."""
    from banso.services import statistics

    closed = [p for p in statistics.closed_phases() if phase_number in (None, p.number)]
    if not closed:
        raise click.ClickException("締め切った期がありません（支援終了後、最後のチームの精算・修正期限を過ぎた期が対象です）。")
    for phase in closed:
        statistics.recompute(phase)
        click.echo(f"{phase.name}の実績の数値を計算し直して保存しました。")
    db.session.commit()


@banso_cli.command("import-municipalities")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
def import_municipalities(path: str | None) -> None:
    """Load the municipality master (default: the bundled copy of shared/data/municipalities.csv)."""
    from pathlib import Path

    from banso.services import municipalities

    try:
        count = municipalities.import_master(Path(path) if path else municipalities.MASTER_FILE)
    except RuleViolation as violation:
        raise click.ClickException(violation.message) from violation
    db.session.commit()
    click.echo(f"市区町村マスタを{count}件読み込みました。")


@banso_cli.command("import-applications")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--phase", "phase_number", type=int, help="期番号（省略時は現在の期）")
@click.option("--received-at", help="受付日時の列が空の行に使う日時（日本時間、例: 2025-12-24 16:30）")
def import_applications(path: str, phase_number: int | None, received_at: str | None) -> None:
    """Import answers from a spreadsheet; any row error → nothing is stored, exit status 1."""
    from datetime import datetime
    from pathlib import Path

    from banso.clock import JST, now
    from banso.services import application_import, imports, phases

    phase = phases.selected_phase(str(phase_number) if phase_number else None)
    if phase is None:
        raise click.ClickException("期が登録されていません。")
    received = datetime.strptime(received_at, "%Y-%m-%d %H:%M").replace(tzinfo=JST) if received_at else now()
    file = Path(path)
    try:
        batch = imports.start(application_import.KIND, phase, file.name, file.read_bytes(), actor=None, inline=True,
                              options={"received_at": received.isoformat()})
        if batch.blocking_rows:
            for row in batch.blocking_rows:
                for column, message in row["errors"].items():
                    click.echo(f"{row['row']}行目「{column}」: {message}", err=True)
            raise click.ClickException(f"誤りのある行が{len(batch.blocking_rows)}行あるため、何も取り込んでいません。")
        count = imports.commit(batch, actor=None)
    except RuleViolation as violation:
        db.session.rollback()
        raise click.ClickException(violation.message) from violation
    except click.ClickException:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"{phase.name}の回答を{count}件取り込みました。")


@banso_cli.command("init-reference")
def init_reference() -> None:
    """Load the managed lists every installation needs: ministries and the municipality master."""
    from banso.services import municipalities, officers

    ministries = officers.ensure_ministries()
    count = municipalities.import_master()
    db.session.commit()
    click.echo(f"府省庁等 {ministries}件、市区町村 {count}件を読み込みました。")


@banso_cli.command("generate-scale")
@click.option("--scale", "scale", type=click.IntRange(1, 100), default=1, show_default=True,
              help="1 = 10期分の実規模、10 = その10倍")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="この日までの活動を作る（既定: 今日）")
def generate_scale(scale: int, seed: int, as_of) -> None:
    """Fill an empty database with reproducible data at N times the programme's real size."""
    from banso import scale as scale_data

    try:
        counts = scale_data.generate(scale, seed=seed, as_of=as_of.date() if as_of else None, echo=click.echo)
    except scale_data.EmptyDatabaseRequired as refused:
        raise click.ClickException(str(refused)) from refused
    db.session.commit()
    for table, count in sorted(counts.items()):
        click.echo(f"  {table:28} {count:>10,}")


@banso_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_backup(path: str) -> None:
    """Write every table and uploaded file to one archive."""
    from banso import backup

    counts = backup.export(path, echo=click.echo)
    click.echo(f"{sum(counts.values()):,} 行を {path} に書き出しました。")


@banso_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_backup(path: str) -> None:
    """Restore an archive from `flask banso export` into an empty, migrated database."""
    from banso import backup

    try:
        counts = backup.restore(path, echo=click.echo)
    except backup.RestoreRefused as refused:
        db.session.rollback()
        raise click.ClickException(str(refused)) from refused
    db.session.commit()
    click.echo(f"{sum(counts.values()):,} 行を復元しました。")


@banso_cli.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
def pg_backup_command(directory: str) -> None:
    """PostgreSQL: the database (pg_dump), the stored files and a manifest with row counts and SHA-256 (docs/runbook.md)."""
    from banso import pg_backup

    try:
        manifest = pg_backup.backup(directory)
    except (pg_backup.BackupProblem, OSError) as problem:
        _record_backup(False, str(problem))
        raise click.ClickException(str(problem)) from problem
    _record_backup(True, pg_backup.describe(manifest))
    click.echo(f"{directory} にバックアップしました: {pg_backup.describe(manifest)}")


def _record_backup(ok: bool, detail: str) -> None:
    """The outcome for /metrics (banso_job_last_run_ok{job="backup"}); Redis away does not fail the backup."""
    from banso import observability, queue

    try:
        observability.record_job(queue.connection(), "backup", ok, detail)
    except Exception:
        click.echo("（バックアップの結果を Redis に記録できませんでした）", err=True)


@banso_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def pg_restore_command(directory: str) -> None:
    """PostgreSQL: restore a `flask banso backup` into an empty database and the files directory, then check it."""
    from banso import pg_backup

    try:
        result = pg_backup.restore(directory)
    except pg_backup.BackupProblem as problem:
        raise click.ClickException(str(problem)) from problem
    if result["problems"]:
        raise click.ClickException("復元した内容がバックアップと一致しません: " + "／".join(result["problems"][:20]))
    click.echo(f"{result['rows']:,} 行とファイル {result['files']} 件を復元し、件数とハッシュが一致することを確かめました。")


@banso_cli.command("audit-log")
@click.option("--after", type=int, default=0, help="この ID より後の記録だけ（収集側が最後に受け取った ID）")
def audit_log(after: int) -> None:
    """The audit trail as JSON lines for a log collector (id, time, actor id, action, object, summary)."""
    import json

    from sqlalchemy import select

    from banso.models import AuditEntry

    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).execution_options(yield_per=1000)):
        click.echo(json.dumps({"id": entry.id, "at": entry.at.isoformat(), "actor_id": entry.actor_id, "action": entry.action,
                               "object_type": entry.object_type, "object_id": entry.object_id, "summary": entry.summary},
                              ensure_ascii=False))
