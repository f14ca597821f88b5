#!/usr/bin/env bash
# control_text.sh BUILD_DIR: text in control requests is measured in
# characters, shown safely, and always answered (issue 13).
#
#  - a label of 150 'é' (300 bytes) is 150 characters: accepted, and the
#    journal's mark holds it whole; 201 'é' are refused as "has 201
#    characters (allowed 1 .. 200)" (it said 402);
#  - U+2028 (line separator), U+0085 (NEL, a C1 control) and U+202E
#    (right-to-left override) in a label, in notes and in muscle are
#    refused as "contains character U+2028 (allowed: printable text)",
#    as the C0 controls are; nothing is journaled for them;
#  - `set` counts characters too (256 'é': "has 256 characters (limit
#    255)"), and says when a value fits in characters but not in the 255
#    bytes a value is stored in (200 'é': "takes 400 bytes");
#  - POST /api/ctl whose cmd is 63 ASCII characters and an 'é' (the cut at
#    64 bytes split the character, and the page got no HTTP answer): 403
#    with a JSON reply naming the command cut on a character boundary;
#  - `twitchd ctl status cmd=evil` (it sent {"cmd":"evil"}), `cmd:="evil"`,
#    `:=1` (it sent a key ":"), `=x` and a key given twice are usage
#    errors (64), nothing is sent.
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" control_text
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dpid= wpid=
cleanup() {
    local rc=$?
    for p in $dpid $wpid; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@"; }
# expect_err PATTERN CTL-ARGS...: the reply is ok:false and names PATTERN
expect_err() {
    local pat=$1 out rc=0
    shift
    out=$(ctl "$@" 2>/dev/null) || rc=$?
    [[ $rc -eq 1 ]] || fail "ctl $*: exited $rc, want 1 (reply: $out)"
    [[ $(jq -r .error <<<"$out") == *"$pat"* ]] || fail "ctl $*: reply '$out' lacks '$pat'"
}
rep() { local s= i; for ((i = 0; i < $2; i++)); do s+=$1; done; printf '%s' "$s"; }

"$TW" run -o input.source=synth -o input.pace=realtime -o journal.dir="$T/j" \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" -o record.mode=off \
    -o record.dir="$T/rec" >"$T/log" 2>&1 </dev/null &
dpid=$!
for _ in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done

# characters, not bytes
e150=$(rep é 150)
r=$(ctl mark label="$e150") || fail "a label of 150 'é': $r"
expect_err "'label' has 201 characters (allowed 1 .. 200)" mark label="$(rep é 201)"
expect_err "'muscle' has 65 characters (allowed 0 .. 64)" session.start subject=S1 muscle="$(rep é 65)"
r=$(ctl session.start subject=S1 muscle="$(rep é 64)" side="$(rep é 16)" notes="$(rep é 2000)") ||
    fail "session.start with 64, 16 and 2000 'é': $r"
ctl session.stop >/dev/null || fail "session.stop"
ok "lengths in characters: 150 'é' accepted, 201 refused as 201 characters; 64/16/2000 'é' in muscle/side/notes accepted"

# separators, C1 controls and bidi controls are not printable text
for c in $'\u2028' $'\u0085' $'\u202e' $'\u2029' $'\u200f'; do
    cp=$(printf '%s' "$c" | iconv -f UTF-8 -t UTF-32BE | od -An -tx1 | tr -d ' \n' | sed 's/^0*//')
    cp=$(printf 'U+%04X' "0x$cp")
    expect_err "'label' contains character $cp (allowed: printable text)" mark label="a${c}b"
    expect_err "'notes' contains character $cp (allowed: printable text)" session.start subject=S2 notes="x${c}"
    expect_err "'muscle' contains character $cp (allowed: printable text)" session.start subject=S2 muscle="${c}"
done
expect_err "'label' contains character 0x0a (allowed: printable text)" mark label=$'a\nb'
ok "U+2028, U+0085, U+202E, U+2029, U+200F refused in label, notes and muscle (as 0x0a is)"

# set: characters too
expect_err "ltr.min_turns=$(rep é 127): not a number" set ltr.min_turns="$(rep é 127)"
expect_err "set: the value of 'ltr.min_turns' takes 400 bytes (limit 255 bytes)" set ltr.min_turns="$(rep é 200)"
expect_err "set: the value of 'ltr.min_turns' has 256 characters (limit 255)" set ltr.min_turns="$(rep é 256)"
ok "set: 127 'é' pass the length checks; 200 take 400 bytes (a value is stored in 255); 256 are 256 characters"

# the journal: the 150-character label whole, none of the refused ones
n=$(cat "$T"/j/*.jsonl | jq -r 'select(.topic == "evt.mark") | .label' | grep -c . || true)
[[ $(cat "$T"/j/*.jsonl | jq -r 'select(.topic == "evt.mark") | .label' | head -n 1) == "$e150" ]] ||
    fail "the journal's mark is not the 150-character label"
[[ $n -eq 1 ]] || fail "$n marks journaled, want 1"
ok "journal: the 150-character label whole, nothing of the refused requests"

# the web server always answers, even when a cut would split a character
"$TW" web -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" -o web.root="$REPO/web" \
    -o web.listen=127.0.0.1:0 >"$T/web.log" 2>&1 </dev/null &
wpid=$!
url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$T/web.log" | head -n 1) && [[ -n $url ]] && break
    sleep 0.1
done
[[ -n $url ]] || fail "twitchd web did not start"
/usr/bin/python3 - "$url" <<'PY' || fail "web (above)"
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
for cmd in ("x" * 63 + "é", "x" * 62 + "€é", "é" * 40, "x" * 64 + "\u2028"):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("POST", "/api/ctl", json.dumps({"cmd": cmd}), {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read().decode("utf-8")
    j = json.loads(body)
    if r.status != 403 or j.get("ok") is not False or "cannot be sent from the web page" not in j["error"]:
        sys.exit(f"cmd of {len(cmd)} characters ({len(cmd.encode())} bytes): {r.status} {body}")
    print(f"  ok: cmd of {len(cmd)} characters, {len(cmd.encode())} bytes: {r.status} {j['error'][:90]}...")
PY

# ctl: what it would send must be a request
for a in cmd=evil cmd:='"evil"' :=1 =x "label=a label=b"; do
    rc=0
    # shellcheck disable=SC2086
    ctl status $a >"$T/out" 2>"$T/err" || rc=$?
    [[ $rc -eq 64 && ! -s $T/out ]] || fail "ctl status $a: exit $rc, want 64: $(cat "$T/out" "$T/err")"
    echo "  ctl status $a -> 64: $(cat "$T/err")"
done
ok "ctl: cmd=, cmd:=, an empty key and a key given twice are usage errors"

kill -TERM "$wpid" "$dpid"
wait "$wpid" || fail "web exited $?"
wait "$dpid" || fail "the daemon exited $?"
wpid= dpid=
echo "control_text: PASS"
