"""webdriver.py — a small client of the W3C WebDriver HTTP API (chromedriver), with the
standard library only (urllib + json), for the end-to-end tests that drive a real
browser (tests/e2e/test_webpage.sh).

    d = Driver(port)                       # chromedriver --port=PORT is running
    d.start(chromium="/usr/bin/chromium", profile="/tmp/profile")
    d.get("http://127.0.0.1:8480/")
    el = d.find("#file"); d.send_keys(el, "/path/to/file.csv")
    d.click(d.find("#checkfile")); d.screenshot("step1.png")
    d.quit()

Every wait has a deadline (wait_for) and says what it waited for when it gives up.
"""

import base64
import json
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"   # the W3C name of an element reference

# Chromium as root in a container: no sandbox, no GPU, a fresh profile, nothing that
# reaches the network (this machine's network is closed)
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-default-apps",
    "--window-size=1280,1400", "--lang=vi",
]


class WebDriverError(Exception):
    pass


class Driver:
    def __init__(self, port, timeout=120):
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout          # one HTTP call to chromedriver, at most
        self.sid = None

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                reply = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            try:
                reply = json.loads(e.read())
            except ValueError:
                raise WebDriverError(f"{method} {path}: HTTP {e.code}") from None
            v = reply.get("value", {})
            raise WebDriverError(f"{method} {path}: {v.get('error')}: {v.get('message', '')[:300]}")
        return reply.get("value")

    def _s(self, path):
        return f"/session/{self.sid}{path}"

    # ---- session ----
    def ready(self):
        try:
            return bool(self._call("GET", "/status").get("ready"))
        except (OSError, WebDriverError):
            return False

    def start(self, chromium, profile, extra_args=()):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium,
                                   "args": CHROMIUM_ARGS + [f"--user-data-dir={profile}"] +
                                   list(extra_args)}}}}
        v = self._call("POST", "/session", caps)
        self.sid = v["sessionId"]
        return v

    def quit(self):
        if self.sid:
            try:
                self._call("DELETE", self._s(""))
            finally:
                self.sid = None

    # ---- navigation and elements ----
    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    def url(self):
        return self._call("GET", self._s("/url"))

    def find(self, css):
        return self._call("POST", self._s("/element"),
                          {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self._call("POST", self._s("/elements"),
                                                {"using": "css selector", "value": css})]

    def exists(self, css):
        return len(self.find_all(css)) > 0

    def text(self, el):
        return self._call("GET", self._s(f"/element/{el}/text"))

    def attr(self, el, name):
        return self._call("GET", self._s(f"/element/{el}/attribute/{name}"))

    def send_keys(self, el, text):
        self._call("POST", self._s(f"/element/{el}/value"), {"text": text})

    def click(self, el):
        self._call("POST", self._s(f"/element/{el}/click"), {})

    def script(self, js, *args):
        return self._call("POST", self._s("/execute/sync"), {"script": js, "args": list(args)})

    def screenshot(self, path):
        """The whole page (Chromium's full-page capture), else the window."""
        try:
            v = self._call("POST", self._s("/goog/cdp/execute"),
                           {"cmd": "Page.captureScreenshot",
                            "params": {"format": "png", "captureBeyondViewport": True}})
            png = v["data"]
        except (WebDriverError, KeyError, TypeError):
            png = self._call("GET", self._s("/screenshot"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        return path

    def wait_for(self, what, fn, deadline_s):
        """Calls fn() until it returns a true value (returned); polls every 0.25 s.
        Raises WebDriverError naming `what` after deadline_s: a generous bound for a state
        that must come, never a measure of speed."""
        end = time.monotonic() + deadline_s
        last = None
        while True:
            try:
                v = fn()
                if v:
                    return v
            except WebDriverError as e:
                last = e
            if time.monotonic() > end:
                raise WebDriverError(f"gave up waiting for {what} after {deadline_s}s"
                                     + (f" (last error: {last})" if last else ""))
            time.sleep(0.25)
