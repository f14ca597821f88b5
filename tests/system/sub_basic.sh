#!/usr/bin/env bash
# sub_basic.sh BUILD_DIR: `twitchd sub`, the reference subscriber, end to
# end against the real publisher (daemon/out/publish.c) driven by
# `BUILD_DIR/tests/test_publish --serve` (an sts heartbeat every 50 ms,
# a scripted burst on SIGUSR1; see the end of tests/unit/test_publish.c).
#
# Skipped (exit 0) while `twitchd sub --help` fails, i.e. until the
# command is wired into main.c.
#
# Checks:
#  - `twitchd sub --help` exits 0 with a "usage: twitchd sub" line on
#    stdout and nothing on stderr;
#  - usage errors (--count 0, --count without a value, --timeout x, an
#    unknown option, two endpoints, a bad transport) exit 64 with
#    nothing on stdout;
#  - --count N over TCP and over IPC prints exactly N lines, each a JSON
#    object with "topic": "sts", and exits 0;
#  - --timeout 0.5 with nothing arriving (an unused topic) exits 1 after
#    about 0.5 s, prints nothing, and says why on stderr;
#  - the burst, seen by a subscriber of everything with --samples and by
#    one of "evt.ltr" and "sts" only:
#      every line is one JSON object with the topic frame's "topic";
#      the header bytes are printed unchanged (evt.ltr lines equal what
#      the publisher sent); "topic" is added first when the header lacks
#      it (evt.epn); a header over several lines comes out on one line
#      (gap); sig.0 gets "payload_bytes": 16 and, with --samples only,
#      "samples": [0.5, -1.25, 0.003, 1234.5];
#      the filtered subscriber prints only evt.ltr and sts lines;
#      one with --final prints everything but the onset notice
#      (evt.start.ltr) and its cancellation (evt.cancel), which the
#      subscriber of everything prints;
#      a header that is not JSON (evt.bad) is reported on stderr, not
#      printed;
#      stderr holds exactly "sub: topic evt.ltr: 2 messages missing
#      (seq 1 -> 4)" and "sub: topic evt.ltr: seq 3 after 4 (repeated or
#      out of order)" and nothing about sts (its seq is continuous);
#  - SIGTERM and SIGINT end it with status 0;
#  - connected to two publishers at once (a comma-separated list), whose
#    streams differ, it follows the sequence numbers per stream: no gap
#    reported, one "new stream" notice.
set -euo pipefail

B=${1:?usage: sub_basic.sh BUILD_DIR}
TW="$B/twitchd"
SERVE="$B/tests/test_publish"
if ! "$TW" sub --help >/dev/null 2>&1; then
    echo "sub_basic: SKIP: '$TW sub --help' fails (twitchd sub is not wired into main.c yet)"
    exit 0
fi
[[ -x $SERVE ]] || { echo "FAIL: $SERVE is missing (make unit-bins)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to check the JSON" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

# wait_for FILE PATTERN SECONDS: until a line of FILE matches PATTERN (ERE).
wait_for() {
    local t=0
    until grep -qE "$2" "$1" 2>/dev/null; do
        sleep 0.05
        t=$((t + 1))
        ((t < $3 * 20)) || return 1
    done
}

echo "sub: --help"
rc=0
"$TW" sub --help >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 0)) || fail "sub --help: exit $rc"
grep -qE '^usage: twitchd sub( |$)' "$tmp/out" || fail "sub --help: no 'usage: twitchd sub' line"
[[ ! -s $tmp/err ]] || fail "sub --help wrote to stderr: $(cat "$tmp/err")"
ok

echo "sub: usage errors exit 64 with nothing on stdout"
for args in "--count 0" "--count" "--timeout x" "--bogus" "tcp://127.0.0.1:1 tcp://127.0.0.1:2" \
    "bad://x"; do
    rc=0
    # shellcheck disable=SC2086
    "$TW" sub $args >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    ((rc == 64)) || fail "sub $args: exit $rc, want 64 (stderr: $(cat "$tmp/err"))"
    [[ ! -s $tmp/out ]] || fail "sub $args: wrote to stdout: $(head -n 2 "$tmp/out")"
    [[ -s $tmp/err ]] || fail "sub $args: says nothing on stderr"
    ok "sub $args -> 64: $(head -n 1 "$tmp/err")"
done

