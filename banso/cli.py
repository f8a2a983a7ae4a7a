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
        users.create_user(email=email, name=name, role=role, password=password, actor=None)
    except RuleViolation as violation:
        raise click.ClickException(violation.message) from violation
    db.session.commit()
    click.echo(f"{email} を作成しました。")


@banso_cli.command("sweep-outbox")
def sweep_outbox() -> None:
    """Re-enqueue notifications that should have been delivered by now."""
    from worker import jobs

    click.echo(f"{jobs.sweep_outbox()} 件を再投入しました。")
