"""
browser.py: a real browser for the page scenarios (test_89_pages.py):
Debian's chromium, driven headless by chromium-driver through
python3-selenium, each Browser with a profile of its own (its own
cookies), reused across scenarios.

Every wait is on a condition (a page is ready when its <main> is no
longer aria-busy), bounded by WAIT seconds.  check_log() reads the
browser's console: a JavaScript error, a console error, a CSP or Trusted
Types violation, or a failed load of anything but an API answer fails
the scenario.  shoot() saves PNG screenshots of the page, desktop and
360 px wide, light and dark, under build/screenshots/.
"""

import base64
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException,
                                        StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHOTS = os.path.join(REPO, "build", "screenshots")
CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
WAIT = 20
FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-quic "
         "--no-first-run --disable-background-networking "
         "--disable-component-update --disable-sync "
         "--disable-dev-shm-usage --password-store=basic").split()
DESKTOP = (1280, 900)
PHONE = (360, 740)

Keys = Keys
By = By


class Browser:
    """One headless Chromium (its own profile and cookies)."""

    def __init__(self, name):
        self.name = name
        self.profile = tempfile.mkdtemp(prefix="latch-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for f in FLAGS:
            opts.add_argument(f)
        opts.add_argument("--user-data-dir=" + self.profile)
        opts.add_argument("--window-size=%d,%d" % DESKTOP)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL",
                                                  "performance": "ALL"})
        self.d = webdriver.Chrome(service=Service(DRIVER), options=opts)
        self.d.set_page_load_timeout(WAIT)
        self.seen_log = []

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # ------------------------------------------------------- pages

    def wait(self, cond, what, timeout=WAIT):
        """Poll cond() (exceptions of a page in flux count as false)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                v = cond()
            except (NoSuchElementException,
                    StaleElementReferenceException):
                v = None
            except WebDriverException as e:
                if "unexpected alert" in str(e):
                    raise
                v = None
            if v:
                return v
            if time.monotonic() >= deadline:
                raise AssertionError("%s: gave up after %ss waiting for %s "
                                     "(at %s, showing: %s)" % (
                                         self.name, timeout, what, self.url,
                                         self._showing()))
            time.sleep(0.05)

    def _showing(self):
        """The start of the page's text, for messages."""
        try:
            t = self.d.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return "?"
        t = " ".join(t.split())
        return t[:600] + ("..." if len(t) > 600 else "")

    @property
    def url(self):
        try:
            return self.d.current_url
        except WebDriverException:
            return "?"

    def ready(self, path=None):
        """Wait until the page (whose URL contains path, if given) has
        built itself: its <main> is no longer aria-busy."""
        def done():
            if path is not None and path not in self.d.current_url:
                return False
            return self.d.execute_script(
                "var m = document.querySelector('main');"
                "return document.readyState === 'complete' && m !== null"
                " && !m.hasAttribute('aria-busy');")
        self.wait(done, "page %s to be ready" % (path or ""))
        return self

    def open(self, url, ready=True):
        self.d.get(url)
        if ready:
            self.ready()
        return self

    def q(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def qs(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def field(self, form, name):
        return self.q("#%s [name='%s']" % (form, name))

    def fill(self, form, **values):
        """Type values into the named controls of form #form
        (checkboxes: True/False)."""
        for name, v in values.items():
            e = self.field(form, name)
            if e.get_attribute("type") == "checkbox":
                if e.is_selected() != bool(v):
                    e.click()
            elif e.tag_name == "select":
                self.d.execute_script(
                    "arguments[0].value = arguments[1];", e, v)
            else:
                e.clear()
                e.send_keys(v)
        return self

    def submit(self, form):
        """Press form #form's submit button once it is enabled."""
        b = self.q("#%s button[type='submit']" % form)
        self.wait(b.is_enabled, "the submit button of #%s" % form)
        b.click()
        return self

    def text(self, css="main"):
        return self.q(css).text

    def wait_text(self, text, css="main"):
        return self.wait(lambda: text in self.q(css).text,
                         "%r in %s" % (text, css))

    def errors(self, form):
        """The messages of form #form's error summary, once it shows."""
        box = self.wait(lambda: self.q("#%s .error-summary" % form),
                        "an error summary in #%s" % form)
        return box.text

    def h1(self):
        return self.q("h1").text

    def cookies(self):
        """Every cookie of the browser, HttpOnly ones included:
        {name: cookie dict} (DevTools, which sees past the page)."""
        r = self.d.execute_cdp_cmd("Network.getAllCookies", {})
        return {c["name"]: c for c in r["cookies"]}

    def set_cookie(self, cookie):
        self.d.execute_cdp_cmd("Network.setCookie", cookie)

    def delete_cookie(self, name, path):
        self.d.execute_cdp_cmd("Network.deleteCookies", {
            "name": name, "url": self.base_url, "path": path})

    def clear_cookies(self):
        self.d.execute_cdp_cmd("Network.clearBrowserCookies", {})

    @property
    def base_url(self):
        u = self.d.current_url
        return u[:u.index("/", u.index("//") + 2)]

    # ------------------------------------------------------ the log

    def log(self):
        """The console entries since the last call."""
        try:
            entries = self.d.get_log("browser")
        except WebDriverException:
            entries = []
        self.seen_log.extend(entries)
        return entries

    def check_log(self, allow=()):
        """
        Fail on any JavaScript error, console error, CSP or Trusted Types
        violation, or failed load since the last call.  An API answer with
        an error status is logged by Chromium as a failed load; those of
        the statuses in allow (e.g. (409,)) are expected ones, and so is
        any 401 of the API: the call of an expired access token is
        answered 401 before the page refreshes the session and retries.
        """
        allow = tuple(allow) + (401,)
        bad = []
        for e in self.log():
            msg = e.get("message", "")
            if e.get("level") != "SEVERE":
                continue
            if e.get("source") == "network" and "/api/" in msg and any(
                    "status of %d" % s in msg for s in allow):
                continue
            bad.append("%s: %s" % (e.get("source"), msg))
        assert not bad, "%s: the browser logged:\n  %s" % (
            self.name, "\n  ".join(bad))

    # ------------------------------------------------ screenshots

    def _metrics(self, width, height, dark):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme",
                          "value": "dark" if dark else "light"}]})

    def layout_ok(self):
        """Nothing wider than the viewport (no sideways scrolling of the
        page itself; wide tables scroll inside their own box)."""
        return self.d.execute_script(
            "return document.documentElement.scrollWidth <= "
            "window.innerWidth;")

    def shoot(self, name):
        """build/screenshots/NAME-{desktop,phone}{,-dark}.png, whole
        pages; also checks that the phone layout needs no sideways
        scrolling.  Returns the paths."""
        os.makedirs(SHOTS, exist_ok=True)
        out = []
        try:
            for size, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
                for dark in (False, True):
                    self._metrics(size[0], size[1], dark)
                    if size == PHONE and not dark:
                        assert self.layout_ok(), \
                            "%s is wider than 360 px: %s" % (name,
                                                             self.url)
                    h = self.d.execute_script(
                        "return Math.ceil(document.documentElement"
                        ".getBoundingClientRect().height);")
                    shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                        "format": "png", "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": 0, "width": size[0],
                                 "height": max(h, size[1]), "scale": 1}})
                    p = os.path.join(SHOTS, "%s-%s%s.png" % (
                        name, tag, "-dark" if dark else ""))
                    with open(p, "wb") as f:
                        f.write(base64.b64decode(shot["data"]))
                    out.append(p)
        finally:
            self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride",
                                   {})
            self.d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                   {"features": []})
        return out

    # ---------------------------------------------- accessibility

    def a11y_problems(self):
        """
        What a page does against the rules every page keeps: one <h1>;
        every visible control named by a label; every form's submit a
        <button type="submit">; ids unique; links and buttons with text.
        """
        return self.d.execute_script("""
          var out = [];
          if (document.querySelectorAll('h1').length !== 1)
            out.push('not exactly one h1');
          var seen = {};
          document.querySelectorAll('[id]').forEach(function (e) {
            if (seen[e.id]) out.push('duplicate id ' + e.id);
            seen[e.id] = 1;
          });
          document.querySelectorAll('input, select, textarea')
            .forEach(function (c) {
              if (c.type === 'hidden' || c.closest('[hidden]')) return;
              var named = (c.labels && c.labels.length) ||
                c.getAttribute('aria-label');
              if (!named) out.push('no label: ' + (c.name || c.id));
            });
          document.querySelectorAll('form').forEach(function (f) {
            if (f.closest('[hidden]') || f.hidden) return;
            if (!f.querySelector('button[type=submit]'))
              out.push('form without a submit button: ' + f.id);
            f.querySelectorAll('input[type=submit]').forEach(function () {
              out.push('input type=submit in ' + f.id);
            });
          });
          document.querySelectorAll('a, button').forEach(function (e) {
            if (e.closest('[hidden]')) return;
            if (!e.textContent.trim() && !e.getAttribute('aria-label'))
              out.push('a ' + e.tagName + ' without text');
          });
          return out;
        """)

    def focus_visible(self):
        """Whether the focused element shows a focus indicator."""
        return self.d.execute_script("""
          var e = document.activeElement, s = getComputedStyle(e);
          return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth)
                  > 0) || s.boxShadow !== 'none' ||
                 s.backgroundColor !== getComputedStyle(e.parentElement)
                   .backgroundColor;
        """)

    def active(self):
        """(tag, id, name, text) of the focused element."""
        return tuple(self.d.execute_script("""
          var e = document.activeElement;
          return [e.tagName.toLowerCase(), e.id || '',
                  e.getAttribute('name') || '',
                  (e.textContent || '').trim().slice(0, 60)];
        """))

    def keys(self, *keys):
        """Type keys to whatever has the focus."""
        webdriver.ActionChains(self.d).send_keys(*keys).perform()
        return self

    def tab_to(self, pred, what, limit=40):
        """Press Tab until pred(active()) holds (at most limit times)."""
        for _ in range(limit):
            self.keys(Keys.TAB)
            if pred(self.active()):
                assert self.focus_visible(), \
                    "%s has focus but shows no focus indicator" % (
                        self.active(),)
                return self.active()
        raise AssertionError("%s: Tab never reached %s" % (self.name, what))

    def weight(self):
        """(requests, bytes) of the files the page loaded from its own
        site (the document, style, scripts, icon), API calls left out;
        bytes as they came over the wire (or from the cache)."""
        r = self.d.execute_script("""
          var n = 0, b = 0;
          var all = performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource'));
          all.forEach(function (e) {
            if (e.name.indexOf('/api/') !== -1) return;
            n += 1;
            b += e.encodedBodySize || 0;
          });
          return [n, b];
        """)
        return r[0], r[1]