echo "sub: starting the test publisher"
"$SERVE" --serve 120 --ipc "$tmp/pub.sock" >"$tmp/eps" 2>"$tmp/serve.err" &
serve_pid=$!
pids+=("$serve_pid")
wait_for "$tmp/eps" '^ipc://' 10 || fail "the test publisher did not start: $(cat "$tmp/serve.err")"
tcp=$(sed -n 1p "$tmp/eps")
ipc=$(sed -n 2p "$tmp/eps")
[[ $tcp == tcp://127.0.0.1:* && $ipc == "ipc://$tmp/pub.sock" ]] || fail "endpoints: '$tcp' '$ipc'"
ok "$tcp $ipc"

# check_sts FILE N: exactly N lines, each a JSON object with topic sts.
check_sts() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
want = int(sys.argv[2])
assert len(lines) == want, f"{len(lines)} lines, want {want}"
for l in lines:
    o = json.loads(l)
    assert isinstance(o, dict) and o.get("topic") == "sts", l
    assert o["v"] == 1 and isinstance(o["seq"], int), l
EOF
}

for ep in "$tcp" "$ipc"; do
    echo "sub: --count 3 $ep sts"
    rc=0
    timeout 20 "$TW" sub --count 3 "$ep" sts >"$tmp/out" 2>"$tmp/err" || rc=$?
    ((rc == 0)) || fail "sub --count 3 $ep: exit $rc: $(cat "$tmp/err")"
    check_sts "$tmp/out" 3 || fail "sub --count 3 $ep: output: $(cat "$tmp/out")"
    [[ ! -s $tmp/err ]] || fail "sub --count 3 $ep: stderr: $(cat "$tmp/err")"
    ok
done

echo "sub: --timeout 0.5 with nothing arriving exits 1"
rc=0
t0=$(date +%s.%N)
timeout 20 "$TW" sub --timeout 0.5 "$tcp" nosuch. >"$tmp/out" 2>"$tmp/err" || rc=$?
t1=$(date +%s.%N)
((rc == 1)) || fail "sub --timeout: exit $rc, want 1"
[[ ! -s $tmp/out ]] || fail "sub --timeout: wrote to stdout: $(cat "$tmp/out")"
grep -q "nothing received for 0.5 s" "$tmp/err" || fail "sub --timeout: stderr: $(cat "$tmp/err")"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.45 && b - a < 5) }' ||
    fail "sub --timeout 0.5 took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
ok

echo "sub: the burst, to a subscriber of everything and one of evt.ltr + sts"
"$TW" sub --samples "$tcp" >"$tmp/all" 2>"$tmp/all.err" &
all_pid=$!
pids+=("$all_pid")
"$TW" sub "$ipc" evt.ltr sts >"$tmp/flt" 2>"$tmp/flt.err" &
flt_pid=$!
pids+=("$flt_pid")
"$TW" sub --final "$tcp" >"$tmp/fin" 2>"$tmp/fin.err" &
fin_pid=$!
pids+=("$fin_pid")
wait_for "$tmp/all" '"topic":"sts"' 10 || fail "the subscriber of everything got no sts"
wait_for "$tmp/flt" '"topic":"sts"' 10 || fail "the filtered subscriber got no sts"
wait_for "$tmp/fin" '"topic":"sts"' 10 || fail "the --final subscriber got no sts"
kill -USR1 "$serve_pid"
wait_for "$tmp/all" '"topic":"gap"' 10 || fail "no gap line: $(grep -v '"sts"' "$tmp/all")"
wait_for "$tmp/flt" '"seq":3,"sample":50003' 10 || fail "filtered: not all evt.ltr: $(cat "$tmp/flt")"
wait_for "$tmp/fin" '"topic":"gap"' 10 || fail "--final: no gap line: $(grep -v '"sts"' "$tmp/fin")"
sleep 0.2
kill -TERM "$all_pid"
rc=0
wait "$all_pid" || rc=$?
((rc == 0)) || fail "sub: exit $rc after SIGTERM, want 0"
kill -INT "$flt_pid"
rc=0
wait "$flt_pid" || rc=$?
((rc == 0)) || fail "sub: exit $rc after SIGINT, want 0"
kill -TERM "$fin_pid"
rc=0
wait "$fin_pid" || rc=$?
((rc == 0)) || fail "sub --final: exit $rc after SIGTERM, want 0"
pids=("$serve_pid")

python3 - "$tmp/all" "$tmp/flt" "$tmp/fin" <<'EOF' || fail "burst output (above)"
import json, struct, sys

def lines(path):
    out = []
    for l in open(path).read().splitlines():
        o = json.loads(l)
        assert isinstance(o, dict) and "topic" in o, l
        out.append((l, o))
    return out

common = '"v":1,"stream":"5e7e000000000001",'
clock = ',"clock":{"sample":48000,"realtime":1718000000.25,"monotonic":100.5}'
want_ltr = ['{' + common + '"topic":"evt.ltr","seq":%d,"sample":%d' % (s, 50000 + i) + clock +
            ',"type":"ltr","channel":0,"offset_sample":%d,"peak_uv":1460.2}' % (50000 + i)
            for i, s in enumerate([0, 1, 4, 3])]

allm = lines(sys.argv[1])
ltr = [l for l, o in allm if o["topic"] == "evt.ltr"]
assert ltr == want_ltr, "evt.ltr lines differ:\n" + "\n".join(ltr)
epn = [l for l, o in allm if o["topic"] == "evt.epn"]
assert epn == ['{"topic":"evt.epn",' + common + '"seq":0,"sample":60000' + clock +
               ',"type":"epn","channel":1,"mepp_rate_hz":214.7}'], epn
