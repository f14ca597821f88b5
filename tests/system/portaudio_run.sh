#!/usr/bin/env bash
# portaudio_run.sh BUILD_DIR: `twitchd run` with input.source = portaudio
# through the real PortAudio -> ALSA path (tests/data/alsa-tier1.conf:
# the ALSA file plugin, no sound card; it runs about 1000x faster than
# real time, so the ring overflows and gaps are logged: expected here).
#
# Gaps longer than 1 s restart the pipeline at the new index instead of
# being filled (daemon/engine/engine.c gap()), so the DSP thread keeps up.
#
# Checks:
#  - the daemon starts on emg_test ("input: ALSA: emg_test (index 0),
#    48000 Hz, 1 ch, float32" on stderr), runs 1.5 s without a device
#    error, and SIGTERM ends it with status 0;
#  - a device that goes away and comes back, mid-stream, with events
#    flowing: 30 s of synthetic EMG (LTRs, EPN; raw float32) through the
#    ALSA file plugin paced at real time by a JACK server with the dummy
#    driver (docs/testing-without-hardware.md, tier 2: the ALSA configuration is
#    written here; jackd2 needed), and
#    tests/data/enodev_shim.c, compiled here (skipped without cc) and
#    preloaded, makes ALSA return -ENODEV from 3 s to 5 s after capture
#    started. `twitchd sub` (evt., gap, sts) is connected throughout.
#    - the source reports "the stream stopped by itself (device lost?)",
#      the daemon restarts it ("input: back after"), and once the device
#      is back the failures stop (the count of those lines no longer
#      grows); `twitchd ctl status` says "device lost" while it lasts and
#      "running" after; SIGTERM -> status 0;
#    - loses no journal line: every line parses; per topic the journal's
#      seqs are 0..n-1; every evt.ltr/evt.epn/gap line the subscriber got
#      is a journal line byte for byte, and from its first one on it got
#      every one the journal has (no hole); events are journaled (and
#      received) before and after the outage;
#    - exactly one "device restart" gap record, which the subscriber got;
#      its size matches the outage: 1.8 .. 3 s for the shim's 2 s, at
#      least as long as the heartbeats said "device lost" (their samples
#      frozen meanwhile), and samples/rate - uptime is the same (within
#      0.25 s) before and after, i.e. the sample index stays true to the
#      wall clock (if an input overflow, which loses an unknown count,
#      fell in between: only that the index did not get ahead).
set -euo pipefail

B=${1:?usage: portaudio_run.sh BUILD_DIR}
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/../data/alsa-tier1.conf"
SHIM_SRC="$here/../data/enodev_shim.c"
. "$here/lib/jack.bash"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }

