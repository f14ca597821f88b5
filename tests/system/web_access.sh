#!/usr/bin/env bash
# web_access.sh BUILD_DIR: who may use `twitchd web`, and that idle
# connections cannot lock the page out (issue 13). Raw HTTP and TCP, no
# browser (tests/web/check.py drives the page).
#
# Against a live daemon (synthetic source) and `twitchd web` on
# 127.0.0.1:0 (web.max_clients 3):
#  - POST /api/ctl with a foreign Origin (another site, "null") is 403
#    with a reason naming the Origin, and is not forwarded; with this
#    server's own Origin, or none (a script), the daemon's reply (200);
#  - an event stream is open throughout what follows and keeps receiving
#    (no silence over 2.5 s, still open at the end, past the idle timeout);
#  - 40 idle TCP connections from 127.0.0.2: a page load from 127.0.0.1
#    is served at once; from 127.0.0.2 it is served again within 8 s
#    (idle connections closed after 5 s; it was 60 s);
#  - 40 idle TCP connections from 127.0.0.1 itself: the page loads again
#    within 8 s;
# and `twitchd web` on 127.0.0.2:0 answers a request whose Host is its
# own address (it answered 403), still refuses a foreign Host.
# Figures printed: the seconds each address was locked out.
set -euo pipefail

B=${1:?usage: web_access.sh BUILD_DIR}
TW="$B/twitchd"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
T=$(mktemp -d)
dpid= wpid= w2pid=
cleanup() {
    local rc=$?
    for p in $dpid $wpid $w2pid; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do [[ -f $f ]] && tail -8 "$f" | sed "s|^|  $(basename "$f"): |" >&2; done
    exit 1
}

"$TW" run -o input.source=synth -o input.pace=realtime -o journal.dir="$T/j" \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.mode=off -o record.dir="$T/rec" >"$T/daemon.log" 2>&1 </dev/null &
dpid=$!
for _ in $(seq 100); do "$TW" ctl -e "ipc://$T/ctl" -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done

# start_web LISTEN LOG: twitchd web, its URL in $url
start_web() {
    "$TW" web -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
        -o web.root="$REPO/web" -o web.listen="$1" -o web.max_clients=3 >"$T/$2" 2>&1 </dev/null &
    local i
    url=
    for i in $(seq 100); do
        url=$(grep -o 'http://[0-9.]*:[0-9]*/' "$T/$2" | head -n 1) && [[ -n $url ]] && return 0
        sleep 0.1
    done
    fail "twitchd web on $1 did not say where it listens"
}
start_web 127.0.0.1:0 web.log
wpid=$!
url1=$url
start_web 127.0.0.2:0 web2.log
w2pid=$!
url2=$url

/usr/bin/python3 - "$url1" "$url2" <<'PY' || fail "(above)"
import http.client, json, socket, sys, threading, time, urllib.parse

u1, u2 = (urllib.parse.urlparse(u) for u in sys.argv[1:3])
bad = []

def check(cond, what):
    print(("  ok: " if cond else "  FAIL: ") + what, flush=True)
    if not cond:
        bad.append(what)

def req(u, method, path, body=None, headers=None, source="127.0.0.1", timeout=3):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()

# ---- Origin on POST /api/ctl ----
body = json.dumps({"cmd": "status"})
ct = {"Content-Type": "application/json"}
host = f"{u1.hostname}:{u1.port}"
for origin in ("http://evil.example", "null", f"https://{host}", f"http://{host}.evil.example"):
    st, text = req(u1, "POST", "/api/ctl", body, dict(ct, Origin=origin))
    check(st == 403 and "Origin" in text and origin in text and json.loads(text)["ok"] is False,
          f"Origin {origin}: {st} {text[:160]}")
st, text = req(u1, "POST", "/api/ctl", body, dict(ct, Origin=f"http://{host}"))
check(st == 200 and json.loads(text).get("ok") is True, f"this server's Origin: {st}")
st, text = req(u1, "POST", "/api/ctl", body, ct)
check(st == 200 and json.loads(text).get("ok") is True, f"no Origin (a script): {st}")

# ---- an event stream, open throughout ----
stream = {"last": time.monotonic(), "gap": 0.0, "bytes": 0, "open": True}
def read_stream():
    s = socket.create_connection((u1.hostname, u1.port))
    s.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    s.settimeout(10)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            now = time.monotonic()
            stream["gap"] = max(stream["gap"], now - stream["last"])
            stream["last"] = now
            stream["bytes"] += len(d)
    except OSError:
        pass
    stream["open"] = False
threading.Thread(target=read_stream, daemon=True).start()
time.sleep(1.0)

def idle(source, n=40):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(2)
        try:
            s.connect((u1.hostname, u1.port))
        except OSError:
            pass
        socks.append(s)
    return socks

def page_ok(source):
    try:
        return req(u1, "GET", "/", headers={"Host": host}, source=source, timeout=1.5)[0] == 200
    except OSError:
        return False

def locked_for(source, limit=20.0):
    t0 = time.monotonic()
    while not page_ok(source):
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.2)
    return time.monotonic() - t0

held = idle("127.0.0.2")
t = locked_for("127.0.0.1", 3)
check(t is not None and t < 1.0, f"40 idle connections from 127.0.0.2: 127.0.0.1 served after {t and round(t, 3)} s")
t2 = locked_for("127.0.0.2")
check(t2 is not None and t2 < 8.0, f"127.0.0.2 itself served again after {t2 and round(t2, 1)} s")
for s in held:
    s.close()
held = idle("127.0.0.1")
t3 = locked_for("127.0.0.1")
check(t3 is not None and t3 < 8.0, f"40 idle connections from 127.0.0.1: served again after {t3 and round(t3, 1)} s")
for s in held:
    s.close()
time.sleep(1.0)
check(stream["open"] and stream["bytes"] > 0 and stream["gap"] < 2.5,
      f"the event stream stayed open and fed ({stream['bytes']} bytes, longest silence "
      f"{stream['gap']:.1f} s)")
print(f"  figures: locked out 127.0.0.1 {t and round(t, 2)} s (other address idle), "
      f"127.0.0.2 {t2 and round(t2, 1)} s, 127.0.0.1 {t3 and round(t3, 1)} s (own idle)")

# ---- a listener on 127.0.0.2: its own address is a good Host ----
h2 = f"{u2.hostname}:{u2.port}"
st, _ = req(u2, "GET", "/", headers={"Host": h2})
check(st == 200, f"web.listen=127.0.0.2: Host {h2}: {st}")
st, _ = req(u2, "GET", "/", headers={"Host": "evil.example"})
check(st == 403, f"web.listen=127.0.0.2: Host evil.example: {st}")
sys.exit(1 if bad else 0)
PY
grep -q "web: 127.0.0.2 holds 8 connections that are not event streams" "$T/web.log" ||
    fail "no warning about the refused connections"
for p in $wpid $w2pid $dpid; do kill -TERM "$p"; done
for p in $wpid $w2pid $dpid; do wait "$p" || fail "a process exited $? on SIGTERM"; done
wpid= w2pid= dpid=
if grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T"/*.log; then
    fail "sanitizer report"
fi
echo "web_access: PASS"
