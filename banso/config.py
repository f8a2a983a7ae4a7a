"""Settings from the environment, with embedded defaults for a laptop.

Nothing configured → SQLite and a bundled Redis in ``instance/``, mail kept in the
in-app mailbox, a secret key generated once. ``BANSO_ENV=production`` refuses to
start without a real secret key, database and Redis.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from banso.clock import OffsetClock


PASSWORD_HASH_PROFILE = "RFC_9106_LOW_MEMORY"


class ConfigError(RuntimeError):
    """The configuration cannot run Banso safely."""


def _secret_key(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """The settings: the environment's (or ``overrides``), checked, with defaults that run on this machine alone."""
    env = os.environ
    overrides = overrides or {}
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    banso_env = overrides.get("BANSO_ENV", env.get("BANSO_ENV", "development"))
    if banso_env not in ("development", "production"):
        raise ConfigError(f"BANSO_ENV は development か production のいずれかにしてください（指定値: {banso_env!r}）。")
    production = banso_env == "production"

    def setting(name, default=None):
        return overrides.get(name, env.get(name, default))

    if production:
        _refuse_unsafe_production(setting)
    config = {**_core(setting, instance, production), **_inquiries(setting, production)}
    return _finish(config, setting, overrides, production)


def _refuse_unsafe_production(setting) -> None:
    missing = [n for n in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SERVER") if not setting(n)]
    if missing:
        raise ConfigError("BANSO_ENV=production では次の設定が必須です: " + ", ".join(missing))
    if not strong_secret(setting("SECRET_KEY")):
        raise ConfigError("SECRET_KEY は32文字以上の推測困難な値にしてください（例: python -c 'import secrets; print(secrets.token_hex(32))'）。")
    if not _database_url(setting("DATABASE_URL")).startswith("postgresql"):
        raise ConfigError("本番環境のデータベースは PostgreSQL にしてください（SQLite は開発用です）。")
    if setting("PASSWORD_HASH_PROFILE", PASSWORD_HASH_PROFILE) != PASSWORD_HASH_PROFILE:
        raise ConfigError(f"本番環境のパスワードハッシュは {PASSWORD_HASH_PROFILE} から変更できません。")


def _mfa_roles(setting, production: bool) -> tuple[str, ...]:
    mfa_setting = setting("MFA_REQUIRED_ROLES", "admin,finance" if production else "")
    mfa_roles = tuple(r.strip() for r in (mfa_setting.split(",") if isinstance(mfa_setting, str) else mfa_setting) if r.strip())
    unknown = set(mfa_roles) - {"admin", "secretariat", "finance", "officer"}
    if unknown:
        raise ConfigError(f"MFA_REQUIRED_ROLES に不明な役割があります: {', '.join(sorted(unknown))}（admin, secretariat, finance, officer から選んでください）。")
    if production and not {"admin", "finance"} <= set(mfa_roles):
        raise ConfigError("本番環境では MFA_REQUIRED_ROLES に admin と finance を含めてください（事務局管理者と会計担当は二要素認証が必須です）。")
    return mfa_roles


def _demo_at(setting, production: bool) -> str:
    demo_at = setting("BANSO_DEMO_AT", "") or ""
    if production and (demo_at or setting("BANSO_CLOCK_OFFSET_SECONDS")):
        raise ConfigError("BANSO_DEMO_AT と BANSO_CLOCK_OFFSET_SECONDS はデモ用です。本番環境では設定しないでください。")
    if demo_at and not demo_at.replace("-", "").isalnum():
        raise ConfigError(f"BANSO_DEMO_AT の値が正しくありません（指定値: {demo_at!r}）。")
    return demo_at


def _core(setting, instance: Path, production: bool) -> dict:
    """The application's own settings: keys, database, Redis, mail, sign-in and sessions, uploads."""
    demo_at = _demo_at(setting, production)
    mfa_roles = _mfa_roles(setting, production)
    redis_url = setting("REDIS_URL")
    return {
        **_sign_in(setting, production, mfa_roles),
        **_workflow(setting),
        **_directories(setting, instance),
        "BANSO_ENV": "production" if production else "development",
        "SECRET_KEY": setting("SECRET_KEY") or _secret_key(instance),
        # The demo at a point of the year keeps a database of its own beside the everyday one.
        "SQLALCHEMY_DATABASE_URI": _database_url(setting("DATABASE_URL"))
        or f"sqlite:///{instance / (f'banso-{demo_at}.sqlite3' if demo_at else 'banso.sqlite3')}",
        "DEMO_AT": demo_at,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL's planner cost of a random read: its default (4) is for spinning disks, and made it hash a whole
        # table (4,000 officers, 7 ms) to join the 50 travellers of a page instead of looking each one up (0.2 ms).
        # 1.1 is the usual value for SSDs or a database held in memory; set per connection, so no server change.
        "PG_RANDOM_PAGE_COST": setting("PG_RANDOM_PAGE_COST", "1.1"),
        "REDIS_URL": redis_url or f"unix://{instance / 'redis.sock'}",
        "EMBEDDED_REDIS": not redis_url,
        "MAIL_SERVER": setting("MAIL_SERVER"),
        "MAIL_PORT": int(setting("MAIL_PORT", 25)),
        "MAIL_USERNAME": setting("MAIL_USERNAME"),
        "MAIL_PASSWORD": setting("MAIL_PASSWORD"),
        "MAIL_USE_TLS": setting("MAIL_USE_TLS", "false").lower() in ("1", "true", "yes"),
        "MAIL_DEFAULT_SENDER": setting("MAIL_DEFAULT_SENDER", "banso-noreply@banso.example"),
        "MAIL_TIMEOUT": 10,
        # How Banso is reached by its users; used in the links of notifications.
        "BASE_URL": setting("BANSO_BASE_URL", f"http://127.0.0.1:{setting('BANSO_PORT', '5000')}"),
        # Delivery tries and the waits (seconds) between them.
        "NOTIFY_MAX_ATTEMPTS": 4,
        "NOTIFY_RETRY_INTERVALS": [30, 120, 600],
        # A pending notification older than this is re-enqueued by the sweep.
        "NOTIFY_SWEEP_AFTER": 60,
        "NOTIFY_SWEEP_EVERY": 30,
        # Operations (banso/observability.py): /readyz wants a worker heartbeat this recent; /metrics is for this
        # bearer token (unset: loopback only); logs as JSON lines (the default in production) or plain text.
        "READY_WORKER_MAX_AGE": int(setting("READY_WORKER_MAX_AGE", 120)),
        "METRICS_TOKEN": setting("METRICS_TOKEN", ""),
        "LOG_FORMAT": setting("LOG_FORMAT", "json" if production else "text"),
        # argon2id parameters (argon2.profiles): the tests alone set a cheap one, which production refuses.
        "PASSWORD_HASH_PROFILE": PASSWORD_HASH_PROFILE,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        # The documents Banso issues (services/documents): the 文書番号's prefix (府地創伴第12号), who signs the letters to
        # municipalities, and the 任命権者 of the officers' 併任 on their 辞令.
        "DOCUMENT_NUMBER_PREFIX": setting("DOCUMENT_NUMBER_PREFIX", "府地創伴"),
        "DOCUMENT_SENDER": setting("DOCUMENT_SENDER", "内閣府地方創生推進室長"),
        "APPOINTING_AUTHORITY": setting("APPOINTING_AUTHORITY", "内閣総理大臣"),
        # The budget item the officers' travel is paid from, as the accounting books name it (精算明細's 予算科目).
        "TRAVEL_BUDGET_ITEM": setting("TRAVEL_BUDGET_ITEM", "（項）地方創生推進費（目）職員旅費"),
        # Proxies in front of Banso (the ministry's reverse proxy): their X-Forwarded-For hops are trusted, so the
        # per-address limits see the real client. 0: Banso is reached directly.
        "TRUSTED_PROXIES": int(setting("BANSO_TRUSTED_PROXIES", 0) or 0),
        # Travel receipts: kept outside the web root, served only to those allowed.
        "RECEIPT_DIR": setting("RECEIPT_DIR", str(instance / "receipts")),
        "RECEIPT_MAX_BYTES": 5 * 1024 * 1024,
    }


def _workflow(setting) -> dict:
    """The secretariat's own rules as settings: PUB-3's independence, 決裁's due dates and bulk limit, the records."""
    return {
        # PUB-3's early release: the confirming admin must not have been created, invited, reset or changed by the
        # requester within this many days (services/publication.release).
        "EARLY_RELEASE_INDEPENDENCE_DAYS": int(setting("EARLY_RELEASE_INDEPENDENCE_DAYS", 30)),
        # 決裁 (services/approvals): each step's due date in business days unless its route says (期限N日), a reminder
        # to the step's people the day after, and escalation (to the next step, or the admins at the last) as many
        # business days later again; 精算 up to this amount may be decided in bulk from the inbox.
        "APPROVAL_DUE_DAYS": int(setting("APPROVAL_DUE_DAYS", 3)),
        "APPROVAL_BULK_CLAIM_LIMIT_YEN": int(setting("APPROVAL_BULK_CLAIM_LIMIT_YEN", 50000)),
        # Records (services/records): where the 行政文書ファイル are kept, as the register says (保存場所), and how many
        # years after an officer's last phase their private fields are anonymised.
        "RECORDS_LOCATION": setting("RECORDS_LOCATION", "内閣府地方創生推進室（Banso サーバ・電子）"),
        "RECORDS_ANONYMISE_AFTER_YEARS": int(setting("RECORDS_ANONYMISE_AFTER_YEARS", 1)),
    }


def _sign_in(setting, production: bool, mfa_roles: tuple[str, ...]) -> dict:
    """Sign-in limits, two factors, sessions and their cookies."""
    return {
        "LOGIN_MAX_FAILURES": 5,  # per account at one address; ten times that per address
        "LOGIN_LOCK_MINUTES": 15,  # the longest wait after repeated failures (1, 2, 4 … minutes)
        # An address past its failures (an office behind one NAT address) is slowed, not locked: each attempt from it
        # waits this long, one at a time, and a right password still signs in (services/users.authenticate).
        "LOGIN_ADDRESS_DELAY_SECONDS": float(setting("LOGIN_ADDRESS_DELAY_SECONDS", 2)),
        # Roles that must sign in with two factors (banso/services/two_factor.py); anyone else may choose to.
        "MFA_REQUIRED_ROLES": mfa_roles,
        "SESSION_IDLE_MINUTES": int(setting("SESSION_IDLE_MINUTES", 30)),
        "SESSION_MAX_HOURS": int(setting("SESSION_MAX_HOURS", 12)),
        "PER_PAGE": 25,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_I18N_ENABLED": False,  # the forms' Meta picks WTForms' Japanese messages (no Babel needed)
    }


def _directories(setting, instance: Path) -> dict:
    """The ministries' identity providers and directories (services/sso.py, services/directory.py)."""
    providers = setting("BANSO_IDENTITY_PROVIDERS", "")
    if isinstance(providers, str) and providers.strip():
        text = providers if providers.lstrip().startswith("[") else Path(providers).read_text(encoding="utf-8")
        try:
            providers = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"BANSO_IDENTITY_PROVIDERS を JSON として読めません: {error}") from None
    return {
        # A list of providers, each {"name", "label", "kind" (oidc|saml), "discovery", "client_id", "client_secret",
        # "idp_metadata", "tenant", "roles_claim", "roles": {claim value: Banso role}, "domains", "id_claim",
        # "scim_token_sha256"} (services/sso.Provider; README: Operations; docs/runbook.md 2a).
        "IDENTITY_PROVIDERS": list(providers or []),
        # What a provider's app-roles claim does: "propose" (recorded for an admin to decide) or "ignore".
        "ROLES_FROM_PROVIDER": setting("ROLES_FROM_PROVIDER", "propose"),
        # The role of an account a directory creates (SCIM): an admin gives any other.
        "SCIM_DEFAULT_ROLE": setting("SCIM_DEFAULT_ROLE", "officer"),
        # An officer whose last 併任 has ended may still file and follow their travel claims this many days.
        "OFFICER_CLAIMS_GRACE_DAYS": int(setting("OFFICER_CLAIMS_GRACE_DAYS", 60)),
    }


