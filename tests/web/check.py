#!/usr/bin/python3
"""check.py: drive the live view of `twitchd web` in headless Chromium
(Selenium, Debian python3-selenium + chromium-driver) against a live
daemon; tests/system/web.sh starts both and calls this.

What is asserted (each step prints a line):
 - HTTP: the page and its files are served with a Content-Security-Policy
   that allows only this server; a path outside web.root, a dot file and
   an unknown file are 404; a foreign Host header is 403 (DNS rebinding);
   POST /api/ctl without application/json is 415, bad JSON 400, a command
   the page may not send ("set") 403;
 - the page goes live (status "live") within 5 s of loading;
 - web.max_clients: with the page and two raw streams open (the limit,
   3), a fourth stream is refused with 503;
 - a session.start whose recording cannot start (record.dir replaced by a
   file) is shown in red on the page ("NOT RECORDING" and the reason), not
   as ok;
 - the session controls work: Start (subject, muscle, side), Mark (label),
   Insertion, a second Mark, then Stop each get an ok reply on the page,
   and the journal holds the session's start and stop records, the marks
   with their labels and the insertion, all with the session id;
 - during the session, the page's LTR counter equals the session's LTR
   count from `twitchd ctl status` (read before and after the page, equal);
 - after Stop: the counter equals the summary's LTR count (journal) and
   the number of LTR rows of the session (onset at or after its start);
 - the event list equals the journal: the (stream, topic, seq) of every
   row are exactly those of the journal's lines (all of them: the page
   merges the daemon's snapshot with what it receives live);
 - the insertion train panel shows the train of the latest LTR with each
   LTR's amplitude relative to the first, as in the journal;
 - the page lost nothing (no sequence gap, nothing dropped by the web
   server, no unparsable message), drew at >= 10 frames/s and its stores
   stayed within their caps;
 - the web server restarts on the same port: the page shows "no data"
   within 3 s of its stop, reconnects by itself, and its list equals the
   journal again (the outage's events from the snapshot, none twice);
 - a frozen daemon (SIGSTOP: no heartbeat) shows "no data" within 3 s
   of the freeze (2.5 s after its last heartbeat), and "live"
   again after SIGCONT; a stopped daemon (SIGTERM) shows "no data" within
   3 s; then the web server still serves (web.hb) and stops on SIGTERM
   within 3 s with status 0;
 - "listen" plays the needle channel through Web Audio (blocks queued a
   little ahead of the audio clock) and stops when unticked;
 - the daemon's audio monitor (enabled, its device missing): the page
   shows its controls and the error; choosing "mix", a gain of 12 dB and
   mute on the page each get an ok reply, and `twitchd ctl status` shows
   them;
 - a screenshot of the live page, session open, is saved (--shot).

With --long-min N (tests/system/web.sh under TW_WEB_LONG=N) it then keeps
the page open N more minutes and samples, every minute, the page's JS heap
after a forced garbage collection and its DOM node count (Chrome DevTools
protocol), the web server's resident memory, the page's frame rate and
losses; it prints the table and fails if the heap or the DOM grew by more
than 30 % (plus 2 MB / 500 nodes) between a third of the run, or the
first minute after that when the event list is full (every store is full
then), and the end. After it, the event list is checked against the
journal again: ROWS_CAP records, all from the journal, with every one of
the newest ROWS_CAP - 50 among them.
"""
import argparse
import glob
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

from browser import chrome
from selenium.webdriver.common.by import By


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg, flush=True)


class Ctx:
    pass


