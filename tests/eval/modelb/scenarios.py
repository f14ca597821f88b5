"""Scenario table and recipes for the model-B generator, plus generate().

A recipe plans Blocks (events.py) for each channel, lays them out on the
time line (non-overlapping, random gaps, >= 1 s of rest at the file ends)
and renders them. generate() then adds mains and noise, passes everything
through the recording chain, picks the full scale and returns the file
samples and the truth.
"""
import math
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

import events as E
from background import draw_mains, finish_channel
from render import Chan

FULL_SCALE_LADDER_UV = (2000, 5000, 10000, 20000, 50000)
HEADROOM = 0.85             # biggest sample stays below this fraction of FS
END_REST_S = 1.0            # rest at both ends of a file
MIN_OVERSAMPLED_HZ = 32000  # low file rates are synthesised at >= this rate


@dataclass
class Scenario:
    name: str
    seconds: float
    rate: int
    fmt: str
    mains_hz: int
    recipe: object
    electrodes: tuple = ("needle",)
    bg: dict = field(default_factory=dict)   # overrides of the background draws
    about: str = ""


# ----------------------------------------------------------------------------
# Background draws
# ----------------------------------------------------------------------------
def draw_bg(rng, electrode, over):
    """Per-channel background levels (uV RMS, fundamental amplitude in uV)."""
    g = dict(white=(1.0, 15.0), pink=(0.2, 1.0), wander=(10.0, 50.0),
             mains=(1.0, 200.0), buzz=0.3)
    if electrode == "surface":
        g.update(white=(1.0, 4.0), mains=(5.0, 100.0))
    g.update(over)

    def pick(v):
        return float(v) if np.isscalar(v) else float(rng.uniform(*v))
    white = pick(g["white"])
    m = g["mains"]
    mains = float(m) if np.isscalar(m) else float(E.logu(rng, *m))
    return dict(white_uv=white, pink_uv=white * pick(g["pink"]), wander_uv=pick(g["wander"]),
                mains_uv=mains, buzz=g["buzz"])


# ----------------------------------------------------------------------------
# Layout
# ----------------------------------------------------------------------------
def lay_out(rng, T, blocks, min_gap=0.4, head=None, tail=None, shuffle=True):
    """Place blocks one after another with random gaps and render them.

    head/tail: a block pinned to the file start (t0 = 0) / end (ends at T),
    used for deliberately truncated EPN episodes."""
    blocks = list(blocks)
    if shuffle:
        rng.shuffle(blocks)
    start = (head.dur + min_gap) if head else END_REST_S
    end = (T - tail.dur - min_gap) if tail else T - END_REST_S
    while blocks and sum(b.dur for b in blocks) + min_gap * (len(blocks) - 1) > end - start:
        dropped = blocks.pop()
        print("modelb: layout full, dropped %r" % dropped, file=sys.stderr)
    free = end - start - sum(b.dur for b in blocks) - min_gap * max(len(blocks) - 1, 0)
    share = rng.dirichlet(np.ones(len(blocks) + 1)) * free
    if head:
        head.render(0.0)
    t = start + share[0]
    for i, b in enumerate(blocks):
        b.render(t)
        t += b.dur + min_gap + share[i + 1]
    if tail:
        tail.render(T - tail.dur)


def split(rng, total, parts, cap=10):
    """Split `total` LTRs over `parts` containers (each <= cap)."""
    k = rng.multinomial(total, np.ones(parts) / parts)
    return [int(min(x, cap)) for x in k]


def ri(rng, lo, hi):
    """Random integer in [lo, hi] (inclusive)."""
    return int(rng.integers(lo, hi + 1))


def epn_with_ltrs(ch, rng, k, mirror=None, dur=None, **kw):
    """EPN episode holding an insertion train with k LTRs."""
    n_hits = k + ri(rng, 0, 2) if k else ri(rng, 0, 2)
    if dur is None:
        dur = rng.uniform(min(20.0, max(E.EPN_DUR_S[0], 1.8 * n_hits + 1.5)), 20.0)
    tk = dict(mirror=mirror)
    tk.update(kw.pop("train_kw", {}))
    return E.epn_block(ch, rng, dur=dur, n_hits=n_hits, n_ltr=k, train_kw=tk, **kw)


def trains(ch, rng, n_ltr_total, n_trains, extra_hits=(1, 4), mirror=None, **kw):
    """n_trains fast-in/fast-out trains sharing n_ltr_total LTRs."""
    out = []
    for k in split(rng, n_ltr_total, n_trains):
        n_hits = max(k + ri(rng, *extra_hits), ri(rng, 3, 9))
        out.append(E.train_block(ch, rng, n_hits, k, mirror=mirror, **kw))
    return out


