#!/usr/bin/env bash
# The detection figures, asserted, on both signal models of make eval
# (tests/eval/eval.py): model A (`twitchd synth`, report seeds, never tuned
# on) and model B (tests/eval/modelb, written independently from the
# physiology; nothing was ever tuned on it), one file per scenario, with
# the default configuration. These are regression floors, below what
# `make eval` measures (README) and far above a textbook detector (F1
# about 0.1, tens of false LTRs a minute); issue 12's targets (F1 >= 0.95
# on both models) are printed by make eval and are NOT met on model B yet:
#   model A: LTR F1 >= 0.80, <= 1 false LTR a minute overall;
#   model B: LTR F1 >= 0.50, <= 3 false LTRs a minute overall;
#   both: median LTR onset error <= 5 ms, 90th percentile <= 20 ms on
#   model A (the onset on insertion spikes gave 24 ms) and <= 45 ms on
#   model B, EPN time F1 >= 0.85, >= 90 % of
#   episodes found (80 % on model B, whose episodes of slow MEPPs, 50-100
#   /s, can fall short of epn.episode_min_rate_hz), each EPN onset
#   reported within 5 s (both models' slowest loci, 50-100 MEPPs a second
#   in up to 15 uV of noise, lean the windows late; model B's 60 Hz hum
#   with 0.5 Hz of offset too), and no LTR whose latency_ms lies
#   outside [0, detect.mv_max_ms].
# The real recordings must run clean: < 2 % of their time as EPN, and no
# more than 0.2 LTRs a minute on the needle recordings. $1: the build
# directory.
set -euo pipefail
build=${1:?usage: eval_figures.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the real recordings: beside the clone, else where the project's machines keep them
real=${TWITCHD_REAL_DATA:-$repo/../shared/data/real}
[[ -n ${TWITCHD_REAL_DATA:-} || -d $real || ! -d /work/shared/data/real ]] || real=/work/shared/data/real
python3 "$repo/tests/eval/eval.py" --twitchd "$build/twitchd" --seeds 1 \
    --real "$real" --json "$tmp/fig.json" | sed 's/^/  /'
python3 - "$tmp/fig.json" <<'PY'
import json, sys
fig = json.load(open(sys.argv[1]))
bad = 0
for model in ("A", "B"):
    if model not in fig or "overall" not in fig[model]:
        print("  model %s: no figures" % model)
        bad += 1
        continue
    o = fig[model]["overall"]
    a = model == "A"
    checks = [("LTR F1", o["ltr_f1"], ">=", 0.80 if a else 0.50),
              ("LTR median onset error (ms)", o["ltr_med_ms"], "<=", 5.0),
              ("LTR onset error, 90th percentile (ms)", o["ltr_p90_ms"], "<=", 20.0 if a else 45.0),
              ("false LTR per minute", o["false_per_min"], "<=", 1.0 if a else 3.0),
              ("EPN time F1", o["epn_f1"], ">=", 0.85),
              ("EPN episode recall", o["epn_episode_recall"], ">=", 0.90 if a else 0.80),
              ("EPN onset reported, worst (s)", o["epn_detect_max_s"], "<=", 5.0),
              ("LTRs with latency_ms outside [0, 60]", o["latency_bad"], "<=", 0)]
    for name, v, op, t in checks:
        ok = v >= t if op == ">=" else v <= t
        print("  model %s %-36s %8.3f %s %g %s" % (model, name, v, op, t, "ok" if ok else "FAIL"))
        bad += not ok
real = fig.get("real", [])
if not real:
    print("  real recordings: not found, skipped")
for r in real:
    frac = r["epn_s"] / r["seconds"] if r["seconds"] else 1
    per_min = r["ltr"] * 60 / r["seconds"] if r["seconds"] else 99
    ok = r["exit"] == 0 and frac < 0.02 and (r["electrode"] != "needle" or per_min <= 0.2)
    print("  real %-50s exit %d, EPN %.1f %% of %.1f s, %d LTR (%.2f /min) %s" % (
        r["file"], r["exit"], 100 * frac, r["seconds"], r["ltr"], per_min, "ok" if ok else "FAIL"))
    bad += not ok
sys.exit(1 if bad else 0)
PY
