"""quality.py: the live view's signal-quality banner, in headless Chromium
(Selenium). tests/system/web_quality.sh starts `twitchd web` and calls
this with the daemon's command line after `--`.

The page is opened first; then the daemon is started (on a file at
real-time pace holding 3 s of exact zeros from FLAT_AT s on), and the
banner of channel 0 (.quality-banner, data-quality) is sampled every
50 ms until the daemon exits. Asserted:
 - before the flat stretch (up to FLAT_AT s after the daemon started) no
   banner is shown;
 - a banner saying "flat" appears within 1.5 s after the stretch begins
   (the daemon's evt.quality record; heartbeats say it too);
 - it is gone again after the stretch plus the 1 s hold, within 2.5 s
   after the stretch ends, and stays gone to the end of the file;
 - no error in the browser console.
A screenshot with the banner shown is saved (--shot).
"""
import argparse
import subprocess
import sys
import time

from browser import chrome


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"  ok: {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--shot", required=True)
    ap.add_argument("--flat-at", type=float, default=4.0)
    ap.add_argument("--flat-s", type=float, default=3.0)
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
        samples = []  # (t, shown, data-quality)
        shot = False
        while proc.poll() is None and time.monotonic() - t0 < 60:
            q = d.execute_script(
                "const b = document.querySelector('.trace[data-channel=\"0\"] .quality-banner');"
                "return b ? [!b.hidden && b.offsetParent !== null, b.dataset.quality, b.textContent] : null")
            t = time.monotonic() - t0
            if q:
                samples.append((t, q[0], q[1]))
                if q[0] and not shot:
                    d.save_screenshot(a.shot)
                    shot = True
            time.sleep(0.05)
        if proc.poll() is None:
            fail("the daemon did not end within 60 s")
        if proc.returncode != 0:
            fail(f"the daemon exited {proc.returncode}")
        end = a.flat_at + a.flat_s
        early = [s for s in samples if s[0] < a.flat_at and s[1]]
        if early:
            fail(f"a banner before the flat stretch: {early[:3]}")
        on = [s for s in samples if s[1] and "flat" in s[2]]
        if not on:
            fail(f"no 'flat' banner at all (states seen: {sorted(set(s[2] for s in samples))})")
        t_on = on[0][0]
        if not a.flat_at <= t_on <= a.flat_at + 1.5:
            fail(f"the banner appeared {t_on:.2f} s after the start (the stretch begins at {a.flat_at} s)")
        off = [s for s in samples if s[0] > t_on and not s[1]]
        if not off:
            fail("the banner never went away")
        t_off = off[0][0]
        if not end <= t_off <= end + 2.5:
            fail(f"the banner went away {t_off:.2f} s after the start (the stretch ends at {end} s, held 1 s)")
        later = [s for s in samples if s[0] > t_off and s[1]]
        if later:
            fail(f"a banner again after the stretch: {later[:3]}")
        ok(f"banner '{on[0][2]}' shown {t_on:.2f} s after the start, gone at {t_off:.2f} s "
           f"(zeros {a.flat_at}-{end} s, held 1 s); none before or after ({len(samples)} samples)")
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
