"""browser.py: the headless Chromium the live-view and report tests drive
(selenium with Debian's chromium and chromium-driver)."""
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chrome(chromium=CHROMIUM, chromedriver=CHROMEDRIVER, size=(1400, 1000), extra=(), log=False):
    """A headless Chromium of the given window size (px), with extra
    command-line flags; log=True keeps the page's console for get_log."""
    o = webdriver.ChromeOptions()
    o.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=%d,%d" % size, "--hide-scrollbars") + tuple(extra):
        o.add_argument(a)
    if log:
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=o)
