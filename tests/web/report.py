#!/usr/bin/env python3
"""report.py HTML SUMMARY SHOT: a `twitchd report` page in headless Chromium.

Checks (tests/system/report.sh runs it):
 - the file is self-contained: no src=/href= to anything but "#..." or
   "data:", no <script>, no @import or url(...) in the CSS;
 - Chromium (file://) renders it with no console message of level
   SEVERE or WARNING;
 - a screenshot (PNG, SHOT) is not blank: the page has many distinct
   colours and the plotted marks are visible (non-zero size boxes);
 - the plotted counts equal the summary's: LTR ticks (.ltr) = ltr.count
   (every LTR is in a train), per channel = ltr.per_channel; train
   polylines (.train) = len(trains); insertion lines (.ins) and mark lines
   (.mark) = len(insertions) / len(marks) on each channel's timeline; bad
   stretches (.bad) = the summary's quality stretches; EPN spans (.epn) per
   channel = epn.per_channel[ch].episodes; histogram bars sum to the LTRs;
 - printing to PDF (Chrome's Page.printToPDF) gives a PDF.
Prints the render time and the file size."""
import base64, json, re, sys, time

from browser import chrome
from selenium.webdriver.common.by import By

html_path, sum_path, shot = sys.argv[1:4]
html = open(html_path, encoding="utf-8").read()
summ = json.load(open(sum_path))


def fail(m):
    sys.exit(f"FAIL: {m}")


for m in re.finditer(r'(?:src|href)\s*=\s*"([^"]*)"', html):
    if not (m.group(1).startswith("#") or m.group(1).startswith("data:")):
        fail(f"external reference {m.group(0)}")
if re.search(r"<script|@import|url\(", html, re.I):
    fail("a script or a CSS url()/import: the report must be self-contained and static")

d = chrome(size=(1100, 1400), log=True)
try:
    t0 = time.monotonic()
    d.get("file://" + html_path)
    render_s = time.monotonic() - t0
    logs = [e for e in d.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]
    if logs:
        fail(f"console: {logs[:5]}")
    count = lambda sel: len(d.find_elements(By.CSS_SELECTOR, sel))
    figs = d.find_elements(By.CSS_SELECTOR, "figure svg")
    nch = summ["channels"]
    if len(d.find_elements(By.XPATH, "//figcaption[starts-with(., 'Channel ')]")) != nch:
        fail(f"want {nch} channel timelines")
    if count(".ltr") != summ["ltr"]["count"]:
        fail(f"{count('.ltr')} LTR ticks, summary ltr.count {summ['ltr']['count']}")
    tl = d.find_elements(By.XPATH, "//figure[figcaption[starts-with(., 'Channel ')]]")
    for ch, fig in enumerate(tl):
        n = len(fig.find_elements(By.CSS_SELECTOR, ".ltr"))
        if n != summ["ltr"]["per_channel"][ch]:
            fail(f"channel {ch}: {n} LTR ticks, summary {summ['ltr']['per_channel'][ch]}")
        e = len(fig.find_elements(By.CSS_SELECTOR, ".epn"))
        want = summ["epn"]["per_channel"][ch]["episodes"]
        if e != want:
            fail(f"channel {ch}: {e} EPN spans, summary episodes {want}")
        for cls, key in (("ins", "insertions"), ("mark", "marks")):
            k = len(fig.find_elements(By.CSS_SELECTOR, "." + cls))
            if k != len(summ[key]):
                fail(f"channel {ch}: {k} .{cls}, summary {len(summ[key])} {key}")
        b = len(fig.find_elements(By.CSS_SELECTOR, ".bad"))
        if b != len(summ["quality"]["per_channel"][ch]["stretches"]):
            fail(f"channel {ch}: {b} bad-quality spans")
    if count(".train") != len(summ["trains"]):
        fail(f"{count('.train')} train lines, summary {len(summ['trains'])} trains")
    bars = d.find_elements(By.CSS_SELECTOR, "figure:nth-of-type(1) .hbar")
    amp = sum(int(x.get_attribute("data-n")) for x in
              d.find_elements(By.XPATH, "//figure[figcaption[starts-with(., 'LTR amplitude')]]"
                                        "//*[@class='hbar']"))
    if amp != summ["ltr"]["count"]:
        fail(f"amplitude histogram holds {amp}, summary {summ['ltr']['count']}")
    body = d.find_element(By.TAG_NAME, "body")
    for k, want in (("ltr", summ["ltr"]["count"]), ("trains", len(summ["trains"])),
                    ("insertions", len(summ["insertions"])), ("marks", len(summ["marks"]))):
        if int(body.get_attribute("data-" + k)) != want:
            fail(f"body data-{k} {body.get_attribute('data-' + k)}, want {want}")
    visible = [s for s in figs if s.size["width"] > 100 and s.size["height"] > 50]
    if len(visible) < nch + 3:
        fail(f"only {len(visible)} plots have a visible size")
    # the whole page in one screenshot
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1100, min(int(height) + 140, 6000))
    d.save_screenshot(shot)
    png = open(shot, "rb").read()
    import zlib, struct
    # decode the PNG (8-bit RGB/RGBA, no interlace: Chromium's) to count colours
    pos, idat, w, h, ct = 8, b"", 0, 0, 0
    while pos < len(png):
        ln, typ = struct.unpack(">I4s", png[pos:pos + 8])
        dat = png[pos + 8:pos + 8 + ln]
        if typ == b"IHDR":
            w, h, bd, ct = struct.unpack(">IIBB", dat[:10])
        elif typ == b"IDAT":
            idat += dat
        pos += 12 + ln
    raw = zlib.decompress(idat)
    bpp = 4 if ct == 6 else 3
    stride = w * bpp + 1
    colours = set()
    prev = bytearray(w * bpp)
    nonwhite = 0
    for y in range(h):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:
            for x in range(0, w, 4):
                px = bytes(line[x * bpp:x * bpp + 3])
                colours.add(px)
                nonwhite += px != b"\xff\xff\xff"
        prev = line
    if len(colours) < 8 or nonwhite < 500:
        fail(f"the screenshot looks blank: {len(colours)} colours, {nonwhite} non-white samples")
    pdf = d.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
    if not base64.b64decode(pdf["data"]).startswith(b"%PDF"):
        fail("printToPDF gave no PDF")
    print(f"  ok: rendered in {render_s * 1000:.0f} ms, no console message; {len(html)} bytes; "
          f"{count('.ltr')} LTR ticks, {count('.train')} trains, {count('.epn')} EPN spans, "
          f"{count('.ins')} insertion and {count('.mark')} mark lines = the summary; screenshot "
          f"{w}x{h}, {len(colours)} colours; PDF {len(base64.b64decode(pdf['data']))} bytes")
finally:
    d.quit()
