#!/usr/bin/python3
"""Plot-free sanity checks of the model-B generator.

  check.py [--seeds 1 2 3] [--scenarios a b ...] [--dir /tmp/modelb_check]

For each scenario and seed: runs gen.py, reopens the WAV (Python's wave
module for PCM, our own header reader for float), validates the truth
(keys, offsets in the file, no LTR overlapping another on one channel,
>= 1 s of rest at the file ends except truncated EPN) and prints the
background RMS, each LTR's truth peak next to the peak measured in the
file, and the event counts.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scenarios import SCENARIOS   # noqa: E402
from wavio import read_wav        # noqa: E402

TOP_KEYS = {"model", "scenario", "seed", "rate", "frames", "channels", "full_scale_uv",
            "format", "mains_hz", "electrodes", "events"}
EV_KEYS = {"type", "kind", "channel", "onset_sample", "offset_sample", "onset_s", "offset_s"}
LTR_KEYS = {"movement_sample", "movement_uv", "amp_uv", "n_units", "in_epn", "train_id",
            "train_index"}
EPN_KEYS = {"mepp_rate_hz", "amp_uv", "eps_rate_hz", "truncated"}


def check_one(name, seed, d):
    wav = os.path.join(d, "%s_%d.wav" % (name, seed))
    js = os.path.join(d, "%s_%d.json" % (name, seed))
    t0 = time.time()
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "--scenario", name,
                    "--seed", str(seed), "--out", wav, "--truth", js], check=True)
    dt = time.time() - t0
    tr = json.load(open(js))
    errs = []
    if set(tr) != TOP_KEYS:
        errs.append("top keys %s" % sorted(set(tr) ^ TOP_KEYS))
    x, rate, fmt = read_wav(wav)
    if fmt != "float":
        with wave.open(wav) as w:
            assert w.getframerate() == rate and w.getnframes() == tr["frames"]
            assert w.getnchannels() == tr["channels"]
    if (rate, fmt, x.shape) != (tr["rate"], tr["format"], (tr["frames"], tr["channels"])):
        errs.append("header mismatch")
    uv = x * tr["full_scale_uv"]
    N = tr["frames"]
    busy = np.zeros((tr["channels"], N), bool)
    spans = {}
    counts = {}
    for e in tr["events"]:
        counts[e["kind"]] = counts.get(e["kind"], 0) + 1
        miss = EV_KEYS - set(e)
        if e["type"] == "ltr":
            miss |= LTR_KEYS - set(e)
        if e["type"] == "epn":
            miss |= EPN_KEYS - set(e)
        if miss:
            errs.append("event keys missing %s" % sorted(miss))
        a, b = e["onset_sample"], e["offset_sample"]
        if not (0 <= a <= b < N):
            errs.append("offsets out of file: %s" % e)
        trunc = e["type"] == "epn" and e["truncated"]
        if not trunc and (a < 0.99 * rate or b > N - 0.99 * rate):
            errs.append("no rest at a file end: %s %d-%d" % (e["kind"], a, b))
        busy[e["channel"], max(a - rate // 20, 0):b + rate // 20] = True
        if e["type"] == "ltr":
            spans.setdefault(e["channel"], []).append((a, b))
    for c, s in spans.items():
        s.sort()
        for (a1, b1), (a2, b2) in zip(s, s[1:]):
            if a2 <= b1:
                errs.append("LTR overlap ch%d %d-%d / %d-%d" % (c, a1, b1, a2, b2))
    print("%-15s seed %d  %5.1f s  FS %5d uV  peak %.2f FS  %s" % (
        name, seed, dt, tr["full_scale_uv"], np.abs(x).max(),
        " ".join("%s=%d" % kv for kv in sorted(counts.items()))))
    for c in range(tr["channels"]):
        q = uv[~busy[c], c]
        # quiet-time RMS (noise + mains + wander) and a white-noise estimate
        # from the first difference (robust MAD; mains and wander cancel)
        d = np.diff(q)
        sig = np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(2)
        print("    ch%d %-7s quiet RMS %.1f uV (noise+mains+wander), white-noise est %.1f uV (diff-based, inflated by mains harmonics),"
              " quiet %.0f%% of the file" % (c, tr["electrodes"][c], q.std(), sig,
                                              100.0 * q.size / N))
    for e in tr["events"]:
        if e["type"] == "ltr":
            a, b, c = e["onset_sample"], e["offset_sample"], e["channel"]
            seg = uv[a:b + 1, c]
            # file peak around the LTR minus a local baseline (median)
            pk = np.abs(seg - np.median(seg)).max()
            print("    LTR ch%d t=%7.3f s dur %5.1f ms units %2d truth %6.0f uV file %6.0f uV "
                  "step %6.0f uV train %d/%d epn %d" % (
                      c, e["onset_s"], 1000 * (e["offset_s"] - e["onset_s"]), e["n_units"],
                      e["amp_uv"], pk, e["movement_uv"], e["train_id"], e["train_index"],
                      e["in_epn"]))
        elif e["type"] == "epn":
            print("    EPN ch%d %7.2f-%7.2f s rate %.0f/s median %.1f uV eps %.1f/s trunc %s" % (
                e["channel"], e["onset_s"], e["offset_s"], e["mepp_rate_hz"], e["amp_uv"],
                e["eps_rate_hz"], e["truncated"]))
    for m in errs[:10]:
        print("    ERROR", m)
    return len(errs), dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--dir", default="/tmp/modelb_check")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    bad = 0
    for name in a.scenarios:
        for s in a.seeds:
            e, _ = check_one(name, s, a.dir)
            bad += e
    print("errors: %d" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
