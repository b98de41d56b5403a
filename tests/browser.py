"""Headless Chromium for the page tests (Debian's chromium and chromium-driver, Selenium).

- :func:`chromium`: a context manager giving a fresh headless browser with its own empty
  profile, offline-friendly flags and Chrome's performance log switched on;
- :func:`network_requests`: the URLs the browser asked for since the log was last read,
  besides the page itself;
- :func:`require_browser`: the paths of the two programs, or a test failure naming the
  install command.

The browser never talks to the outside: no sync, no component updates, no background
networking, no first-run pages. Shared by every test that opens a page.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver"

#: Flags for a quiet, offline, sandbox-free headless browser (the tests may run as root).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)


def require_browser() -> tuple[str, str]:
    """Chromium's and chromedriver's paths; a test failure naming the install command if
    either is missing (the page tests are required, not optional)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: the browser tests need `{INSTALL}`")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium is missing: install the dev extra (pip install -e '.[dev]')")
    return CHROMIUM, CHROMEDRIVER


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh headless Chromium driven by Selenium; closed and its profile deleted after."""
    binary, driver_path = require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mitbadak-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # An explicit driver path: Selenium must not try to download one.
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


#: Schemes that never leave the browser: inline data and the browser's own pages (its
#: start page loads chrome:// resources before any test page is opened).
LOCAL_SCHEMES = ("data:", "chrome:", "chrome-untrusted:", "devtools:", "about:")


def open_page(driver: Any, url: str) -> None:
    """Load ``url`` after draining the logs, so that :func:`network_requests` and
    :func:`console_errors` report what this page did."""
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(url)


def network_requests(driver: Any, page_url: str) -> list[str]:
    """URLs requested since the performance log was last read, except ``page_url`` itself
    and :data:`LOCAL_SCHEMES`."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url != page_url and not url.startswith(LOCAL_SCHEMES):
                urls.append(url)
    return urls


def console_errors(driver: Any) -> list[str]:
    """Severe messages of the page's console (JavaScript errors), since last read."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