tmp=$(mktemp -d)
pid= spid=
cleanup() {
    local p
    for p in "$pid" "$spid"; do
        [[ -n $p ]] || continue
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    tw_jack_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
export ALSA_CONFIG_PATH="$CONF" JACK_NO_START_SERVER=1
# 10 s of silence, float32 mono (the last buffer repeats after its end)
head -c $((48000 * 4 * 10)) /dev/zero >"$tmp/fixture.raw"
export EMG_TEST_INFILE="$tmp/fixture.raw"

fail() {
    echo "FAIL: $*" >&2
    [[ -s $tmp/err ]] && { echo "--- stderr (without libjack noise):" >&2; real_err | tail -40 >&2; }
    exit 1
}
ok() { echo "  ok${1:+: $1}"; }
real_err() {
    grep -vE "$TW_JACK_NOISE" "$tmp/err" || true
}
lost_count() { grep -c 'the stream stopped by itself (device lost?)' "$tmp/err" || true; }

# wait_for PATTERN SECONDS: until a line of stderr matches PATTERN (ERE).
wait_for() {
    local t=0
    until grep -qE "$1" "$tmp/err" 2>/dev/null; do
        sleep 0.05
        t=$((t + 1))
        ((t < $2 * 20)) || return 1
    done
}

start_daemon() {
    rm -rf "$tmp/journal"
    "$TW" run -o input.source=portaudio -o input.device=emg_test -o input.channels=1 \
        -o "journal.dir=$tmp/journal" -o "publish.endpoint=ipc://$tmp/pub" -o record.mode=off \
        >"$tmp/out" 2>"$tmp/err" </dev/null &
    pid=$!
}

stop_daemon() {
    kill -TERM "$pid"
    local t=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.05
        t=$((t + 1))
        ((t < 200)) || fail "the daemon did not stop within 10 s of SIGTERM"
    done
    rc=0
    wait "$pid" || rc=$?
    pid=
}

echo "run on emg_test, SIGTERM"
start_daemon
wait_for 'input: ALSA: emg_test \(index 0\), 48000 Hz, 1 ch, float32' 10 ||
    fail "no 'input: ALSA: emg_test ...' line"
sleep 1.5
kill -0 "$pid" 2>/dev/null || fail "the daemon exited by itself"
(($(lost_count) == 0)) || fail "a device error without a reason"
stop_daemon
((rc == 0)) || fail "exit $rc after SIGTERM, want 0"
ok

echo "run with the device lost from 3 s to 5 s (real-time pace, events flowing, a subscriber connected)"
if ! command -v cc >/dev/null 2>&1; then
    echo "  SKIP: cc not found: cannot build the device-loss shim"
else
    tw_jack_need
    cc -shared -fPIC -O1 -o "$tmp/enodev_shim.so" "$SHIM_SRC" -lasound -ldl ||
        fail "cannot compile $SHIM_SRC"
    # the fixture: 30 s of synthetic EMG with LTRs and EPN, raw float32 (as
    # tests/system/daemon_portaudio.sh builds it)
    "$TW" synth --seed 23 --seconds 30 -o ltr_per_min=40 -o epn_per_min=6 -o guard_s=0.5 \
        "$tmp/events.wav" 2>/dev/null || fail "twitchd synth"
    python3 - "$tmp/events.wav" "$tmp/events.raw" <<'PY' || fail "cannot make the raw fixture"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"RIFF" and d[8:12] == b"WAVE"
i = 12
while i < len(d):
    cid, n = d[i:i + 4], struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"data":
        open(sys.argv[2], "wb").write(d[i + 8:i + 8 + n])
        break
    i += 8 + n + (n & 1)
PY
    # tier 2: the ALSA file plugin paced at real time by a JACK server with
    # the dummy driver (its own name: other tests may run theirs)
    tw_jack_start "$tmp/jackd.log" twpa -d dummy -r 48000 -p 480 -C 2 -P 2 ||
        fail "jackd did not start: $(cat "$tmp/jackd.log")"
    # (the ALSA configuration: the file plugin reading EMG_TEST_INFILE, its
    # slave the ALSA jack plugin, which takes the timing from the server)
    cat >"$tmp/alsa-tier2.conf" <<'EOF'
pcm.emg_test {
    type file
    slave.pcm {
        type jack
        capture_ports { 0 system:capture_1 }
    }
    file "/dev/null"
    infile {
        @func getenv
        vars [ EMG_TEST_INFILE ]
        default "/dev/zero"
    }
    format "raw"
}
pcm.default "emg_test"
EOF
    rm -rf "$tmp/journal"
    CTL="ipc://$tmp/ctl"
    ALSA_CONFIG_PATH="$tmp/alsa-tier2.conf" EMG_TEST_INFILE="$tmp/events.raw" \
    JACK_DEFAULT_SERVER="$TW_JACK_NAME" LD_PRELOAD="$tmp/enodev_shim.so" TW_SHIM_AFTER_MS=3000 \
    TW_SHIM_BACK_MS=5000 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$TW" run -o input.source=portaudio -o input.device=emg_test -o input.channels=1 \
        -o "journal.dir=$tmp/journal" -o "publish.endpoint=ipc://$tmp/pub" \
        -o "control.endpoint=$CTL" -o publish.heartbeat_s=0.1 -o record.mode=off \
        >"$tmp/out" 2>"$tmp/err" </dev/null &
    pid=$!
    wait_for 'running: 1 channel' 10 || fail "the daemon did not start"
    # the subscriber, connected from before the loss to after the end
    "$TW" sub "ipc://$tmp/pub" evt. gap sts >"$tmp/sub.out" 2>"$tmp/sub.err" </dev/null &
    spid=$!
    # the state while it lasts, as `twitchd ctl status` reports it
    seen_lost=0
    for _ in $(seq 200); do
        st=$("$TW" ctl -e "$CTL" -t 1000 status 2>/dev/null) || st=
        [[ $st == *'"state":"device lost"'* ]] && { seen_lost=1; break; }
        sleep 0.05
    done
    ((seen_lost)) || fail "ctl status never said \"device lost\""
    # input flows again once the gap record is journaled (a restart inside
    # the outage logs "back after" too, and fails again)
    for _ in $(seq 150); do
        grep -qsh '"topic":"gap".*"cause":"device restart"' "$tmp"/journal/*.jsonl && break
        sleep 0.1
    done
    grep -qsh '"topic":"gap".*"cause":"device restart"' "$tmp"/journal/*.jsonl ||
        fail "no 'device restart' gap record in the journal within 15 s of the loss"
    grep -q 'input: back after' "$tmp/err" || fail "no 'input: back after' line after the device came back"
    # a running state again, then events after the outage
    for _ in $(seq 100); do
        st=$("$TW" ctl -e "$CTL" -t 1000 status 2>/dev/null) || st=
        [[ $st == *'"state":"running"'* ]] && break
        sleep 0.1
    done
    [[ $st == *'"state":"running"'* ]] || fail "ctl status does not say \"running\" after the device came back: $st"
    n1=$(lost_count)
    after_gap() {
        python3 - "$tmp/journal" <<'PY'
import glob, json, sys
recs = [json.loads(l) for f in glob.glob(sys.argv[1] + "/*.jsonl") for l in open(f)]
g = [r for r in recs if r["topic"] == "gap" and r["cause"] == "device restart"]
ok = g and any(r["topic"] in ("evt.ltr", "evt.epn") and r["sample"] > g[0]["sample"] + g[0]["samples"]
               for r in recs)
sys.exit(0 if ok else 1)
PY
    }
    for _ in $(seq 150); do after_gap && break; sleep 0.1; done
    after_gap || fail "no event journaled after the outage within 15 s"
    sleep 1
    n2=$(lost_count)
    kill -0 "$pid" 2>/dev/null || fail "the daemon exited by itself"
    ((n1 >= 1 && n1 == n2)) ||
        fail "device errors kept coming after the device came back ($n1, then $n2)"
    stop_daemon
    ((rc == 0)) || fail "exit $rc after SIGTERM, want 0"
    sleep 0.3
    kill -TERM "$spid" 2>/dev/null || true
    src=0; wait "$spid" || src=$?
    ((src == 0)) || fail "the subscriber exited $src: $(cat "$tmp/sub.err")"
    tw_jack_stop
    python3 - "$tmp/journal" "$tmp/sub.out" "$tmp/sub.err" <<'PY' || fail "the journal and the subscriber disagree about the outage"
import glob, json, statistics, sys
jlines = [l.rstrip("\n") for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
journal = [json.loads(l) for l in jlines]          # every line parses
jset = set(jlines)
sub_lines = [l.rstrip("\n") for l in open(sys.argv[2])]
sub = [json.loads(l) for l in sub_lines]
rate = 48000.0

# the journal: per topic, seq 0, 1, 2, ... without a hole or a repeat
by_topic = {}
for r in journal:
    by_topic.setdefault(r["topic"], []).append(r["seq"])
for t, seqs in by_topic.items():
    assert seqs == list(range(len(seqs))), "journal: %s seqs not 0..n-1: %s" % (t, seqs)

# the subscriber: every event and gap line it got is a journal line, byte
# for byte, and per topic its seqs run without a hole from its first on
kept = [(l, r) for l, r in zip(sub_lines, sub) if r["topic"] in ("evt.ltr", "evt.epn", "gap")]
missing = [l for l, r in kept if l not in jset]
assert not missing, "lines the subscriber got that the journal lacks: %s" % missing[:3]
for t in ("evt.ltr", "evt.epn", "gap"):
    seqs = [r["seq"] for l, r in kept if r["topic"] == t]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True, \
        "subscriber: %s seqs with a hole: %s" % (t, seqs)
    # and it got every journaled one from its first on
    js = by_topic.get(t, [])
    if seqs:
        assert seqs == js[seqs[0]:], "subscriber: %s got %s, the journal has %s" % (t, seqs, js)
err = open(sys.argv[3]).read()
assert "missing" not in err, "subscriber: " + err

# the outage: one device-restart gap, events on both sides of it
gaps = [r for r in journal if r["topic"] == "gap" and r["cause"] == "device restart"]
assert len(gaps) == 1, "device-restart gaps: %s" % gaps
g = gaps[0]
g0, gn = g["first_sample"], g["samples"]
evts = [r for r in journal if r["topic"] in ("evt.ltr", "evt.epn")]
before = [r for r in evts if r["sample"] < g0]
after = [r for r in evts if r["sample"] >= g0 + gn]
assert before and after, "events before the outage: %d, after: %d" % (len(before), len(after))
sub_after = [r for l, r in kept if r["topic"] != "gap" and r["sample"] >= g0 + gn]
assert sub_after, "the subscriber got no event after the outage"
assert any(l == jlines[journal.index(g)] for l, r in kept), "the subscriber did not get the gap record"

# the state while it lasted, as the heartbeats reported it
sts = [r for r in sub if r["topic"] == "sts"]
lost = [i for i, r in enumerate(sts) if r["state"] == "device lost"]
assert lost, "no sts with state \"device lost\""
i0, i1 = lost[0], lost[-1]
assert i0 > 0 and sts[i0 - 1]["state"] == "running", "the subscriber did not see the device running before"
assert i1 + 1 < len(sts) and sts[i1 + 1]["state"] == "running", "no running sts after the outage"
assert all(sts[i]["samples"] == sts[i0]["samples"] for i in range(i0, i1 + 1)), "samples grew while lost"
lost_s = sts[i1]["uptime_s"] - sts[i0]["uptime_s"]

# the gap's size matches the outage: (a) the shim made 2 s; detection and
# reopening add a little; (b) the daemon said "device lost" for lost_s,
# so at least that much input is missing
gap_s = gn / rate
assert 1.8 <= gap_s <= 3.0, "gap of %.3f s for an outage of 2 s" % gap_s
assert gap_s >= lost_s - 0.15, "gap of %.3f s, yet \"device lost\" for %.3f s" % (gap_s, lost_s)
# (c) the sample index stays true to the wall clock across the outage:
# samples/rate - uptime is the same before and after, unless an input
# overflow (samples lost uncounted) came in between
def offset(rs):
    return statistics.median(r["samples"] / rate - r["uptime_s"] for r in rs)
pre = [r for r in sts[max(0, i0 - 8):i0] if r["state"] == "running"]
post = [r for r in sts[i1 + 3:i1 + 11] if r["state"] == "running"]
assert len(pre) >= 3 and len(post) >= 3, "too few heartbeats around the outage"
ovf = [r for r in journal if r["topic"] == "gap" and r["cause"] == "input overflow"
       and pre[0]["samples"] <= r["sample"] <= post[-1]["samples"]]
drift = offset(post) - offset(pre)
# a gap too large puts the index ahead of the clock; one too small, or an
# overflow's uncounted loss, behind it: with an overflow in between only
# the first can be told
assert drift <= 0.25, "the gap put the sample index %.3f s ahead of the wall clock" % drift
if ovf:
    print("  (%d input overflow(s) near the outage: only the upper bound of the drift checked)" % len(ovf))
else:
    assert drift >= -0.25, "the sample index fell %.3f s behind the wall clock across the outage" % -drift
print("  journal %d lines, subscriber %d event/gap lines (all in the journal, no hole); "
      "%d events before, %d after; gap %.3f s, \"device lost\" for %.2f s in sts, drift %.3f s"
      % (len(jlines), len(kept), len(before), len(after), gap_s, lost_s, drift))
PY
    ok "$n1 device error(s), then none; state reported; resumed with a gap record matching the outage; no journal line lost"
fi
echo "portaudio_run: all passed"