sig = [o for l, o in allm if o["topic"] == "sig.0"]
assert len(sig) == 1 and sig[0]["payload_bytes"] == 16 and sig[0]["count"] == 4, sig
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
# each printed value reads back as the very float32 that was sent
assert [f32(x) for x in sig[0]["samples"]] == [f32(x) for x in (0.5, -1.25, 0.003, 1234.5)], sig
gap = [o for l, o in allm if o["topic"] == "gap"]
assert gap == [{"v": 1, "topic": "gap", "stream": "5e7e000000000001", "seq": 0,
                "sample": 70000, "cause": "ring full"}], gap
sts = [o["seq"] for l, o in allm if o["topic"] == "sts"]
assert sts == list(range(sts[0], sts[0] + len(sts))), sts

flt = lines(sys.argv[2])
assert {o["topic"] for l, o in flt} == {"sts", "evt.ltr"}, {o["topic"] for l, o in flt}
assert [l for l, o in flt if o["topic"] == "evt.ltr"] == want_ltr
start = [o for l, o in allm if o["topic"] == "evt.start.ltr"]
assert len(start) == 1 and start[0]["start"] is True, start
cancel = [o for l, o in allm if o["topic"] == "evt.cancel"]
assert len(cancel) == 1 and cancel[0]["id"] == start[0]["id"] == 7 and \
    cancel[0]["reason"] == "voluntary", cancel
fin = lines(sys.argv[3])
assert {o["topic"] for l, o in fin} == {o["topic"] for l, o in allm} - {"evt.start.ltr", "evt.cancel"}, \
    {o["topic"] for l, o in fin}
assert [l for l, o in fin if o["topic"] == "evt.ltr"] == want_ltr
print("  ok: %d lines (%d sts), %d filtered, %d final" % (len(allm), len(sts), len(flt), len(fin)))
EOF

cat >"$tmp/want.err" <<'EOF'
sub: topic evt.ltr: 2 messages missing (seq 1 -> 4)
sub: topic evt.ltr: seq 3 after 4 (repeated or out of order)
EOF
diff -u "$tmp/want.err" "$tmp/flt.err" >&2 || fail "stderr of the filtered subscriber differs (diff above)"
# the subscriber of everything also saw evt.bad (jansson's words vary)
grep -vE '^sub: topic evt\.bad: header is not a JSON object: .*: skipped$' "$tmp/all.err" >"$tmp/all.err2" || true
diff -u "$tmp/want.err" "$tmp/all.err2" >&2 || fail "stderr of the subscriber of everything differs (diff above)"
[[ $(grep -c 'evt\.bad' "$tmp/all.err") == 1 ]] || fail "no report of the bad header: $(cat "$tmp/all.err")"
if grep -q 'evt\.bad' "$tmp/all"; then fail "the bad header was printed on stdout"; fi
ok "sequence reports on stderr; a header that is not JSON is reported and skipped"

echo "sub: without --samples, sig.* lines carry payload_bytes only"
kill -USR1 "$serve_pid"
rc=0
timeout 20 "$TW" sub --count 1 "$tcp" sig. >"$tmp/out" 2>"$tmp/err" &
sig_pid=$!
pids+=("$sig_pid")
# the subscription needs time to propagate: keep asking for bursts
for _ in $(seq 1 100); do
    [[ -s $tmp/out ]] && break
    kill -USR1 "$serve_pid"
    sleep 0.1
done
wait "$sig_pid" || rc=$?
pids=("$serve_pid")
((rc == 0)) || fail "sub --count 1 sig.: exit $rc: $(cat "$tmp/err")"
python3 - "$tmp/out" <<'EOF' || fail "sig line without --samples: $(cat "$tmp/out")"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["topic"] == "sig.0" and o["payload_bytes"] == 16 and "samples" not in o, o
EOF
ok

echo "sub: two publishers (streams differ) on one comma-separated endpoint list"
"$SERVE" --serve 120 --stream 5e7e000000000002 >"$tmp/eps2" 2>"$tmp/serve2.err" &
pids+=("$!")
wait_for "$tmp/eps2" '^tcp://' 10 || fail "the second test publisher did not start: $(cat "$tmp/serve2.err")"
tcp2=$(sed -n 1p "$tmp/eps2")
rc=0
timeout 20 "$TW" sub --count 40 "$tcp,$tcp2" sts >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 0)) || fail "sub --count 40 $tcp,$tcp2: exit $rc: $(cat "$tmp/err")"
python3 - "$tmp/out" <<'EOF' || fail "two publishers: $(cat "$tmp/out")"
import json, sys
seqs = {}
for l in open(sys.argv[1]):
    o = json.loads(l)
    seqs.setdefault(o["stream"], []).append(o["seq"])
assert set(seqs) == {"5e7e000000000001", "5e7e000000000002"}, seqs.keys()
for s, v in seqs.items():
    assert v == list(range(v[0], v[0] + len(v))), (s, v)
EOF
# one notice for the second stream, no gap reports
if [[ $(wc -l <"$tmp/err") != 1 ]] ||
    ! grep -qE '^sub: new stream "5e7e00000000000[12]": a publisher \(re\)started' "$tmp/err"; then
    fail "two publishers: stderr: $(cat "$tmp/err")"
fi
ok "$(cat "$tmp/err")"

echo "sub: PASS"
