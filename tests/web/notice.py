"""notice.py: onset notices in the live view, resolved by their record or
their cancellation, in headless Chromium (Selenium).
tests/system/web_notice.sh starts `twitchd web` and a `twitchd sub` of the
event topics, and calls this with the daemon's command line after `--`.

The page is opened first; then the daemon is started (a synthetic file
with LTRs, voluntary bursts and flinches, at real-time pace). While it
runs, every 0.2 s the page's figures are read (window.twView.stats()); a
cancelled notice on screen is hovered with the pointer and the trace's
title read. Asserted, once the daemon has ended:
 - the page received every evt.cancel of the subscriber's record
   (--sub: its output), and each one whose notice it had received (ids
   from its first notice on) dimmed that notice: none unmatched;
 - hovering a cancelled notice shows "LTR notice cancelled: REASON" (or
   EPN), REASON being the cancel's, for at least one notice;
 - no notice is left open: each was replaced by its record (same id) or
   dimmed by its cancel;
 - no error in the browser console.
A screenshot with a cancelled notice on screen is saved (--shot).
"""
import argparse
import json
import subprocess
import sys
import time

from browser import chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"  ok: {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--shot", required=True)
    ap.add_argument("--sub", required=True, help="the output of `twitchd sub ... evt.`")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ap.add_argument("daemon", nargs="+")
    a = ap.parse_args()
    d = chrome(a.chromium, a.chromedriver)
    proc = None
    try:
        d.get(a.url)
        time.sleep(0.5)
        proc = subprocess.Popen(a.daemon, stdin=subprocess.DEVNULL)
        t0 = time.monotonic()
        titles = {}  # id -> the title its hover gave
        shot = False
        while proc.poll() is None and time.monotonic() - t0 < 90:
            s = d.execute_script("return window.twView.stats()")
            for c in s["chans"]:
                for sp in c["cancelled"]:
                    if sp["id"] in titles or sp["x"] is None:
                        continue
                    cv = d.find_element(By.CSS_SELECTOR, f'.trace[data-channel="{c["ch"]}"] canvas')
                    w = cv.size["width"]
                    ActionChains(d).move_to_element_with_offset(cv, int(round(sp["x"] - w / 2)), 0).perform()
                    titles[sp["id"]] = (sp["reason"], cv.get_attribute("title"))
                    if not shot:
                        d.save_screenshot(a.shot)
                        shot = True
            time.sleep(0.2)
        if proc.poll() is None:
            fail("the daemon did not end within 90 s")
        if proc.returncode != 0:
            fail(f"the daemon exited {proc.returncode}")
        time.sleep(1.5)  # the last records pass the journal and the web server
        s = d.execute_script("return window.twView.stats()")

        sub = [json.loads(l) for l in open(a.sub)]
        cancels = {m["id"]: m for m in sub if m["topic"] == "evt.cancel"}
        if not cancels:
            fail("the daemon sent no evt.cancel: the test file has no cancelled notice")
        if s["cancels"] != len(cancels):
            fail(f"the page received {s['cancels']} evt.cancel, the subscriber {len(cancels)}")
        first = s["firstNotice"]
        late = [i for i in s["unmatched"] if first is None or i >= first]
        if late:
            fail(f"cancels whose notice the page had, but did not dim: ids {late} (first notice {first})")
        ok(f"{s['cancels']} evt.cancel received ({', '.join(sorted(set(m['reason'] for m in cancels.values())))}), "
           f"{s['cancelsMatched']} dimmed their notice, {len(s['unmatched'])} came before the page's first notice")
        good = [(i, t) for i, (r, t) in titles.items()
                if t.endswith(f"notice cancelled: {cancels[i]['reason']}") or
                f"notice cancelled: {cancels[i]['reason']} (" in t]
        if not good:
            fail(f"no hover showed the cancel's reason: {titles}")
        ok(f"hover: {good[0][1]!r} ({len(good)} of {len(titles)} cancelled notices hovered)")
        left = {c["ch"]: c["openNotices"] for c in s["chans"] if c["openNotices"]}
        if left:
            fail(f"notices still open on the page (no record, no cancel): {left}")
        ok(f"{s['notices']} notices, every one replaced by its record or dimmed by its cancel")
        errs = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        if errs:
            fail(f"browser console errors: {errs[:5]}")
        ok("no error in the browser console")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        d.quit()


if __name__ == "__main__":
    main()
