#!/usr/bin/env bash
# curve.sh BUILD_DIR: CURVE encryption with a ZAP allowlist on the publish
# and control sockets (daemon/net/curve.c), `twitchd keygen`, and the client
# options of `twitchd sub` and `twitchd ctl`.
#
# Checks:
#  - keygen writes NAME.key (mode 0600) and NAME.pub, prints the public
#    key, refuses to overwrite (exit 73);
#  - a bad allowlist line, an empty allowlist, a missing key file: the
#    daemon refuses to start (exit 78) naming file and line;
#  - with curve.enable: a listed client receives sts and at least one
#    full event record (evt.ltr or evt.epn: heartbeats alone do not
#    pass; the synthetic source makes 60 LTRs a minute), and its ctl
#    requests are answered; a client with the right server key but
#    not listed receives nothing and its ctl exits 77 ("refused"); a
#    plain-text client receives nothing and its ctl exits 77; a listed
#    client with a wrong server key gets nothing either;
#  - the refusals are logged, at most once per key per 10 s (no flood
#    from a client that keeps reconnecting);
#  - what the listed subscriber received is what the journal holds (each
#    full event it got, at least one, is a journal line);
#  - no exposure warning: both sockets are CURVE servers.
set -euo pipefail

B=${1:?usage: curve.sh BUILD_DIR}
TW="$(cd "$B" && pwd)/twitchd"
T=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $T/log ]] && sed 's/^/  daemon: /' "$T/log" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

cd "$T"
out=$("$TW" keygen server alice mallory) || fail "keygen: $out"
[[ $(stat -c %a server.key) == 600 && -f alice.pub && $out == *"alice.pub public = "* ]] || fail "keygen files: $out"
rc=0; "$TW" keygen alice 2>/dev/null || rc=$?
[[ $rc -eq 73 ]] || fail "keygen over an existing key: exit $rc, want 73"
"$TW" keygen other >/dev/null
ok "keygen"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PUB="tcp://127.0.0.1:$(free_port)"
CTL="tcp://127.0.0.1:$(free_port)"
# (exec: in the background subshell the daemon itself gets the PID)
run() {
    exec "$TW" run -o input.source=synth -o input.pace=realtime -o synth.ltr_per_min=60 \
        -o journal.dir="$T/j" -o publish.endpoint="$PUB" -o control.endpoint="$CTL" \
        -o record.mode=off -o publish.heartbeat_s=0.25 -o curve.enable=true \
        -o curve.key_file="$T/server.key" "$@"
}

# configuration errors
printf '# clients\n%s\nnot a key\n' "$(grep "^public" alice.pub)" >bad.allow
rc=0; (run -o curve.allowlist="$T/bad.allow") >err.log 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "bad.allow:3: not a public key" err.log || fail "bad allowlist line: exit $rc: $(cat err.log)"
printf '# nobody\n' >empty.allow
rc=0; (run -o curve.allowlist="$T/empty.allow") >err.log 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "holds no key" err.log || fail "empty allowlist: exit $rc: $(cat err.log)"
rc=0; (run -o curve.allowlist="$T/alice.pub" -o curve.key_file="$T/nope.key") >err.log 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "nope.key" err.log || fail "missing key file: exit $rc: $(cat err.log)"
ok "configuration errors name the file and line (exit 78)"

# the allowlist: alice, as a copied .pub file plus a bare key line with a comment
{ cat alice.pub; grep "^public" other.pub | sed 's/public = //; s/$/   # the other client/'; } >allow
run -o curve.allowlist="$T/allow" >log 2>&1 &
pid=$!
for _ in $(seq 100); do
    "$TW" ctl -e "$CTL" -S server.pub -K alice.key -t 300 status >/dev/null 2>&1 && break
    sleep 0.1
done
r=$("$TW" ctl -e "$CTL" -S server.pub -K alice.key status) || fail "listed ctl: $r"
r=$("$TW" ctl -e "$CTL" -S server.pub -K other.key mark label=hello) || fail "listed ctl (bare key line): $r"
ok "a listed client's control requests are answered"

# the listed subscriber runs until it has a full event record (heartbeats
# alone would not show that events get through)
"$TW" sub --timeout 10 --curve-server server.pub --curve-key alice.key "$PUB" sts evt. >alice.out 2>alice.err &
alice=$!
full_event() { grep -qE '"topic":"evt\.(ltr|epn)"' alice.out; }
for _ in $(seq 600); do full_event && break; kill -0 "$alice" 2>/dev/null || break; sleep 0.05; done
full_event || { kill "$alice" 2>/dev/null; fail "listed subscriber got no event within 30 s: $(cat alice.out alice.err)"; }
kill -TERM "$alice"; wait "$alice" || fail "listed subscriber exit $? (SIGTERM: want 0)"
grep -q '"topic":"sts"' alice.out || fail "listed subscriber got no sts"
rc=0; "$TW" sub --count 1 --timeout 2 --curve-server server.pub --curve-key mallory.key "$PUB" >mallory.out 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "unlisted subscriber: exit $rc, want 1 (nothing received): $(cat mallory.out)"
rc=0; "$TW" sub --count 1 --timeout 2 "$PUB" >plain.out 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "plain subscriber: exit $rc, want 1 (nothing received)"
rc=0; "$TW" sub --count 1 --timeout 2 --curve-server mallory.pub --curve-key alice.key "$PUB" >wrong.out 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "listed client with the wrong server key: exit $rc, want 1"
ok "listed subscriber receives sts and events ($(grep -cE '"topic":"evt\.(ltr|epn)"' alice.out) full records); unlisted, plain-text and wrong-server-key subscribers get nothing"

rc=0; "$TW" ctl -e "$CTL" -S server.pub -K mallory.key -t 3000 mark label=intruder >c.out 2>&1 || rc=$?
[[ $rc -eq 77 ]] && grep -q "refused this client" c.out || fail "unlisted ctl: exit $rc: $(cat c.out)"
rc=0; "$TW" ctl -e "$CTL" -t 3000 mark label=plain >c.out 2>&1 || rc=$?
[[ $rc -eq 77 || $rc -eq 69 ]] || fail "plain ctl: exit $rc: $(cat c.out)"
ok "unlisted and plain-text control requests are refused (exit $rc for plain text)"

kill -TERM "$pid"; wait "$pid" || fail "daemon exit status $?"
pid=
python3 - "$T/alice.out" "$T/j" <<'EOF' || fail "the listed subscriber's events are not the journal's"
import glob, json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
journal = {(j["topic"], j["seq"]) for f in glob.glob(sys.argv[2] + "/*.jsonl") for l in open(f)
           for j in [json.loads(l)]}
evts = [(g["topic"], g["seq"]) for g in got if g["topic"] in ("evt.ltr", "evt.epn")]
assert evts and all(e in journal for e in evts), evts
marks = [j for f in glob.glob(sys.argv[2] + "/*.jsonl") for l in open(f) for j in [json.loads(l)]
         if j["topic"] == "evt.mark"]
assert [m["label"] for m in marks] == ["hello"], marks  # the intruder's marks never got in
print("  ok: %d messages received by alice; the journal has only the listed client's mark" % len(got))
EOF
n=$(grep -c "curve: refused a client with key" log || true)
(( n >= 1 && n <= 4 )) || fail "refusals logged $n times (want 1..4: once per key per 10 s)"
grep -E "warning: (publish|control): endpoint" log && fail "exposure warning with CURVE on"
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" log && fail "sanitizer report"
ok "refusals logged $n times"
echo "curve: PASS"
