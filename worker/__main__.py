"""Run one RQ worker with RQ's scheduler (delayed retries, held notifications), the outbox sweep and the help
desk's reminders on a timer, and the inquiries' mailbox fetched every minute when it is configured. Start
several for more throughput (the mailbox is fetched by one at a time)."""
from __future__ import annotations

import logging
import threading
from datetime import date

from rq import Queue, SimpleWorker

from banso import create_app, observability, queue, settle
from worker import jobs

log = logging.getLogger("worker")


def _sweep_forever(app, stop: threading.Event) -> None:
    every = app.config["NOTIFY_SWEEP_EVERY"]
    records_day = None
    with app.app_context():
        _beat()
    while not stop.wait(every):
        with app.app_context():
            try:
                _beat()
                count = jobs.sweep_outbox()
                if count:
                    log.info("送信待ちの通知 %d 件を再投入しました", count)
                if jobs.close_finished_teams():
                    log.info("支援期間が終了したチームを終了にしました")
                if jobs.release_due_publications():
                    log.info("予定日時を過ぎたマッチング結果を公表しました")
                if jobs.replan_matching():
                    log.info("入力が変わったマッチングの計画を再計画に回しました")
                if jobs.chase_inquiries():
                    log.info("問い合わせの催促・通知を送信キューに入れました")
                if jobs.chase_approvals():
                    log.info("期限を過ぎた決裁の催促・通知を送信キューに入れました")
                if records_day != date.today():  # once a day: the records' disposition run
                    records_day = date.today()
                    _daily_records()
            except Exception:  # the sweep must outlive a database or Redis hiccup
                log.exception("定期処理に失敗しました")


def _beat() -> None:
    """/readyz: a worker is alive (each round of the timer)."""
    try:
        observability.heartbeat(queue.connection())
    except Exception:  # Redis away: /readyz says so by itself
        log.warning("ハートビートを書けませんでした（Redis に接続できません）")


def _daily_records() -> None:
    """The daily runs (the records' disposition, the accounts of officers whose 併任 ended), each outcome kept for
    /metrics (banso_job_last_run_ok{job="records"|"accounts"})."""
    for name, job, label in (("records", jobs.keep_records, "行政文書ファイル"), ("accounts", jobs.keep_accounts, "アカウント")):
        try:
            done = job()
        except Exception as exc:
            observability.record_job(queue.connection(), name, False, type(exc).__name__)
            log.exception("%sの定期処理に失敗しました", label)
            continue
        observability.record_job(queue.connection(), name, True, str(done))
        log.info("%sの定期処理: %s", label, done)


def _fetch_mail_forever(app, stop: threading.Event) -> None:
    """The inquiries' mailbox, every INQUIRY_IMAP_EVERY seconds (from the first minute on)."""
    every = app.config["INQUIRY_IMAP_EVERY"]
    while True:
        with app.app_context():
            try:
                jobs.fetch_mailbox()
            except Exception:  # the mail server away, or the database: the next round tries again
                log.exception("メールボックスを取得できませんでした")
        if stop.wait(every):
            return


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    app = create_app()
    settle()
    stop = threading.Event()
    with app.app_context():
        connection = queue.connection()
        threading.Thread(target=_sweep_forever, args=(app, stop), daemon=True).start()
        if app.config["INQUIRY_IMAP_HOST"]:
            threading.Thread(target=_fetch_mail_forever, args=(app, stop), daemon=True).start()
        queues = [Queue(name, connection=connection) for name in queue.QUEUES]
        # SimpleWorker runs jobs in this process: no fork, so database connections are never shared.
        worker = SimpleWorker(queues, connection=connection)
        try:
            worker.work(with_scheduler=True)
        finally:
            stop.set()


if __name__ == "__main__":
    main()
