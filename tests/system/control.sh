#!/usr/bin/env bash
# control.sh BUILD_DIR: the control socket (daemon/net/control.c,
# daemon/engine/engine_cmds.c) and its client `twitchd ctl`, against the live daemon
# on the synthetic source. Every command, and its errors.
#
# Checks:
#  - the ipc socket file has mode 0660 and is removed at exit;
#  - `twitchd ctl --help` exits 0; usage errors exit 64; no daemon on the
#    endpoint: exit 69 within the timeout;
#  - status: ok, with rate, samples, channels, session null;
#  - session.start: refused without subject, with a subject that could
#    leave the directory ("../x") or is too long, with an unknown key, and
#    while a session is open; accepted otherwise (id, recording path);
#  - mark: refused without label; accepted, sample grows; insertion with
#    and without label; recalibrate (noise_uv_before per channel);
#  - set: a detector key in range (ok, "set" echoes it); out of range
#    (names key and range); unknown key; a key that cannot change at run
#    time; not SECTION.KEY; nothing to set; a value over 255 characters
#    ("5<300 spaces>garbage", whose first 255 characters would parse as 5)
#    refused naming the key and the limit, no setting changed (all or
#    nothing); a value of exactly 255 characters accepted;
#  - snapshot: config, channels, seqs, the last N journaled records (N
#    asked), N out of range refused;
#  - session.stop: summary with the marks and insertions sent; a second
#    stop refused;
#  - malformed requests (not JSON, an array, no cmd, cmd not a string,
#    unknown command, duplicate keys, binary bytes, empty, over
#    control.max_request_bytes: 5000 bytes, 1.5 MiB, exactly 2 MiB, the
#    socket's bound): each gets {"ok": false, "error": ...} naming the
#    problem, and the daemon answers status afterwards;
#  - a message over the socket's bound (2 MiB + 1 byte) gets no reply
#    (libzmq drops that connection: docs/protocol.md), and the daemon
#    goes on answering the next client;
#  - the journal holds the marks, insertions, settings and sessions
#    (nothing lost), every line parses, and marks during the session carry
#    its id;
#  - recalibrate measures the noise floor afresh: a second daemon reads a
#    file whose noise rises from 3 to 15 uV after 3 s, with a noise floor
#    that remembers 1000 windows (100 s), so that on its own it keeps the
#    quiet level for about 12 s more. 1.5 s into the loud part status
#    still reports the quiet floor and recalibrate's noise_uv_before is
#    that floor; 1 s of input after the recalibration, status and snapshot
#    report a floor at least 3 x higher (a recalibrate that did nothing
#    fails here);
#  - session.stop waits for the events begun before the stop: with
#    ltr.max_ms = 5000 (a stop then takes 5.3 s of input) and
#    control.timeout_ms = 500, the stop is answered "the daemon is busy",
#    a second stop meanwhile "the session is already stopping", and the
#    session still closes by itself (status: session null; the journal's
#    evt.session stop record and the summary file are there); a third
#    stop: "no session is open";
#  - `twitchd ctl` exit 78 for a configuration file it cannot use (a bad
#    line; control.endpoint empty), 64 for a bad --timeout.
set -euo pipefail

B=${1:?usage: control.sh BUILD_DIR}
TW="$B/twitchd"
ZREQ="$B/tools/zreq"
[[ -x $ZREQ ]] || { echo "FAIL: $ZREQ missing (make unit-bins)" >&2; exit 1; }

