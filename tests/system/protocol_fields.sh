#!/usr/bin/env bash
# protocol_fields.sh BUILD_DIR: what the daemon sends is what
# docs/protocol.md and docs/events.md say. The daemon reads a synthetic
# recording (LTRs, EPN, voluntary bursts, flinches, 10 s) at real-time
# pace; a subscriber of every topic and the journal are read, and:
#  - every header has each field of protocol.md's "Common header fields"
#    table, and "rate" is the input rate (48000), or, in sig.* headers,
#    the display rate with rate x decim = the input rate;
#  - every field of an evt.ltr / evt.epn record (journal and wire) is
#    named in docs/events.md or in that table (a field sent but not
#    documented fails, and so does a documented common field not sent);
#  - the journal's event records are the subscriber's, field for field;
#  - onset notices and full records carry an integer "id"; every field of
#    a notice is in docs/events.md or the common table;
#  - evt.cancel (at least one is sent): its fields are those of the table
#    under "### `evt.cancel`" of protocol.md (and the common ones), all
#    there but "features" (optional); its "features" fields are in
#    docs/events.md; its "reason" is in that section's reason table; its
#    id is a notice's the subscriber saw (or came before the first it
#    saw); not journaled (journal.rejected is false by default).
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" protocol_fields
REPO=$(cd "$(dirname "$0")/../.." && pwd)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

"$TW" synth --seed 41 --seconds 10 -o ltr_per_min=40 -o epn_per_min=12 -o guard_s=0.3 \
    -o voluntary_per_min=10 -o flinch_per_min=10 "$T/in.wav" 2>/dev/null || fail "synth"
"$TW" run -o input.source=file -o input.path="$T/in.wav" -o input.pace=realtime \
    -o journal.dir="$T/journal" -o record.mode=off -o "publish.endpoint=ipc://$T/pub.ipc" \
    -o publish.heartbeat_s=0.2 2>"$T/log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do grep -q "publishing on" "$T/log" && break; sleep 0.05; done
grep -q "publishing on" "$T/log" || fail "the daemon did not start"
"$TW" sub --timeout 3 "ipc://$T/pub.ipc" >"$T/sub.out" 2>"$T/sub.err" &
pids+=("$!")
rc=0
wait "$daemon" || rc=$?
((rc == 0)) || fail "the daemon exited $rc"
wait "${pids[1]}" || true

python3 - "$REPO" "$T" <<'PY' || fail "sent and documented differ (above)"
import glob, json, re, sys
repo, tmp = sys.argv[1], sys.argv[2]
proto = open(repo + "/docs/protocol.md").read()
events_doc = open(repo + "/docs/events.md").read()
i = proto.index("## Common header fields")
table = proto[i:proto.index("\n#", i + 10)]
common = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
assert "rate" in common and "clock" in common, common
documented = set(re.findall(r"`([a-z_0-9]+)`", events_doc)) | set(common) | {"session", "quality"}

sub = [json.loads(l) for l in open(tmp + "/sub.out")]
journal = [json.loads(l) for f in sorted(glob.glob(tmp + "/journal/*.jsonl")) for l in open(f)]
assert sub and journal, (len(sub), len(journal))
topics = {m["topic"] for m in sub}
assert {"sts", "evt.ltr", "sig.0"} <= topics, topics
bad = []
for where, msgs in (("wire", sub), ("journal", journal)):
    for m in msgs:
        miss = [f for f in common if f not in m]
        if miss:
            bad.append("%s %s lacks %s" % (where, m["topic"], miss))
        if m["topic"].startswith("sig."):
            if abs(m["rate"] * m["decim"] - 48000) > 1e-6:
                bad.append("%s %s: rate %s x decim %s" % (where, m["topic"], m["rate"], m["decim"]))
        elif m["rate"] != 48000:
            bad.append("%s %s: rate %s, want 48000" % (where, m["topic"], m["rate"]))
        if m["topic"] in ("evt.ltr", "evt.epn"):
            und = sorted(k for k in m if k not in documented)
            if und:
                bad.append("%s %s: fields not in docs/events.md: %s" % (where, m["topic"], und))
key = lambda m: (m["topic"], m["seq"])
wire_ev = {key(m): m for m in sub if m["topic"] in ("evt.ltr", "evt.epn")}
jour_ev = {key(m): m for m in journal if m["topic"] in ("evt.ltr", "evt.epn")}
for k, m in wire_ev.items():
    if k in jour_ev and jour_ev[k] != m:
        bad.append("journal and wire differ for %s" % (k,))
assert len(jour_ev) >= 2, "too few events to test anything: %d" % len(jour_ev)
# ids, and evt.cancel
i = proto.index("### `evt.cancel`")
sec = proto[i:proto.index("\n### ", i + 10)]
j = sec.index("| field |")
table = sec[j:sec.index("\n\n", j)]
cancel_fields = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|", table, re.M))
cancel_fields = {f for pair in cancel_fields for f in pair if f}
reasons = set(re.findall(r"^\| `([a-z ]+)` \| (?:ltr|epn)", sec, re.M))
assert {"id", "reason", "features", "onset_sample"} <= cancel_fields and "voluntary" in reasons, \
    (cancel_fields, reasons)
notices = {m["id"]: m for m in sub if m["topic"].startswith("evt.start.")}
for m in sub:
    t = m["topic"]
    if t.startswith("evt.start.") or t in ("evt.ltr", "evt.epn"):
        if not isinstance(m.get("id"), int) or m["id"] < 1:
            bad.append("%s seq %d: no id" % (t, m["seq"]))
    if t.startswith("evt.start."):
        und = sorted(k for k in m if k not in documented)
        if und:
            bad.append("%s: fields not in docs/events.md: %s" % (t, und))
cancels = [m for m in sub if m["topic"] == "evt.cancel"]
for m in cancels:
    miss = [f for f in cancel_fields if f not in m and f != "features"]
    und = sorted(k for k in m if k not in cancel_fields | set(common) | {"session"})
    fund = sorted(k for k in m.get("features", {}) if k not in documented)
    if miss or und or fund:
        bad.append("evt.cancel seq %d: lacks %s, not documented %s, features not in events.md %s"
                   % (m["seq"], miss, und, fund))
    if m["reason"] not in reasons:
        bad.append("evt.cancel seq %d: reason %r not in protocol.md" % (m["seq"], m["reason"]))
    if m["id"] not in notices and notices and m["id"] > min(notices):
        bad.append("evt.cancel seq %d: id %d has no notice" % (m["seq"], m["id"]))
if any(m["topic"] == "evt.cancel" for m in journal):
    bad.append("evt.cancel journaled though journal.rejected is false")
if not cancels:
    bad.append("no evt.cancel was sent: nothing to check")
for b in bad[:20]:
    print("  " + b)
assert not bad, "%d problems" % len(bad)
print("  ok: %d wire messages (%s), %d journal records; %d common fields; every event field documented"
      % (len(sub), ", ".join(sorted(topics)), len(journal), len(common)))
print("  ok: ids on %d notices and %d records; %d evt.cancel (%s), every field documented, not journaled"
      % (len(notices), len(wire_ev), len(cancels), ", ".join(sorted({m["reason"] for m in cancels}))))
PY
echo "protocol_fields: PASS"