def _inquiries(setting, production: bool) -> dict:
    """The help desk's settings (INQ-1): the public form, the mailbox, the reminders."""
    return {
        # Inquiries (INQ-1): the response target in business days, the public form's hourly limit per
        # address (four times that per IP address), the largest .eml staff may import.
        "INQUIRY_TARGET_DAYS": 3,
        # Who to call, on the public form and its acknowledgement (BANSO_SECRETARIAT_CONTACT): the demo's is made up.
        "SECRETARIAT_CONTACT": setting("BANSO_SECRETARIAT_CONTACT",
                                       "" if production else "地方創生伴走支援制度 事務局（電話 03-0000-0000、平日 9時30分〜18時15分）"),
        "INQUIRY_LIMIT_PER_HOUR": 5,
        "INQUIRY_FLOOD_FACTOR": 40,  # without Redis: at most 40 × the limit form inquiries an hour from everyone
        "EML_MAX_BYTES": 10 * 1024 * 1024,
        # The inquiries' mailbox (worker/mailbox.py): fetched by the worker over IMAP when a host is set.
        # SECURITY: ssl (IMAPS, 993), starttls (143) or none (loopback only); CA_FILE: the ministry's own CA if any.
        "INQUIRY_IMAP_HOST": setting("INQUIRY_IMAP_HOST"),
        "INQUIRY_IMAP_PORT": int(setting("INQUIRY_IMAP_PORT", 0) or 0),
        "INQUIRY_IMAP_USER": setting("INQUIRY_IMAP_USER"),
        "INQUIRY_IMAP_PASSWORD": setting("INQUIRY_IMAP_PASSWORD"),
        "INQUIRY_IMAP_FOLDER": setting("INQUIRY_IMAP_FOLDER", "INBOX"),
        "INQUIRY_IMAP_PROCESSED_FOLDER": setting("INQUIRY_IMAP_PROCESSED_FOLDER", "Banso-processed"),
        "INQUIRY_IMAP_SECURITY": setting("INQUIRY_IMAP_SECURITY", "ssl"),
        "INQUIRY_IMAP_CA_FILE": setting("INQUIRY_IMAP_CA_FILE"),
        "INQUIRY_IMAP_EVERY": int(setting("INQUIRY_IMAP_EVERY", 60)),
        "INQUIRY_IMAP_BATCH": 50,  # messages per fetch; the rest wait for the next minute
        # The ministry's mail server's authserv-id in the Authentication-Results it adds (RFC 8601), e.g.
        # "mx1.example.go.jp": a mail to a thread must pass SPF, DKIM or DMARC for its From: domain by that server's
        # word, or it joins the thread unconfirmed and reopens nothing. Unset: every mail is marked 送信元未検証.
        "INQUIRY_TRUSTED_AUTHSERV_ID": setting("INQUIRY_TRUSTED_AUTHSERV_ID"),
        "INQUIRY_MAIL_MAX_BYTES": 25 * 1024 * 1024,  # larger mail is taken by its headers, the original left in the mailbox
        "INQUIRY_ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
        # Where inquirers' replies go (Reply-To of every inquiry mail): the polled mailbox's address.
        "INQUIRY_REPLY_TO": setting("INQUIRY_REPLY_TO"),
        # The largest message the ministry's relay accepts (a reply with its attachments, as sent).
        "MAIL_MAX_BYTES": int(setting("MAIL_MAX_BYTES", 10 * 1024 * 1024)),
        # The help desk's own reminders (banso/services/helpdesk.py): the morning digest's time (JST), the business
        # days of 回答待ち before a reminder to the inquirer and then before closing, whether overdue ones escalate.
        "INQUIRY_DIGEST_AT": setting("INQUIRY_DIGEST_AT", "08:30"),
        "INQUIRY_WAITING_REMIND_DAYS": int(setting("INQUIRY_WAITING_REMIND_DAYS", 5)),
        "INQUIRY_WAITING_CLOSE_DAYS": int(setting("INQUIRY_WAITING_CLOSE_DAYS", 5)),
        "INQUIRY_ESCALATE_OVERDUE": setting("INQUIRY_ESCALATE_OVERDUE", "true").lower() in ("1", "true", "yes"),
        # How long an inquirer's status link works after the inquiry is closed (the inquiry's retention).
        "INQUIRY_RETENTION_DAYS": int(setting("INQUIRY_RETENTION_DAYS", 365)),
        "LOAD_DEMO_DATA": not production,
    }