T=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $T/log ]] && sed 's/^/  daemon: /' "$T/log" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@"; }
# expect_err PATTERN CTL-ARGS...: the reply is ok:false and names PATTERN
expect_err() {
    local pat=$1 out rc=0
    shift
    out=$(ctl "$@" 2>/dev/null) || rc=$?
    [[ $rc -eq 1 ]] || fail "ctl $* exited $rc, want 1 (reply: $out)"
    [[ $out == *'"ok":false'* && $out == *"$pat"* ]] || fail "ctl $*: reply '$out' lacks '$pat'"
}
# raw_err PATTERN: stdin sent as is; the reply is ok:false naming PATTERN
raw_err() {
    local out
    out=$("$ZREQ" "$EP" 5000) || fail "no reply to a raw request (want one naming '$1')"
    [[ $out == *'"ok":false'* && $out == *"$1"* ]] || fail "raw request: reply '$out' lacks '$1'"
}
field() { /usr/bin/env python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

# client side first: help, usage, nobody listening
"$TW" ctl --help | grep -q "usage: twitchd ctl" || fail "ctl --help"
rc=0; "$TW" ctl -e "$EP" >/dev/null 2>&1 || rc=$?; [[ $rc -eq 64 ]] || fail "ctl without COMMAND: exit $rc, want 64"
rc=0; "$TW" ctl -e "$EP" mark label >/dev/null 2>&1 || rc=$?; [[ $rc -eq 64 ]] || fail "ctl 'label' without '=': exit $rc, want 64"
rc=0; "$TW" ctl -e "$EP" -t 300 status >/dev/null 2>&1 || rc=$?; [[ $rc -eq 69 ]] || fail "ctl with no daemon: exit $rc, want 69"
rc=0; "$TW" ctl -e "$EP" -t 0 status >/dev/null 2>&1 || rc=$?; [[ $rc -eq 64 ]] || fail "ctl -t 0: exit $rc, want 64"
printf '[control]\nendpoint = ipc://%s/x\nmax_request_bytes = 1\n' "$T" >"$T/bad.conf"
rc=0; "$TW" ctl -c "$T/bad.conf" status >"$T/c.out" 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "max_request_bytes" "$T/c.out" || fail "ctl with a bad configuration file: exit $rc, want 78: $(cat "$T/c.out")"
printf '[control]\nendpoint =\n' >"$T/noctl.conf"
rc=0; "$TW" ctl -c "$T/noctl.conf" status >"$T/c.out" 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "control.endpoint is empty" "$T/c.out" || fail "ctl with control.endpoint empty: exit $rc, want 78: $(cat "$T/c.out")"
ok "ctl help, usage errors (64), configuration errors (78), no daemon (69)"

"$TW" run -o input.source=synth -o input.pace=realtime -o input.channels=2 \
    -o synth.ltr_per_min=20 -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" \
    -o control.endpoint="$EP" -o record.dir="$T/rec" -o record.mode=off \
    -o control.max_request_bytes=4096 >"$T/log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
st=$(ctl status) || fail "status: $st"
[[ $(stat -c %a "$T/ctl") == 660 ]] || fail "control socket mode $(stat -c %a "$T/ctl"), want 660"
[[ $(field "$st" 'd["rate"] == 48000 and d["samples"] > 0 and len(d["channels"]) == 2 and d["session"] is None') == True ]] \
    || fail "status reply: $st"
ok "status; socket mode 0660"

expect_err "'subject' is required" session.start muscle=deltoid
expect_err "contains character 0x2f" session.start subject=../x
expect_err "has 65 characters (allowed 1 .. 64)" session.start subject=$(printf 'a%.0s' $(seq 65))
expect_err "unknown key 'colour'" session.start subject=S1 colour=red
r=$(ctl session.start subject=S01 muscle=trapezius side=left notes="first, test") || fail "session.start: $r"
sid=$(field "$r" 'd["session"]')
[[ $sid == *-S01 ]] || fail "session id '$sid'"
[[ $(field "$r" 'd["recording"]') == None ]] || fail "record.mode=off, yet recording: $r"
expect_err "is open" session.start subject=S02
ok "session.start and its errors"

expect_err "'label' is required" mark
m1=$(ctl mark label="needle in") || fail "mark: $m1"
sleep 0.3
m2=$(ctl mark label="distal needling") || fail "mark 2: $m2"
s1=$(field "$m1" 'd["sample"]'); s2=$(field "$m2" 'd["sample"]')
(( s2 > s1 )) || fail "mark samples $s1 then $s2"
[[ $(field "$m1" 'd["session"]') == "$sid" ]] || fail "mark reply lacks the session: $m1"
i1=$(ctl insertion label="foot switch") || fail "insertion: $i1"
i2=$(ctl insertion) || fail "insertion without label: $i2"
rc=$(ctl recalibrate) || fail "recalibrate: $rc"
[[ $(field "$rc" 'len(d["noise_uv_before"])') == 2 ]] || fail "recalibrate: $rc"
ok "mark, insertion, recalibrate"

r=$(ctl set ltr.min_turns:=8 epn.confirm_ms:=200) || fail "set: $r"
[[ $(field "$r" 'd["set"]') == "{'ltr.min_turns': '8', 'epn.confirm_ms': '200'}" ]] || fail "set reply: $r"
expect_err "ltr.min_turns=5000: out of range (allowed 0 .. 1000 turns)" set ltr.min_turns:=5000
expect_err "unknown key 'ltr.colour'" set ltr.colour:=1
expect_err "cannot change at run time" set input.rate:=1000
expect_err "is not SECTION.KEY" set turns:=3
expect_err "give at least one SECTION.KEY" set
# cross-key checks, as in the configuration file, all or nothing: the
# valid ltr.max_ms beside the bad pair is not applied either
expect_err "set: ltr.min_ms '400' must be below ltr.max_ms '400'" set ltr.min_ms:=400
expect_err "set: ltr.min_ms '30' must be below ltr.max_ms '20'" set ltr.max_ms:=20 ltr.min_ms:=30
r=$(ctl snapshot events:=0) || fail "snapshot: $r"
[[ $(field "$r" 'd["config"]["ltr"]["max_ms"]') == 400 ]] || fail "a refused set changed ltr.max_ms: $r"
r=$(ctl snapshot events:=3) || fail "snapshot: $r"
[[ $(field "$r" 'len(d["events"]) == 3 and d["config"]["ltr"]["min_turns"] == "8" and "evt.mark" in d["seqs"] and len(d["channels"]) == 2 and d["session"] == "'"$sid"'"') == True ]] \
    || fail "snapshot reply: $r"
# (an event may be journaled between the set and the snapshot: the last
# mark, not the last record, is the set's)
r=$(ctl snapshot events:=1000) || fail "snapshot: $r"
[[ $(field "$r" '[e["type"] for e in d["events"] if e["topic"] == "evt.mark"][-1]') == set ]] \
    || fail "snapshot: the last mark is not the set: $r"
expect_err "'events' = 5000 (allowed 0 .. 1000)" snapshot events:=5000
# over-long values are refused, not cut: the first 255 characters of this
# one ("5" and spaces) would parse as 5
pad() { printf "%${1}s" ""; }
expect_err "set: the value of 'ltr.min_turns' has 308 characters (limit 255)" \
    set ltr.min_turns="5$(pad 300)garbage"
expect_err "set: the value of 'epn.confirm_ms' has 256 characters (limit 255)" \
    set ltr.min_turns:=9 epn.confirm_ms="3$(pad 255)"
r=$(ctl snapshot events:=0) || fail "snapshot: $r"
[[ $(field "$r" 'd["config"]["ltr"]["min_turns"], d["config"]["epn"]["confirm_ms"]') == "('8', '200')" ]] \
    || fail "a refused over-long set changed a setting: $r"
r=$(ctl set ltr.min_turns="6$(pad 254)") || fail "a value of exactly 255 characters was refused: $r"
r=$(ctl snapshot events:=0) || fail "snapshot: $r"
[[ $(field "$r" 'd["config"]["ltr"]["min_turns"]') == 6 ]] || fail "min_turns after set 6: $r"
ok "set and its errors (over-long values refused, nothing changed); snapshot"

printf '{"cmd": "status"' | raw_err "not valid JSON"
printf '[1, 2]' | raw_err "must be a JSON object"
printf '{"label": "x"}' | raw_err 'has no \"cmd\"'
printf '{"cmd": 7}' | raw_err 'must be a string'
printf '{"cmd": "reboot"}' | raw_err "unknown command 'reboot'"
printf '{"cmd": "mark", "label": "a", "label": "b"}' | raw_err "duplicate"
printf '\x00\xff\xfe binary' | raw_err "not valid JSON"
printf '' | raw_err "not valid JSON"
printf '{"cmd": "mark", "label": 5}' | raw_err "'label' must be a string"
head -c 5000 /dev/zero | tr '\0' ' ' | raw_err "request of 5000 bytes is too large (limit 4096)"
# far over the limit, up to the socket's bound (2 MiB): still a reply
head -c $((3 << 19)) /dev/zero | tr '\0' ' ' | raw_err "request of 1572864 bytes is too large (limit 4096)"
head -c $((2 << 20)) /dev/zero | tr '\0' ' ' | raw_err "request of 2097152 bytes is too large (limit 4096)"
ctl status >/dev/null || fail "the daemon stopped answering after malformed requests"
ok "malformed and oversized requests (up to 2 MiB) get error replies; the daemon goes on"
# beyond the bound libzmq drops the connection before reading the message:
# no reply, and the next client is served
rc=0; head -c $(((2 << 20) + 1)) /dev/zero | tr '\0' ' ' | "$ZREQ" "$EP" 1500 >"$T/big.out" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "a message over 2 MiB: zreq exit $rc, want 1 (no reply): $(cat "$T/big.out")"
r=$(ctl status) || fail "no answer after a message over 2 MiB: $r"
r=$(ctl snapshot events:=1) || fail "no snapshot after a message over 2 MiB: $r"
ok "a message over 2 MiB gets no reply (connection dropped); the daemon answers the next client"

r=$(ctl session.stop) || fail "session.stop: $r"
[[ $(field "$r" '[m["label"] for m in d["summary"]["marks"]]') == "['needle in', 'distal needling']" ]] || fail "summary marks: $r"
[[ $(field "$r" '[m["label"] for m in d["summary"]["insertions"]]') == "['foot switch', None]" ]] || fail "summary insertions: $r"
[[ -f $T/rec/$sid.summary.json ]] || fail "no $T/rec/$sid.summary.json"
expect_err "no session is open" session.stop
ok "session.stop; summary file"

kill -TERM "$pid"; wait "$pid" || fail "daemon exit status $?"
pid=
[[ ! -e $T/ctl ]] || fail "control socket file left behind"
/usr/bin/env python3 - "$T/j" "$sid" <<'EOF' || fail "journal check"
import glob, json, sys
lines = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
sid = sys.argv[2]
marks = [l for l in lines if l["topic"] == "evt.mark"]
kinds = [m["type"] for m in marks]
assert kinds.count("mark") == 2 and kinds.count("recalibrate") == 1 and kinds.count("set") == 2, kinds
assert all(m.get("session") == sid for m in marks), marks
ins = [l for l in lines if l["topic"] == "evt.insertion"]
assert len(ins) == 2 and all(i.get("session") == sid for i in ins), ins
ses = [l for l in lines if l["topic"] == "evt.session"]
assert [s["state"] for s in ses] == ["start", "stop"] and all(s["id"] == sid for s in ses), ses
print("  journal: %d lines, %d marks, %d insertions, session start/stop" % (len(lines), len(marks), len(ins)))
EOF
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" && fail "sanitizer report"
ok "journal holds every record; socket removed at exit"

# recalibrate: the noise floor is measured afresh. The input: 3 s of 3 uV
# noise, then 20 s of 15 uV (nothing else: no mains, no events).
Q=(-o mains_uv=0 -o pink_uv=0 -o wander_uv=0 -o epn_per_min=0 -o ltr_per_min=0 -o insertion_per_min=0
   -o voluntary_per_min=0 -o flinch_per_min=0 -o pop_per_min=0 -o fib_per_min=0 -o format=int16)
"$TW" synth --seed 7 --seconds 3 "${Q[@]}" -o noise_uv=3 "$T/quiet.wav" 2>/dev/null || fail "synth quiet"
"$TW" synth --seed 8 --seconds 20 "${Q[@]}" -o noise_uv=15 "$T/loud.wav" 2>/dev/null || fail "synth loud"
python3 - "$T/quiet.wav" "$T/loud.wav" "$T/steps.wav" <<'PY' || fail "cannot join the two files"
import sys, wave
a, b = wave.open(sys.argv[1]), wave.open(sys.argv[2])
o = wave.open(sys.argv[3], "wb")
o.setparams(a.getparams())
for f in (a, b):
    o.writeframes(f.readframes(f.getnframes()))
o.close()
PY
"$TW" run -o input.source=file -o input.path="$T/steps.wav" -o input.pace=realtime \
    -o detect.floor_history=1000 -o journal.dir="$T/j2" -o publish.endpoint="ipc://$T/pub2" \
    -o control.endpoint="$EP" -o record.mode=off >"$T/log" 2>&1 &
pid=$!
# wait_samples N: until the daemon has processed N samples (input time,
# not wall time: a loaded machine only makes it slower)
wait_samples() {
    local st
    for _ in $(seq 300); do
        st=$(ctl -t 1000 status 2>/dev/null) && (( $(field "$st" 'd["samples"]') >= $1 )) && return 0
        sleep 0.1
    done
    fail "the daemon did not reach sample $1"
}
noise() { field "$(ctl "$@")" 'd["channels"][0]["noise_uv"]'; }
wait_samples $((48000 * 9 / 2))    # 1.5 s into the loud part
quiet=$(noise status)
r=$(ctl recalibrate) || fail "recalibrate: $r"
before=$(field "$r" 'd["noise_uv_before"][0]')
rs=$(field "$r" 'd["sample"]')
(( rs < 48000 * 10 )) || fail "recalibrate came too late (sample $rs): the floor could have adapted by itself"
wait_samples $((rs + 48000))       # 1 s of input after the recalibration
after=$(noise status)
snap=$(noise snapshot events:=0)
python3 - "$quiet" "$before" "$after" "$snap" <<'PY' ||
import sys
quiet, before, after, snap = map(float, sys.argv[1:])
assert 0 < quiet < 2.0, "the floor followed the loud part on its own: no test"
assert abs(before - quiet) <= 0.2 * quiet, "noise_uv_before is not the floor in use"
assert after >= 3 * before and snap >= 3 * before, "not re-measured"
PY
    fail "recalibrate: floor $quiet uV (reply: $before), then $after (snapshot $snap): not measured afresh"
kill -TERM "$pid"; wait "$pid" || fail "daemon exit status $?"
pid=
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" && fail "sanitizer report"
ok "recalibrate: noise floor $quiet uV (1.5 s after the input rose from 3 to 15 uV), $after uV 1 s after recalibrate"

# session.stop answers once the events begun before the stop are final:
# here that takes longer than control.timeout_ms
"$TW" run -o input.source=synth -o input.pace=realtime -o journal.dir="$T/j3" \
    -o publish.endpoint="ipc://$T/pub3" -o control.endpoint="$EP" -o record.mode=off \
    -o record.dir="$T/rec3" -o control.timeout_ms=500 -o ltr.max_ms=5000 >"$T/log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
r=$(ctl session.start subject=S03) || fail "session.start: $r"
sid3=$(field "$r" 'd["session"]')
expect_err "session.stop: the daemon is busy (no answer from the DSP thread)" session.stop
expect_err "session.stop: the session is already stopping" session.stop
for _ in $(seq 150); do
    st=$(ctl status) && [[ $(field "$st" 'd["session"]') == None ]] && break
    sleep 0.1
done
[[ $(field "$st" 'd["session"]') == None ]] || fail "the stopping session never closed: $st"
expect_err "session.stop: no session is open" session.stop
[[ -f $T/rec3/$sid3.summary.json ]] || fail "no summary for the session whose stop was answered busy"
kill -TERM "$pid"; wait "$pid" || fail "daemon exit status $?"
pid=
grep -h '"topic":"evt.session"' "$T"/j3/*.jsonl | grep -q '"state":"stop"' || fail "no evt.session stop record"
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" && fail "sanitizer report"
ok "session.stop longer than control.timeout_ms: busy, then 'already stopping', then closed by itself"
echo "control: PASS"
