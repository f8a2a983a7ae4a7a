"""A real IMAP server for the mailbox tests: Debian's Dovecot, started on loopback with a configuration of its own
(STARTTLS with a certificate made for the run, plain-text login refused before TLS, Maildir under a temporary
directory). Any user name signs in with the password below, so each test takes a mailbox of its own."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from tests.waiting import wait_until

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
PASSWORD = "mailbox-test"
MISSING = ("Dovecot がないため、メールボックスのテストを省略します（apt-get install dovecot-imapd で入ります。"
           "CI の .ci/run は入れます）")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ImapServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.imaps_port = _free_port()
        self.certificate = root / "cert.pem"
        self.user = "dovecot" if _exists("dovecot") else pwd.getpwuid(os.getuid()).pw_name
        self.login_user = "dovenull" if _exists("dovenull") else self.user

    def start(self) -> None:
        root = self.root
        for name in ("base", "state", "mail"):
            (root / name).mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"), "-out", str(self.certificate)],
                       check=True, capture_output=True)
        shutil.chown(root / "mail", self.user, self.user)
        (root / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/base
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {self.user}
default_internal_group = {self.user}
default_login_user = {self.login_user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={self.user} gid={self.user} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")
        # In the foreground, as our child: it goes when we stop it (or with us).
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot が起動しませんでした: {(root / 'dovecot.log').read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(answering, what=f"Dovecot to answer on port {self.port} ({root / 'dovecot.log'})", timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def settings(self, user: str, security: str = "starttls") -> dict:
        """The inquiries' mailbox settings for ``user``: STARTTLS on the IMAP port, or IMAPS (security="ssl")."""
        return {"INQUIRY_IMAP_HOST": "127.0.0.1", "INQUIRY_IMAP_PORT": self.imaps_port if security == "ssl" else self.port,
                "INQUIRY_IMAP_USER": user, "INQUIRY_IMAP_PASSWORD": PASSWORD, "INQUIRY_IMAP_SECURITY": security,
                "INQUIRY_IMAP_CA_FILE": str(self.certificate)}


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
