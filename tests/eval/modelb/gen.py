#!/usr/bin/python3
"""Model-B synthetic needle-EMG generator (independent of twitchd synth).

  gen.py --scenario NAME --seed N --out FILE.wav --truth FILE.json
  gen.py --list          (name seconds channels mains_hz, one per line)

Deterministic for a given (scenario, seed). See README.md.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scenarios import SCENARIOS, generate   # noqa: E402
from wavio import write_wav                  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="list scenarios")
    ap.add_argument("--scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output WAV")
    ap.add_argument("--truth", help="output truth JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="print a summary to stderr")
    a = ap.parse_args(argv)
    if a.list:
        for s in SCENARIOS.values():
            print("%s %g %d %d" % (s.name, s.seconds, len(s.electrodes), s.mains_hz))
        return 0
    if not a.scenario or a.scenario not in SCENARIOS:
        ap.error("--scenario must be one of: " + ", ".join(SCENARIOS))
    if not a.out or not a.truth:
        ap.error("--out and --truth are required")
    t0 = time.time()
    data, truth, info = generate(a.scenario, a.seed)
    write_wav(a.out, data, truth["rate"], truth["format"])
    with open(a.truth, "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")
    if a.verbose:
        n = {}
        for e in truth["events"]:
            n[e["kind"]] = n.get(e["kind"], 0) + 1
        print("%s seed %d: %.1f s, FS %d uV, noise %s uV, events %s" % (
            a.scenario, a.seed, time.time() - t0, truth["full_scale_uv"],
            ["%.1f" % x for x in info["noise_rms_uv"]], n), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