# ----------------------------------------------------------------------------
# Recipes (one function per scenario family). Each gets the list of
# channels, the generator and the duration T (s).
# ----------------------------------------------------------------------------
def r_rest_moves(chs, rng, T):
    ch = chs[0]
    bl = [E.move_block(ch, rng) for _ in range(ri(rng, 20, 40) * int(T) // 120)]
    bl += [E.pop_block(ch, rng) for _ in range(ri(rng, 4, 8))]
    lay_out(rng, T, bl)


def r_fifo(chs, rng, T):
    ch = chs[0]
    bl = trains(ch, rng, ri(rng, 8, 15), ri(rng, 3, 5))
    bl += [E.move_block(ch, rng) for _ in range(ri(rng, 2, 4))]
    lay_out(rng, T, bl)


def r_ltr_in_epn(chs, rng, T):
    ch = chs[0]
    n_epn = ri(rng, 2, 4)
    ks = split(rng, ri(rng, 6, 15), n_epn, cap=6)
    ks = [max(k, 1) for k in ks]
    budget = 0.72 * T / n_epn
    eps = [epn_with_ltrs(ch, rng, k, dur=min(20.0, budget, max(1.8 * (k + 1) + 2.0, rng.uniform(6, 20))))
           for k in ks]
    head = tail = None
    r = rng.random()
    if r < 0.25:                     # first episode already running when the file starts
        k = ks[0]
        head = epn_with_ltrs(ch, rng, k, dur=eps[0].dur, truncated="start")
        eps = eps[1:]
    elif r < 0.5:                    # last episode still running when the file ends
        tail = epn_with_ltrs(ch, rng, ks[-1], dur=eps[-1].dur, truncated="end", T_file=T)
        eps = eps[:-1]
    bl = eps + [E.move_block(ch, rng) for _ in range(ri(rng, 2, 3))]
    bl += [E.pop_block(ch, rng)]
    lay_out(rng, T, bl, head=head, tail=tail)


def r_weak(chs, rng, T):
    ch = chs[0]
    kw = dict(amp0=(300.0, 400.0), weak=True, decay=(0.8, 0.95))
    n = ri(rng, 8, 12)
    bl = []
    if rng.random() < 0.5:
        k = ri(rng, 1, 2)
        n -= k
        bl.append(epn_with_ltrs(ch, rng, k, dur=rng.uniform(6, 12), train_kw=kw))
    bl += trains(ch, rng, n, ri(rng, 3, 4), **kw)
    bl += [E.move_block(ch, rng) for _ in range(ri(rng, 3, 5))]
    bl += [E.pop_block(ch, rng) for _ in range(ri(rng, 1, 2))]
    lay_out(rng, T, bl)


def r_long_vs_flinch(chs, rng, T):
    ch = chs[0]
    bl = trains(ch, rng, ri(rng, 6, 12), ri(rng, 3, 4), burst_ms=(150.0, 300.0), mode="async")
    bl += [E.flinch_block(ch, rng) for _ in range(ri(rng, 4, 7))]
    bl += [E.voluntary_block(ch, rng) for _ in range(ri(rng, 2, 4))]
    lay_out(rng, T, bl)


def r_crowded(chs, rng, T):
    """Clusters of events only 0.1-0.3 s apart (LTRs, needle movements,
    pops and short EPN episodes), separated by a few seconds of rest."""
    ch = chs[0]
    n_cl = ri(rng, 4, 6)
    ks = split(rng, ri(rng, 10, 15), n_cl, cap=6)
    clusters = []
    for k in ks:
        items = [E.ltr_block(ch, rng) for _ in range(k)]
        items += [E.move_block(ch, rng, p_long=0.0) for _ in range(ri(rng, 2, 5))]
        items += [E.pop_block(ch, rng) for _ in range(ri(rng, 0, 1))]
        if rng.random() < 0.6:
            items.append(E.epn_block(ch, rng, dur=rng.uniform(2.0, 4.0),
                                     n_hits=1, n_ltr=ri(rng, 0, 1), p_arrive=0.3, p_leave=0.3))
        rng.shuffle(items)
        clusters.append(E.sequence(items, rng, gap=(0.1, 0.3), label="cluster"))
    lay_out(rng, T, clusters, min_gap=1.0)


def mix(ch, rng, T, mirror=None, n_epn=(2, 3), epn_ltr=(1, 3), n_trains=(1, 2),
        train_ltr=(4, 8), moves=(3, 5), pops=(2, 3), vol=(1, 2), flinch=(2, 3), fib=(1, 2),
        overlaps=0):
    """Everything: EPN with LTRs inside, trains outside EPN, all distractors."""
    s = T / 120.0

    def cnt(r):
        return int(round(ri(rng, *r) * s)) if r[1] else 0
    bl = [epn_with_ltrs(ch, rng, ri(rng, *epn_ltr), mirror=mirror,
                        dur=rng.uniform(4.0, min(20.0, 0.4 * T)))
          for _ in range(max(cnt(n_epn), 1))]
    nt = max(cnt(n_trains), 1)
    bl += trains(ch, rng, max(cnt(train_ltr), 2), nt, mirror=mirror)
    bl += [E.move_block(ch, rng) for _ in range(cnt(moves))]
    bl += [E.pop_block(ch, rng) for _ in range(cnt(pops))]
    bl += [E.voluntary_block(ch, rng, mirror=mirror) for _ in range(cnt(vol))]
    bl += [E.flinch_block(ch, rng, mirror=mirror) for _ in range(cnt(flinch))]
    bl += [E.fib_block(ch, rng) for _ in range(cnt(fib))]
    if mirror is not None:            # the surface electrode pops on its own
        bl += [E.pop_block(mirror, rng) for _ in range(ri(rng, 1, 3))]
    lay_out(rng, T, bl)


def r_mixed(chs, rng, T):
    mix(chs[0], rng, T)


def r_hum(chs, rng, T):
    mix(chs[0], rng, T, n_epn=(2, 4), epn_ltr=(1, 3), train_ltr=(3, 6), vol=(0, 0),
        flinch=(0, 1), fib=(0, 1), pops=(1, 2))


def r_stereo(chs, rng, T):
    for ch in chs:
        mix(ch, rng, T, n_epn=(1, 2), epn_ltr=(1, 3), n_trains=(1, 2), train_ltr=(4, 7),
            moves=(2, 3), pops=(1, 2), vol=(1, 1), flinch=(1, 2), fib=(0, 1))


def r_surface(chs, rng, T):
    mix(chs[0], rng, T, mirror=chs[1], n_epn=(1, 2), train_ltr=(6, 10),
        vol=(2, 3), flinch=(2, 3))


def r_distractors(chs, rng, T):
    ch = chs[0]
    bl = [E.move_block(ch, rng) for _ in range(ri(rng, 10, 14))]
    bl += [E.pop_block(ch, rng) for _ in range(ri(rng, 5, 7))]
    bl += [E.voluntary_block(ch, rng) for _ in range(ri(rng, 3, 4))]
    bl += [E.flinch_block(ch, rng) for _ in range(ri(rng, 4, 5))]
    bl += [E.fib_block(ch, rng) for _ in range(ri(rng, 3, 4))]
    # overlapping pairs
    v = E.voluntary_block(ch, rng)
    f = E.fib_block(ch, rng)
    bl.append(E.overlay([(v, 0.0), (f, rng.uniform(0, v.dur * 0.7))], "vol+fib"))
    m = E.move_block(ch, rng)
    bl.append(E.overlay([(m, 0.0), (E.pop_block(ch, rng), rng.uniform(0.02, 0.2))], "move+pop"))
    f = E.fib_block(ch, rng)
    bl.append(E.overlay([(f, 0.0), (E.flinch_block(ch, rng), rng.uniform(0.2, f.dur * 0.6))],
                        "fib+flinch"))
    v = E.voluntary_block(ch, rng)
    bl.append(E.overlay([(v, 0.0), (E.move_block(ch, rng), rng.uniform(0.2, v.dur * 0.7))],
                        "vol+move"))
    bl.append(E.overlay([(E.move_block(ch, rng, p_long=0.0), 0.0),
                         (E.move_block(ch, rng, p_long=0.0), rng.uniform(0.05, 0.15))],
                        "double jab"))
    v = E.voluntary_block(ch, rng)
    bl.append(E.overlay([(v, 0.0), (E.pop_block(ch, rng), rng.uniform(0.1, v.dur * 0.8))],
                        "vol+pop"))
    lay_out(rng, T, bl, min_gap=0.5)


# ----------------------------------------------------------------------------
# Scenario table
# ----------------------------------------------------------------------------
SCENARIOS = {s.name: s for s in [
    Scenario("rest_moves", 120, 48000, "int16", 50, r_rest_moves,
             about="needle movements only (10-20/min, rise 2-60 ms, insertion spikes) + pops"),
    Scenario("fifo_trains", 120, 48000, "int16", 60, r_fifo,
             about="fast-in/fast-out trains, 8-15 LTRs, hits that elicit none"),
    Scenario("ltr_in_epn", 120, 44100, "int24", 50, r_ltr_in_epn,
             about="2-4 EPN episodes with 6-15 LTRs inside; sometimes one truncated"),
    Scenario("weak_ltr", 120, 48000, "int16", 50, r_weak, bg=dict(white=(3.0, 8.0), mains=(1.0, 10.0)),
             about="LTRs with 200-400 uV MUAPs, noise 3-8 uV"),
    Scenario("long_vs_flinch", 120, 48000, "int24", 60, r_long_vs_flinch,
             about="150-300 ms LTRs beside flinches and voluntary contractions"),
    Scenario("crowded", 120, 48000, "float", 50, r_crowded,
             about="clusters of LTRs/moves/pops/short EPN 0.1-0.3 s apart"),
    Scenario("hum60", 120, 48000, "int16", 60, r_hum,
             bg=dict(white=10.0, pink=(0.1, 0.3), mains=100.0, buzz=1.0),
             about="10 uV noise, 100 uV 60 Hz buzz with strong harmonics, EPN + LTRs"),
    Scenario("mixed50", 120, 44100, "int24", 50, r_mixed,
             about="50 Hz mains, EPN, LTRs and every distractor"),
    Scenario("rate4k_int16", 120, 4000, "int16", 50, r_mixed, about="mixed at 4 kHz"),
    Scenario("rate44k_int16", 120, 44100, "int16", 60, r_mixed, about="mixed at 44.1 kHz"),
    Scenario("rate96k_int24", 120, 96000, "int24", 50, r_mixed, about="mixed at 96 kHz"),
    Scenario("rate192k_float", 60, 192000, "float", 0, r_mixed, bg=dict(mains=0.0),
             about="mixed at 192 kHz float, no mains (battery)"),
    Scenario("stereo", 120, 48000, "int24", 50, r_stereo, electrodes=("needle", "needle"),
             about="two needles, independent events"),
    Scenario("distractors", 180, 48000, "int16", 60, r_distractors,
             about="every distractor kind alone and overlapping; no LTR/EPN"),
    Scenario("surface_pair", 120, 48000, "int16", 50, r_surface, electrodes=("needle", "surface"),
             about="needle + surface: voluntary/flinch on both, LTRs rarely on surface"),
]}


# ----------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------
def generate(name, seed):
    """Return (samples in full-scale units (frames x ch), truth dict)."""
    sc = SCENARIOS[name]
    rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
    rate = sc.rate
    os = int(math.ceil(MIN_OVERSAMPLED_HZ / rate)) if rate < MIN_OVERSAMPLED_HZ else 1
    fs = rate * os
    frames = int(round(sc.seconds * rate))
    n = frames * os
    ids = {"train": 0}
    chs = []
    for i, el in enumerate(sc.electrodes):
        c = Chan(i, fs, n, el, rng)
        c.ids = ids
        chs.append(c)
    bgs = [draw_bg(rng, c.electrode, sc.bg) for c in chs]
    sc.recipe(chs, rng, float(sc.seconds))
    buzz = rng.random() < bgs[0]["buzz"]
    mains = draw_mains(rng, sc.mains_hz, 1.0, buzz) if sc.mains_hz else None
    outs, noise = [], []
    for c, bg in zip(chs, bgs):
        y, nr = finish_channel(c.buf, rng, fs, rate, os, c.electrode, bg, mains, bg["mains_uv"])
        c.buf = None
        outs.append(y)
        noise.append(nr)
    Y = np.stack(outs, axis=1)
    peak = float(np.abs(Y).max())
    fs_uv = next((x for x in FULL_SCALE_LADDER_UV if peak <= HEADROOM * x),
                 FULL_SCALE_LADDER_UV[-1])
    evs = []
    for c in chs:
        for ev in c.events:
            ev = dict(ev)
            on = max(0, min(frames - 1, ev["onset_sample"] // os))
            off = max(on, min(frames - 1, ev["offset_sample"] // os))
            ev["onset_sample"], ev["offset_sample"] = int(on), int(off)
            ev["onset_s"] = round(on / rate, 6)
            ev["offset_s"] = round(off / rate, 6)
            if ev.get("movement_sample") is not None:
                ev["movement_sample"] = int(ev["movement_sample"] // os)
            evs.append(ev)
    evs.sort(key=lambda e: (e["onset_sample"], e["channel"]))
    order = ["type", "kind", "channel", "onset_sample", "offset_sample", "onset_s", "offset_s"]
    evs = [{**{k: e[k] for k in order}, **{k: v for k, v in e.items() if k not in order}}
           for e in evs]
    truth = {"model": "B", "scenario": name, "seed": int(seed), "rate": rate,
             "frames": frames, "channels": len(chs), "full_scale_uv": fs_uv,
             "format": sc.fmt, "mains_hz": sc.mains_hz if mains is not None else 0,
             "electrodes": list(sc.electrodes), "events": evs}
    info = dict(noise_rms_uv=noise, bg=bgs, peak_uv=peak, oversample=os)
    return Y / fs_uv, truth, info