def http_req(c, method, path, body=None, headers=None):
    u = urllib.parse.urlparse(c.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.putrequest(method, path, skip_host=headers is not None and "Host" in headers)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    if body is not None:
        conn.send(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def check_http(c):
    st, h, body = http_req(c, "GET", "/")
    if st != 200 or b"app.js" not in body:
        fail(f"GET / -> {st}")
    csp = h.get("Content-Security-Policy", "")
    if "default-src 'self'" not in csp:
        fail(f"GET /: no Content-Security-Policy limiting the page to this server ({csp!r})")
    for path, ctype in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        st, h, _ = http_req(c, "GET", path)
        if st != 200 or not h.get("Content-Type", "").startswith(ctype):
            fail(f"GET {path} -> {st} {h.get('Content-Type')}")
    for path in ("/../Makefile", "/%2e%2e/Makefile", "/.hidden", "/nothing.js", "/web/app.js"):
        st, _, _ = http_req(c, "GET", path)
        if st != 404:
            fail(f"GET {path} -> {st}, want 404")
    st, _, _ = http_req(c, "GET", "/", headers={"Host": "evil.example:8080"})
    if st != 403:
        fail(f"GET / with a foreign Host -> {st}, want 403")
    st, _, _ = http_req(c, "POST", "/api/ctl", b'{"cmd":"status"}', {"Content-Type": "text/plain"})
    if st != 415:
        fail(f"POST /api/ctl as text/plain -> {st}, want 415")
    js = {"Content-Type": "application/json"}
    st, _, body = http_req(c, "POST", "/api/ctl", b'{"cmd": "status"', js)
    if st != 400 or b"not valid JSON" not in body:
        fail(f"POST /api/ctl bad JSON -> {st} {body!r}")
    st, _, body = http_req(c, "POST", "/api/ctl", b'{"cmd":"set","ltr.min_turns":8}', js)
    if st != 403 or b"cannot be sent from the web page" not in body:
        fail(f"POST /api/ctl set -> {st} {body!r}")
    st, _, body = http_req(c, "POST", "/api/ctl", b'{"cmd":"status"}', js)
    if st != 200 or not json.loads(body).get("ok"):
        fail(f"POST /api/ctl status -> {st} {body!r}")
    ok("files with CSP; 404 outside web.root; foreign Host 403; /api/ctl 415/400/403/200")


def open_stream(c):
    u = urllib.parse.urlparse(c.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/events")
    return conn, conn.getresponse()


def check_max_clients(c):
    held = []
    for _ in range(2):
        conn, r = open_stream(c)
        if r.status != 200:
            fail(f"stream {len(held) + 2} of 3 refused: {r.status}")
        held.append(conn)
    conn, r = open_stream(c)
    status = r.status
    conn.close()
    for h in held:
        h.close()
    if status != 503:
        fail(f"a 4th stream with web.max_clients=3 -> {status}, want 503")
    ok("web.max_clients=3: page + 2 streams accepted, the 4th refused (503)")


def browser(c):
    d = chrome(c.chromium, c.chromedriver, extra=("--enable-precise-memory-info", "--js-flags=--expose-gc",
                                                  "--autoplay-policy=no-user-gesture-required"))
    d.set_script_timeout(10)
    return d


def js(c, script, *args):
    return c.d.execute_script(script, *args)


def wait_for(c, what, fn, timeout):
    t0 = time.monotonic()
    while True:
        v = fn()
        if v:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def conn_state(c):
    return js(c, "return document.getElementById('conn').dataset.state")


def reply(c):
    return js(c, "const e = document.getElementById('ctl-reply'); return [e.dataset.cmd || '', e.dataset.ok, e.textContent]")


def click_and_wait(c, button_id, cmd):
    js(c, "const e = document.getElementById('ctl-reply'); e.dataset.cmd = ''; e.dataset.ok = '';")
    c.d.find_element(By.ID, button_id).click()
    wait_for(c, f"reply to {cmd}", lambda: reply(c)[0] == cmd and reply(c)[1] in ("true", "false"), 10)
    r = reply(c)
    if r[1] != "true":
        fail(f"{cmd} from the page: {r[2]}")


def ctl_status(c):
    out = subprocess.run([c.twitchd, "ctl", "-e", c.ctl, "-t", "3000", "status"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        fail(f"twitchd ctl status: {out.stdout} {out.stderr}")
    return json.loads(out.stdout)


def journal(c):
    recs = []
    for f in sorted(glob.glob(os.path.join(c.journal, "*.jsonl"))):
        with open(f) as fh:
            for line in fh:
                if line.strip():
                    recs.append(json.loads(line))
    return recs


def page_rows(c):
    return js(c, """return [...document.querySelectorAll('#events tbody tr')].map(r => ({
        stream: r.dataset.stream, topic: r.dataset.topic, seq: Number(r.dataset.seq),
        sample: Number(r.dataset.sample), session: r.dataset.session || null,
        channel: r.dataset.channel === undefined ? null : Number(r.dataset.channel)}))""")


def counter(c):
    return js(c, "const e = document.getElementById('ltr-count'); return [Number(e.dataset.count), e.dataset.session, e.dataset.state]")


def check_no_recording(c):
    """A session whose recording cannot start (record.dir replaced by a
    file) is shown in red on the page, with the reason: not "ok"."""
    d = c.d
    away = c.rec_dir + ".away"
    os.rename(c.rec_dir, away)
    with open(c.rec_dir, "w") as fh:
        fh.write("not a directory\n")
    try:
        d.find_element(By.ID, "subject").send_keys("NOREC")
        js(c, "const e = document.getElementById('ctl-reply'); e.dataset.cmd = ''; e.dataset.ok = '';")
        d.find_element(By.ID, "start-btn").click()
        wait_for(c, "reply to session.start", lambda: reply(c)[0] == "session.start", 10)
        cmd, okv, text = reply(c)
        colour, rec = js(c, """const e = document.getElementById('ctl-reply');
            return [getComputedStyle(e).color, e.dataset.recording]""")
        if okv != "false" or rec != "failed" or "NOT RECORDING" not in text or \
                "not a directory" not in text or colour != "rgb(255, 138, 141)":
            fail(f"session.start without a recording: data-ok {okv}, data-recording {rec}, "
                 f"colour {colour}, text {text!r}")
        ok(f"session.start without its recording shown in red ({colour}): {text!r}")
        click_and_wait(c, "stop-btn", "session.stop")
    finally:
        os.unlink(c.rec_dir)
        os.rename(away, c.rec_dir)
        d.find_element(By.ID, "subject").clear()


def session_part(c):
    d = c.d
    d.find_element(By.ID, "subject").send_keys("S01")
    d.find_element(By.ID, "muscle").send_keys("trapezius")
    d.find_element(By.ID, "side").send_keys("left")
    click_and_wait(c, "start-btn", "session.start")
    wait_for(c, "counter open", lambda: counter(c)[2] == "open", 3)
    sid = counter(c)[1]
    if not sid.endswith("-S01"):
        fail(f"session id on the page: {sid!r}")
    d.find_element(By.ID, "mark-label").send_keys("needle in")
    click_and_wait(c, "mark-btn", "mark")
    click_and_wait(c, "insert-btn", "insertion")
    ok(f"Start, Mark, Insertion from the page: session {sid}")

    # the counter follows the daemon's count while the session is open: read
    # twitchd ctl status, the page, twitchd ctl status; when both reads agree
    # the page must show the same (an LTR may land between the reads: then
    # try again, at most 5 times in a row)
    t_end = time.monotonic() + c.session_s
    matched = 0
    while time.monotonic() < t_end:
        time.sleep(1.0)
        for attempt in range(5):
            a = ctl_status(c)["session"]["ltrs"]
            p = counter(c)[0]
            b = ctl_status(c)["session"]["ltrs"]
            if a == b == p:
                matched += 1
                break
            time.sleep(0.3)
        else:
            fail(f"LTR counter {p} on the page, {a} then {b} from twitchd ctl status, 5 times in a row")
    last = ctl_status(c)["session"]["ltrs"]
    if last < 3:
        fail(f"only {last} LTRs in {c.session_s} s of session: the test needs a few")
    ok(f"LTR counter = twitchd ctl status at {matched} checks ({last} LTRs so far)")

    # a second mark, so that the screenshot shows one
    d.find_element(By.ID, "mark-label").send_keys("referred pain")
    click_and_wait(c, "mark-btn", "mark")
    time.sleep(1.5)
    os.makedirs(os.path.dirname(c.shot), exist_ok=True)
    c.d.save_screenshot(c.shot)
    ok(f"screenshot {c.shot}")

    click_and_wait(c, "stop-btn", "session.stop")
    wait_for(c, "counter closed", lambda: counter(c)[2] == "closed", 3)
    return sid


ROWS_CAP = 500  # the page keeps the newest 500 records


def compare_rows(c):
    """The page's rows are the journal's records: (stream, topic, seq), each
    once. Events are journaled before they are published: the last ones
    get 5 s to arrive. When the journal holds more than the page keeps
    (after the long run), the page must hold ROWS_CAP of them, nothing
    else, and every one of the newest ROWS_CAP - 50 (the page orders by
    time, so the oldest few it keeps need not be the journal's)."""
    deadline = time.monotonic() + 5
    while True:
        rows = page_rows(c)
        recs = journal(c)
        keys = [(r["stream"], r["topic"], r["seq"]) for r in recs]
        got = {(r["stream"], r["topic"], r["seq"]) for r in rows}
        if len(keys) <= ROWS_CAP:
            want = set(keys)
            if want == got and len(rows) == len(got):
                return rows, recs
        else:
            want = set(keys[-(ROWS_CAP - 50):])
            if want <= got and got <= set(keys) and len(rows) == len(got) == ROWS_CAP:
                return rows, recs
        if time.monotonic() > deadline:
            fail(f"event list != journal: missing on the page {sorted(want - got)[:10]}, "
                 f"not in the journal {sorted(got - want)[:10]}, {len(rows)} rows")
        time.sleep(0.2)


def compare_journal(c, sid):
    rows, recs = compare_rows(c)
    kinds = {}
    for r in recs:
        kinds[r["topic"]] = kinds.get(r["topic"], 0) + 1
    ok(f"event list = journal: {len(rows)} records ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")

    ses = [r for r in recs if r["topic"] == "evt.session" and r.get("id") == sid]
    if [s["state"] for s in ses] != ["start", "stop"]:
        fail(f"journal: session records {ses}")
    start, stop = ses
    summary_count = stop["ltr"]["count"]
    n, csid, state = counter(c)
    if (n, csid, state) != (summary_count, sid, "closed"):
        fail(f"counter after stop {n} {csid} {state}, summary says {summary_count}")
    ltr_rows = [r for r in rows if r["topic"] == "evt.ltr" and r["session"] == sid
                and r["sample"] >= start["sample"]]
    if len(ltr_rows) != summary_count:
        fail(f"{len(ltr_rows)} LTR rows of the session on the page, summary says {summary_count}")
    ok(f"after Stop: counter = summary = LTR rows of the session = {summary_count}")

    marks = [r for r in recs if r["topic"] == "evt.mark"]
    ins = [r for r in recs if r["topic"] == "evt.insertion"]
    if [m.get("label") for m in marks] != ["needle in", "referred pain"] or \
            any(m.get("session") != sid for m in marks + ins) or len(ins) != 1:
        fail(f"journal: marks {marks}, insertions {ins}")
    ok("journal: the page's marks ('needle in', 'referred pain') and insertion, with the session id")

    check_train(c)


def check_train(c):
    """The insertion train panel shows the train of the latest LTR of the
    journal, with each LTR's amplitude relative to the first (an LTR still
    on its way to the page: try again for 3 s)."""
    deadline = time.monotonic() + 3
    while True:
        err = train_mismatch(c)
        if not err:
            return
        if time.monotonic() > deadline:
            fail(err)
        time.sleep(0.2)


def train_mismatch(c):
    ltrs = [r for r in journal(c) if r["topic"] == "evt.ltr"]
    latest = max(ltrs, key=lambda r: r["offset_sample"])
    key = f"{latest['stream']}|{latest['channel']}|{latest['train']}"
    info = js(c, "return document.getElementById('train-info').dataset.key")
    if info != key:
        return f"train panel shows {info!r}, the latest LTR is in {key!r}"
    train = sorted((r for r in ltrs if (r["stream"], r["channel"], r["train"]) ==
                    (latest["stream"], latest["channel"], latest["train"])),
                   key=lambda r: r["train_index"])[-48:]
    bars = js(c, "return [...document.querySelectorAll('#train-bars .bar')].map(b => [Number(b.dataset.index), Number(b.dataset.rel)])")
    want_bars = [[r["train_index"], r["rel_amp"]] for r in train]
    if bars != want_bars:
        return f"train bars {bars}, journal {want_bars}"
    ok(f"train panel: channel {latest['channel']} train {latest['train']}, rel. amplitudes {[b[1] for b in bars]}")
    return None


def check_stats(c):
    s = js(c, "return window.twView.stats()")
    if s["seqMissing"] or s["webDropped"] or s["bad"]:
        fail(f"the page lost messages: {s}")
    if s["fps"] < 10:
        fail(f"the page draws at {s['fps']:.1f} frames/s")
    for ch in s["chans"]:
        if ch["spans"] > 96 or ch["noise"] > 64 or ch["cap"] > 30 * ch["rate"] + 1:
            fail(f"channel store over its cap: {ch}")
    ok(f"no loss; {s['fps']:.0f} frames/s, {s['drawMs']:.2f} ms per frame; {s['messages']} messages, {s['rows']} rows")
    return s


def check_listen(c):
    c.d.find_element(By.ID, "listen").click()
    time.sleep(1.5)
    a = js(c, "return window.twView.stats().audio")
    if not a or a["state"] != "running" or a["blocks"] < 10 or not 0 < a["aheadS"] < 0.7:
        fail(f"listen: {a}")
    c.d.find_element(By.ID, "listen").click()
    if js(c, "return window.twView.stats().audio") is not None:
        fail("listen off: the audio context is still open")
    ok(f"listen: channel {a['channel']} plays through Web Audio ({a['blocks']} blocks in 1.5 s, "
       f"{a['aheadS'] * 1000:.0f} ms queued); off closes it")


def check_monitor(c):
    from selenium.webdriver.support.ui import Select
    wait_for(c, "the monitor's controls", lambda: js(c, "return !document.getElementById('monitor').hidden"), 5)
    state = js(c, "const e = document.getElementById('mon-state'); return [e.textContent, e.title]")
    if state[0] != "error" or "no output device matches" not in state[1]:
        fail(f"monitor: the page shows {state} (want the missing device's error)")

    def ctl_and_wait(what, act):
        js(c, "const e = document.getElementById('ctl-reply'); e.dataset.cmd = ''; e.dataset.ok = '';")
        act()
        wait_for(c, f"reply to monitor ({what})",
                 lambda: reply(c)[0] == "monitor" and reply(c)[1] in ("true", "false"), 10)
        if reply(c)[1] != "true":
            fail(f"monitor {what} from the page: {reply(c)[2]}")

    ctl_and_wait("channel mix", lambda: Select(c.d.find_element(By.ID, "mon-ch")).select_by_value("mix"))
    gain = c.d.find_element(By.ID, "mon-gain")
    ctl_and_wait("gain 12 dB", lambda: js(c, "arguments[0].value = '12'; arguments[0].dispatchEvent(new Event('change'))", gain))
    ctl_and_wait("mute", lambda: c.d.find_element(By.ID, "mon-mute").click())
    m = ctl_status(c)["monitor"]
    if m["channel"] != "mix" or m["gain_db"] != 12 or m["mute"] is not True:
        fail(f"monitor after the page's controls: {m}")
    ok("the audio monitor from the page: its error shown; mix, 12 dB and mute applied")


def metrics(c):
    c.d.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    m = {x["name"]: x["value"] for x in c.d.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    rss = 0
    with open(f"/proc/{c.web_pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return m["JSHeapUsedSize"], int(m["Nodes"]), rss


def long_run(c):
    c.d.execute_cdp_cmd("Performance.enable", {})
    print(f"  long run: {c.long_min} min; every minute: JS heap after GC, DOM nodes, web server RSS", flush=True)
    print("    min  heap_MB  nodes  web_rss_MB  rows  fps  messages  lost", flush=True)
    samples = []
    for minute in range(c.long_min + 1):
        if minute:
            time.sleep(60)
        heap, nodes, rss = metrics(c)
        s = js(c, "return window.twView.stats()")
        samples.append((heap, nodes, rss, s["rows"]))
        print(f"    {minute:3d}  {heap / 1e6:7.2f}  {nodes:5d}  {rss / 1024:10.1f}  {s['rows']:4d}  {s['fps']:3.0f}"
              f"  {s['messages']:8d}  {s['seqMissing']}", flush=True)
        if conn_state(c) != "live":
            fail("the page went to 'no data' during the long run")
    # the baseline: a third into the run (at least minute 2), and not before
    # the event list is full (500 rows), when every store is full
    first = min(max(2, (c.long_min + 2) // 3), len(samples) - 1)
    full = [i for i in range(first, len(samples)) if samples[i][3] >= ROWS_CAP]
    if not full or full[0] > (len(samples) - 1) // 2:
        # about 75 rows a minute: full after 7 minutes
        if c.long_min >= 20:
            fail(f"the event list was not full by the middle of the long run: rows {[x[3] for x in samples]}")
        ok(f"long run of {c.long_min} min: too short to judge growth (the event list fills in about 7)")
        return
    base = samples[full[0]]
    end = samples[-1]
    if end[0] > base[0] * 1.3 + 2e6 or end[1] > base[1] * 1.3 + 500:
        fail(f"the page grew: heap {base[0] / 1e6:.2f} -> {end[0] / 1e6:.2f} MB, nodes {base[1]} -> {end[1]}")
    check_train(c)
    s = js(c, "return window.twView.stats()")
    if s["rows"] != 500 or s["trains"] > 8:
        fail(f"after the long run: {s['rows']} rows (want the cap, 500), {s['trains']} trains (cap 8)")
    ok(f"long run: heap {base[0] / 1e6:.2f} -> {end[0] / 1e6:.2f} MB, DOM {base[1]} -> {end[1]} nodes, "
       f"web server {base[2] / 1024:.1f} -> {end[2] / 1024:.1f} MB")


def proc_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] == "Z"
    except OSError:
        return True


def check_restart(c):
    """The web server restarts (same port): the page says "no data" while it
    is away, reconnects by itself, and its list is the journal again,
    events of the outage included (from the snapshot), none twice."""
    with open(f"/proc/{c.web_pid}/cmdline") as f:
        cmd = f.read().split("\0")[:-1]
    port = urllib.parse.urlparse(c.url).port
    cmd = [f"web.listen=127.0.0.1:{port}" if a == "web.listen=127.0.0.1:0" else a for a in cmd]
    before = len(page_rows(c))
    os.kill(c.web_pid, signal.SIGTERM)
    dt = wait_for(c, "'no data' with the web server stopped", lambda: conn_state(c) == "nodata", 3)
    why = js(c, "return document.getElementById('conn-why').textContent")
    wait_for(c, "the web server to exit", lambda: proc_gone(c.web_pid), 3)
    time.sleep(2.5)   # events happen meanwhile
    log = open(c.web_log, "ab")
    c.web = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    with open(c.web_pidfile, "w") as f:
        f.write(str(c.web.pid))
    up = wait_for(c, "'live' after the web server came back", lambda: conn_state(c) == "live", 8)
    compare_rows(c)
    after = len(page_rows(c))
    ok(f"web server restarted: 'no data' after {dt:.2f} s ({why}), live again {up:.2f} s after it came "
       f"back; the list is the journal ({before} -> {after} records, the outage's from the snapshot)")


def check_no_data(c):
    os.kill(c.daemon_pid, signal.SIGSTOP)
    try:
        dt = wait_for(c, "'no data' after SIGSTOP", lambda: conn_state(c) == "nodata", 5)
        why = js(c, "return document.getElementById('conn-why').textContent")
    finally:
        os.kill(c.daemon_pid, signal.SIGCONT)
    if dt > 3.0:
        fail(f"'no data' {dt:.2f} s after the daemon froze (want <= 3 s)")
    wait_for(c, "'live' after SIGCONT", lambda: conn_state(c) == "live", 3)
    ok(f"frozen daemon: 'no data' after {dt:.2f} s ({why}); live again after SIGCONT")
    os.kill(c.daemon_pid, signal.SIGTERM)
    dt = wait_for(c, "'no data' after SIGTERM", lambda: conn_state(c) == "nodata", 3)
    why = js(c, "return document.getElementById('conn-why').textContent")
    text = js(c, "return document.getElementById('conn').textContent")
    if text != "no data":
        fail(f"status text {text!r}")
    ok(f"stopped daemon: 'no data' {dt:.2f} s after SIGTERM ({why})")
    time.sleep(1.5)
    s = js(c, "return window.twView.stats()")
    if not s["sseOpen"] or s["webHbAgeS"] > 1.5:
        fail(f"the web server stopped serving when the daemon stopped: {s}")
    t0 = time.monotonic()
    c.web.send_signal(signal.SIGTERM)
    try:
        rc = c.web.wait(timeout=5)
    except subprocess.TimeoutExpired:
        fail("twitchd web still running 5 s after SIGTERM")
    dt = time.monotonic() - t0
    if rc != 0 or dt > 3:
        fail(f"twitchd web exited {rc} {dt:.2f} s after SIGTERM")
    ok(f"twitchd web outlives the daemon (web.hb {s['webHbAgeS']:.1f} s ago), stops on SIGTERM in {dt:.2f} s, status 0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--twitchd", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--journal", required=True)
    ap.add_argument("--rec-dir", required=True)
    ap.add_argument("--daemon-pid", type=int, required=True)
    ap.add_argument("--web-pid", type=int, required=True)
    ap.add_argument("--web-log", required=True)
    ap.add_argument("--web-pidfile", required=True)
    ap.add_argument("--shot", required=True)
    ap.add_argument("--session-s", type=float, default=16)
    ap.add_argument("--long-min", type=int, default=0)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    c = Ctx()
    a = ap.parse_args()
    c.__dict__.update(vars(a))
    check_http(c)
    c.d = browser(c)
    try:
        c.d.get(c.url)
        dt = wait_for(c, "status 'live'", lambda: conn_state(c) == "live", 5)
        ok(f"page live {dt:.2f} s after loading")
        check_max_clients(c)
        check_no_recording(c)
        sid = session_part(c)
        compare_journal(c, sid)
        check_stats(c)
        check_listen(c)
        check_monitor(c)
        if c.long_min:
            long_run(c)
        check_restart(c)
        check_no_data(c)
        # the stream's network errors are expected (the web server was
        # stopped twice); anything else is a fault of the page
        errs = [e for e in c.d.get_log("browser") if e.get("level") == "SEVERE"
                and not (e.get("source") == "network" and "/events " in e.get("message", ""))]
        if errs:
            fail(f"browser console errors: {errs[:5]}")
        ok("no error in the browser console (but the stream's, while the web server was away)")
    finally:
        c.d.quit()


if __name__ == "__main__":
    main()