def _finish(config: dict, setting, overrides: dict, production: bool) -> dict:
    """Overrides (the tests'), the settings derived from others, and the checks across them."""
    config.update({k: v for k, v in overrides.items() if k not in ("DATABASE_URL", "MFA_REQUIRED_ROLES")})
    if "DATABASE_URL" in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = _database_url(overrides["DATABASE_URL"])
    if production:
        config["LOAD_DEMO_DATA"] = False
    if setting("BANSO_CLOCK_OFFSET_SECONDS") and "CLOCK" not in overrides:
        try:
            config["CLOCK"] = OffsetClock(float(setting("BANSO_CLOCK_OFFSET_SECONDS")))
        except ValueError:
            raise ConfigError("BANSO_CLOCK_OFFSET_SECONDS は秒数で指定してください。") from None
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        try:
            cost = float(config["PG_RANDOM_PAGE_COST"])
        except (TypeError, ValueError):
            raise ConfigError("PG_RANDOM_PAGE_COST は数値で指定してください（例: 1.1）。") from None
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config["SQLALCHEMY_ENGINE_OPTIONS"],
                                               "connect_args": {"options": f"-c random_page_cost={cost}"}}
    if config["INQUIRY_IMAP_SECURITY"] not in ("ssl", "starttls", "none"):
        raise ConfigError("INQUIRY_IMAP_SECURITY は ssl・starttls・none のいずれかにしてください（none はこのマシン上のメールサーバーだけ）。")
    if config["INQUIRY_IMAP_HOST"] and not config["INQUIRY_IMAP_USER"]:
        raise ConfigError("INQUIRY_IMAP_HOST を設定したときは INQUIRY_IMAP_USER と INQUIRY_IMAP_PASSWORD も設定してください。")
    return config


def strong_secret(key: str) -> bool:
    """At least 32 characters and not a pattern: about 128 bits or more by its characters' variety."""
    import math

    if len(key) < 32:
        return False
    bits = len(key) * math.log2(max(2, len(set(key))))
    return bits >= 128 and len(set(key)) >= 10


def _database_url(url: str | None) -> str | None:
    """Accept plain postgres:// URLs and use the psycopg 3 driver for them."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
