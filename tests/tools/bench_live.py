#!/usr/bin/env python3
"""make bench, live part: latency and CPU of `twitchd run`.

Latency: the daemon runs on its synthetic source paced at real time with
256-frame buffers at 48 kHz (the source writes each block into the ring
when its last frame is due, as a sound card's callback would); a
`twitchd sub` on loopback prints every evt.start.* notice, and this
script stamps each line with CLOCK_MONOTONIC as it arrives. A notice's
header carries the clock anchor of the block being processed (its
CLOCK_MONOTONIC at ring write); latency = arrival - that anchor, i.e. from
the block holding the sample that completed the onset entering the ring
to the message in a subscriber. Reported: p50, p99, max, count.

CPU: the daemon on a file source paced at real time, 2 and 8 channels at
48 kHz and 8 at 96 kHz, for 20 s each; CPU time (user + system, /proc) per second of
wall time, in % of one core.

Python standard library only.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

tw = sys.argv[1] if len(sys.argv) > 1 else "build/twitchd"
LAT_S = float(os.environ.get("BENCH_LATENCY_S", "200"))
CPU_S = float(os.environ.get("BENCH_CPU_S", "20"))


def start_daemon(tmp, opts, log):
    cmd = [tw, "run", "-o", "record.mode=off", "-o", "journal.dir=" + os.path.join(tmp, "journal"),
           "-o", "publish.endpoint=tcp://127.0.0.1:*"] + sum([["-o", o] for o in opts], [])
    p = subprocess.Popen(cmd, stderr=open(log, "w"))
    for _ in range(100):
        time.sleep(0.05)
        txt = open(log).read()
        if "publishing on" in txt:
            ep = txt.split("publishing on ")[1].split(",")[0].split()[0]
            return p, ep
    p.kill()
    sys.exit("bench: the daemon did not start: " + open(log).read())


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / tick  # utime, stime


def latency(tmp):
    p, ep = start_daemon(tmp, ["input.source=synth", "input.pace=realtime", "input.rate=48000",
                               "input.frames_per_buffer=256", "synth.ltr_per_min=60",
                               "synth.epn_per_min=6", "synth.voluntary_per_min=10",
                               "synth.flinch_per_min=10", "synth.guard_s=0.5", "synth.seed=31337",
                               "publish.sig_rate_hz=1000"],
                         os.path.join(tmp, "lat.log"))
    sub = subprocess.Popen([tw, "sub", ep, "evt.start."], stdout=subprocess.PIPE, text=True, bufsize=1)
    lat = []
    t_end = time.monotonic() + LAT_S
    os.set_blocking(sub.stdout.fileno(), True)
    while time.monotonic() < t_end:
        line = sub.stdout.readline()
        now = time.clock_gettime(time.CLOCK_MONOTONIC)
        if not line:
            break
        h = json.loads(line)
        lat.append((now - h["clock"]["monotonic"]) * 1e3)
    sub.terminate()
    p.terminate()
    p.wait()
    sub.wait()
    return lat


def cpu(tmp, channels, rate=48000):
    wav = os.path.join(tmp, "in%d-%d.wav" % (channels, rate))
    subprocess.run([tw, "synth", "--seed", "7", "--seconds", str(int(CPU_S) + 5), "-o",
                    "channels=%d" % channels, "-o", "rate=%d" % rate, wav], check=True,
                   stderr=subprocess.DEVNULL)
    p, _ = start_daemon(tmp, ["input.source=file", "input.path=" + wav, "input.pace=realtime",
                              "input.frames_per_buffer=256"], os.path.join(tmp, "cpu.log"))
    time.sleep(2)  # start-up excluded
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(CPU_S - 2)
    c1, t1 = cpu_seconds(p.pid), time.monotonic()
    p.terminate()
    p.wait()
    return 100.0 * (c1 - c0) / (t1 - t0)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


with tempfile.TemporaryDirectory(prefix="twitchd-bench-") as tmp:
    print("\nlive: twitchd run, synthetic source at real time, 48 kHz, 256-frame buffers (%.1f ms)" % (256 / 48.0))
    lat = latency(tmp) if LAT_S > 0 else []
    if LAT_S <= 0:
        pass
    elif len(lat) < 10:
        print("  latency: only %d notices arrived" % len(lat))
    else:
        print("  latency, block into the ring -> evt.start.* in a subscriber: p50 %.2f ms, p99 %.2f ms, "
              "max %.2f ms over %d notices (%.0f s)" % (pct(lat, .5), pct(lat, .99), max(lat), len(lat), LAT_S))
    for ch, rate in ((2, 48000), (8, 48000), (8, 96000)):
        print("  CPU, file source at real time, %d channels at %g kHz: %.2f %% of one core"
              % (ch, rate / 1000, cpu(tmp, ch, rate)))
