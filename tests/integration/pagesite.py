"""
pagesite.py: latch as a person meets it, for the page scenarios
(test_89_pages.py).

Site is a second stack on the shared MariaDB, built by tools/stack.py
exactly as "make run" builds its own (latchctl init, migrate, latchd,
and lighttpd with contrib/lighttpd/latch.conf and latch-pages.conf as
shipped: the pages at /, the API at /api), in a database of its own
(latch_pages, empty: the pages' first run happens there) and with:

  - latchd running as www-data when the tests run as root (as a service
    user: latch-mailer never runs as root), which owns the spool;
  - mail delivered by the real latch-mailer (run by the latchd master)
    to an SMTP sink on loopback in this process, with invite_url,
    reset_url and email_url pointing at the site's own pages;
  - access tokens of 30 s (access_ttl's least) and no leeway, so silent
    refreshes happen as they would over a long day;
  - contrib/lighttpd/latch-authorizer.conf guarding /private, with
    [server] login_url = /signin.html and [security] cookie_path = /.

Every process is stopped by stop() (test_89's teardown).
"""

import email
import email.policy
import os
import re
import shutil
import tempfile
import threading

from aiosmtpd.controller import Controller

import lib
import stack as stackmod
import webservers as ws

REPO = stackmod.REPO
CONTRIB = os.path.join(REPO, "contrib")
DB = "latch_pages"
ACCESS_TTL = 30
PASSWORD = "a long pass phrase"  # every account of the page scenarios


class Sink:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content,
            policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 2.0.0 Ok: queued"


class Site:
    def __init__(self, shared):
        self.shared = shared
        self.dir = tempfile.mkdtemp(prefix="pages-", dir=shared.dir)
        self.stack = stackmod.Stack(self.dir, fast=True)
        # The shared MariaDB, a database and an account of our own.
        self.stack.db_socket = shared.db_socket
        self.stack.db_admin = shared.db_admin
        self.sink = Sink()
        self.smtp = None
        self.port = None
        self.ids = None        # (uid, gid) latchd runs as, when root
        self.shared_mode = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def url(self, path="/"):
        return self.base + path

    def start(self):
        self.smtp = Controller(self.sink, hostname="127.0.0.1",
                               port=stackmod.free_port())
        self.smtp.start()
        s = self.stack
        for d in (s.www, s.spool, s.tmp):
            os.makedirs(d, exist_ok=True)
        if os.geteuid() == 0:
            # latchd as a service user; it reaches the shared MariaDB's
            # socket through the stack's directory.
            self.ids = ws.www_data()
            s.latchd_user = "www-data"
            for d in (self.dir, s.spool):
                os.chown(d, *self.ids)
            os.chmod(self.dir, 0o750)
            self.shared_mode = os.stat(self.shared.dir).st_mode & 0o7777
            os.chmod(self.shared.dir, self.shared_mode | 0o111)
        self.port = s.port = stackmod.free_port()
        private = os.path.join(self.dir, "private")
        os.makedirs(private, exist_ok=True)
        with open(os.path.join(private, "report.html"), "w") as f:
            f.write("<!doctype html><title>Report</title><link rel=icon href=data:,>"
                    "<h1>The guarded report</h1>\n")
        # The guarded report: the site's own file (a whole site's config
        # would give every type).
        s.lighttpd_extra = """\
mimetype.assign = ( ".html" => "text/html; charset=utf-8" )
var.latch_guarded = "/private"
var.latch_docroot = "{private}"
var.latch_require_role = "user"
include "{contrib}/lighttpd/latch-authorizer.conf"
""".format(private=private, contrib=CONTRIB)
        overrides = {
            "database.name": DB, "database.user": DB,
            "server.workers": 2, "server.login_url": "/signin.html",
            "security.scrypt_n": 1024, "security.scrypt_p": 1,
            "security.access_ttl": ACCESS_TTL, "security.leeway": 0,
            "security.allow_new_organizations": True,
            "security.cookie_path": "/",
            "limits.ip_exempt": "127.0.0.1",
            "mail.run_mailer": True, "mail.smtp_host": "127.0.0.1",
            "mail.smtp_port": self.smtp.port, "mail.smtp_tls": "none",
            "mail.retry_min": 1, "mail.retry_max": 2,
            "mail.min_interval": 0,
            "mail.from": "latch <noreply@example.org>",
        }
        for (sec, k), v in stackmod.page_links(s, self.port).items():
            overrides["%s.%s" % (sec, k)] = v
        s.mysql("DROP DATABASE IF EXISTS `%s`" % DB, db="mysql")
        password = s.write_config(overrides, workers=2)
        self._config_readable()
        s.ensure_database(password, name=DB, user=DB)
        s.migrate()
        s.start_latchd()
        s.start_lighttpd()
        return self

    def _config_readable(self):
        """The config as latchd's user may read it: root's, group 0640."""
        if self.ids is not None:
            os.chown(self.stack.config, 0, self.ids[1])
            os.chmod(self.stack.config, 0o640)

    def stop(self):
        try:
            self.stack.stop()
        finally:
            if self.shared_mode is not None:
                os.chmod(self.shared.dir, self.shared_mode)
            if self.smtp is not None:
                self.smtp.stop()
                self.smtp = None
            try:
                self.shared.mysql("DROP DATABASE IF EXISTS `%s`" % DB,
                                  db="mysql")
            except stackmod.StackError:
                pass

    def reload(self, **kw):
        """Change keys of the site's config and reload its latchd."""
        self.stack.set_config(kw)
        self._config_readable()
        self.stack.sighup(wait=True)

    def sql(self, q):
        return self.shared.mysql(q, db=DB)

    # ---------------------------------------------------------- mail

    def mail_to(self, address, after=0, subject=None):
        """The first message to address (with subject in its Subject)
        past the after-th; waits for it."""
        def find():
            with self.sink.lock:
                msgs = list(self.sink.messages[after:])
            for m in msgs:
                if address in str(m["To"]) and (
                        subject is None or subject in str(m["Subject"])):
                    return m
            return None
        return lib.wait_for(find, 30, "a mail to %s" % address)

    def mail_count(self):
        with self.sink.lock:
            return len(self.sink.messages)

    def link(self, msg, page):
        """The link to page (e.g. "register.html") in the mail msg."""
        body = msg.get_body(("plain",)).get_content()
        m = re.search(r"(http://\S+/%s\?\S+)" % re.escape(page), body)
        assert m, "no link to %s in the mail:\n%s" % (page, body)
        return m.group(1)


def copy_pages(dest):
    """www/* copied to dest, as a shared-hosting user would."""
    src = os.path.join(REPO, "www")
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        os.chmod(os.path.join(dest, rel), 0o755)
        for fn in files:
            p = os.path.join(dest, rel, fn)
            shutil.copy(os.path.join(root, fn), p)
            os.chmod(p, 0o644)
