"""Event builders for the model-B generator.

Every builder draws ALL of its random parameters when it is called (plan
time) and returns a Block: its duration in seconds and a render(t0)
function that adds the event(s) to the channel with the block starting at
t0 (s) and writes their truth records. Planning first lets the scenario
lay blocks out on the time line without overlaps.

Units: times in s unless a name ends in _ms; amplitudes in uV at the
electrode. Ranges quote docs/signals.md ("S") or textbook literature.
"""
import math
import numpy as np

from shapes import (MS, MEPP_FAMILIES, eps_gamma_pair, lobe_chain, gammatone,
                    psw, draw_lobes, draw_unit, unit_wave, gbump_end)
from render import add_wave, batch, extent

# ----------------------------------------------------------------------------
# Parameter ranges (see README.md for sources)
# ----------------------------------------------------------------------------
# needle movement / insertion activity (S: insertion activity row)
MOVE_STEP_UV = (50.0, 5000.0)        # step size, log-uniform, either polarity
MOVE_RISE_JAB_MS = (2.0, 5.0)        # quick jab (fast-in/fast-out)
MOVE_RISE_SLOW_MS = (25.0, 60.0)     # slow advance
MOVE_RISE_MID_MS = (5.0, 25.0)       # in between (not in S; fills the gap)
MOVE_SETTLE_MS = (50.0, 500.0)       # settling back to baseline (to 3 %)
INS_SPIKES = (0, 20)                 # insertion spikes per movement
INS_SPIKE_UV = (50.0, 1000.0)
INS_SPIKE_MS = (0.5, 3.0)
INS_WINDOW_S = (0.03, 0.3)           # usual extent of the insertion cluster
INS_WINDOW_LONG_S = (0.3, 2.5)       # occasional long one (S: at most 2-3 s)
# LTR (S: LTR row; Hong & Simons)
LTR_UNITS = (2, 10)
LTR_MUAP_MS = (3.0, 20.0)
LTR_BURST_MS = (20.0, 300.0)
LTR_LATENCY_MS = (5.0, 50.0)
LTR_FLOOR_UV = 150.0                 # weakest MUAP we draw
LTR_DECAY = (0.6, 0.9)               # successive-LTR factor (first three)
TRAIN_INTERVAL_S = (0.3, 2.0)        # fast-in/fast-out hit spacing
# EPN (S: EPN and endplate-spike rows)
EPN_DUR_S = (2.0, 20.0)
MEPP_RATE_HZ = (50.0, 1000.0)        # log-uniform
MEPP_MEDIAN_UV = (10.0, 50.0)
MEPP_CLIP_UV = (5.0, 100.0)
MEPP_RISE_MS = (0.2, 0.3)            # time to peak
MEPP_DECAY_MS = (0.25, 0.5)          # decay time constant
MEPP_WIN_MS = 3.2                    # render window (MEPPs last 0.5-3 ms)
EPS_RATE_HZ = (5.0, 50.0)            # log-uniform, irregular
EPS_MEDIAN_UV = (100.0, 200.0)
EPS_CLIP_UV = (50.0, 1000.0)
EPS_MS = (2.0, 5.0)
EPS_POS_FIRST = (0.1, 0.3)           # fraction starting positive
EPN_DROP_PER_LTR = (0.85, 0.97)      # MEPP amplitude factor after each LTR (Chen 2001)
# distractors
VOL_UNITS = (1, 3)
VOL_UV = (300.0, 3000.0)
VOL_MUAP_MS = (2.0, 15.0)
VOL_RATE_HZ = (5.0, 20.0)
VOL_DUR_S = (1.0, 5.0)
FLINCH_DELAY_MS = (80.0, 200.0)
FLINCH_FIRE_MS = (150.0, 600.0)
FLINCH_UV = (200.0, 1000.0)
FLINCH_RATE_HZ = (8.0, 20.0)
POP_UV = (500.0, 5000.0)
POP_TAU_MS = (0.3, 3.0)
FIB_UV = (20.0, 200.0)
FIB_MS = (1.0, 5.0)
FIB_RATE_HZ = (0.5, 15.0)
FIB_DUR_S = (2.0, 10.0)
# surface channel (optional scenario; S: recording practice, Lim 2004)
SURF_MUAP_MS = (10.0, 30.0)          # surface MUAPs: broad
SURF_LTR_UV = (40.0, 150.0)          # the rare LTR that does show on the skin
SURF_GAIN = (0.05, 0.3)              # voluntary/flinch: surface / needle amplitude
SURF_POP_UV = (200.0, 2000.0)
SURF_POP_TAU_MS = (3.0, 20.0)        # skin-electrode pops are slower
SURF_POP_RING_S = 0.04               # added to a surface pop's extent (HP ringing)


def logu(rng, lo, hi, size=None):
    """Log-uniform draw in [lo, hi]."""
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def sgn(rng):
    return 1.0 if rng.random() < 0.5 else -1.0


class Block:
    """A planned stretch of activity: `dur` seconds, render(t0) draws it."""

    def __init__(self, dur, render, label):
        self.dur = float(dur)
        self.render = render
        self.label = label

    def __repr__(self):
        return "Block(%s, %.2f s)" % (self.label, self.dur)


def overlay(blocks_offsets, label="overlay"):
    """Several blocks at fixed offsets (s) from a common start."""
    dur = max(off + b.dur for b, off in blocks_offsets)

    def render(t0):
        out = []
        for b, off in blocks_offsets:
            out.append(b.render(t0 + off))
        return out
    return Block(dur, render, label)


def sequence(blocks, rng, gap=(0.1, 0.3), label="sequence"):
    """Blocks one after another separated by random gaps (s)."""
    offs, t = [], 0.0
    for i, b in enumerate(blocks):
        if i:
            t += rng.uniform(*gap)
        offs.append(t)
        t += b.dur
    return overlay(list(zip(blocks, offs)), label)


# ----------------------------------------------------------------------------
# Needle movement + insertion activity
# ----------------------------------------------------------------------------
def _rise(u, fam, p):
    """Step rise profile on u in [0, 1] -> [0, 1]."""
    u = np.clip(u, 0.0, 1.0)
    if fam == "cos":
        return 0.5 - 0.5 * np.cos(np.pi * u)
    if fam == "logistic":
        a = 1 / (1 + np.exp(p * 0.5))
        return (1 / (1 + np.exp(-p * (u - 0.5))) - a) / (1 - 2 * a)
    if fam == "smoother":
        return u ** 3 * (u * (6 * u - 15) + 10)
    return (1 - np.exp(-p * u)) / (1 - np.exp(-p))        # "expo": sharp start


def _settle(x, fam, p):
    """Return-to-baseline profile h(x), x = t/tau >= 0, h(0) = 1."""
    if fam == "exp":
        return np.exp(-x)
    if fam == "biexp":
        a, c = p
        return a * np.exp(-x) + (1 - a) * np.exp(-x / c)
    if fam == "overshoot":
        return (1 - x / p) * np.exp(-x)                     # crosses 0 at x = p
    return np.exp(-x) * np.cos(p * x)                       # "ring": damped cosine


def _settle_x(fam, p, level=0.03):
    """Dimensionless time after which |h| stays below `level`."""
    x = np.linspace(0, 80, 16001)
    h = np.abs(_settle(x, fam, p))
    return float(x[np.flatnonzero(h >= level)[-1]])


def draw_move(rng, size_uv=None, p_long=0.15, rise_ms=None):
    """Plan one needle movement: electrode-potential step + insertion spikes."""
    S = sgn(rng) * (size_uv if size_uv is not None else logu(rng, *MOVE_STEP_UV))
    if rise_ms is None:
        c = rng.random()      # a quick jab as often as a slow advance
        rng_ms = MOVE_RISE_JAB_MS if c < 0.4 else MOVE_RISE_SLOW_MS if c < 0.8 \
            else MOVE_RISE_MID_MS
        rise_ms = rng.uniform(*rng_ms)
    Tr = rise_ms * MS
    Ts = rng.uniform(*MOVE_SETTLE_MS) * MS
    rfam = str(rng.choice(["cos", "logistic", "smoother", "expo"]))
    rp = rng.uniform(6, 12) if rfam == "logistic" else rng.uniform(3, 6)
    sfam = str(rng.choice(["exp", "biexp", "overshoot", "ring"], p=[0.35, 0.25, 0.25, 0.15]))
    sp = {"exp": None, "biexp": (rng.uniform(0.3, 0.7), rng.uniform(3, 8)),
          "overshoot": rng.uniform(0.3, 2.0), "ring": rng.uniform(1.0, 3.0)}[sfam]
    tau = Ts / _settle_x(sfam, sp)
    # insertion spikes and positive sharp waves locked to the movement
    n = int(rng.integers(INS_SPIKES[0], INS_SPIKES[1] + 1))
    win = rng.uniform(*(INS_WINDOW_LONG_S if rng.random() < p_long else INS_WINDOW_S))
    st = np.sort(np.minimum(rng.uniform(0, 0.01, n) + rng.exponential(win / 3, n), win))
    p_psw = rng.uniform(0.0, 0.4)
    kind = np.where(rng.random(n) < p_psw, 2, rng.integers(0, 2, n))   # 0 lobes 1 gtone 2 psw
    sp_amp = logu(rng, *INS_SPIKE_UV, size=n)
    sp_dur = rng.uniform(*INS_SPIKE_MS, size=n) * MS
    spikes_end = float(st.max() + 0.02) if n else 0.0
    dur = max(Tr + Ts, spikes_end)
    return dict(S=S, Tr=Tr, Ts=Ts, rfam=rfam, rp=rp, sfam=sfam, sp=sp, tau=tau,
                st=st, kind=kind, sp_amp=sp_amp, sp_dur=sp_dur, dur=dur,
                n=n, win=win, rng_pars=rng.integers(1 << 62))


def render_move(ch, t_hit, mv, record=True, label="needle_move"):
    """Add a planned needle movement starting at t_hit (s); returns its truth."""
    fs = ch.fs
    s0 = int(math.floor(t_hit * fs))
    frac = t_hit * fs - s0
    Tr, tau = mv["Tr"], mv["tau"]
    L = int((Tr + 1.8 * mv["Ts"]) * fs) + 2
    t = (np.arange(L) - frac) / fs
    y = np.where(t < Tr, _rise(t / Tr, mv["rfam"], mv["rp"]),
                 _settle(np.maximum(t - Tr, 0) / tau, mv["sfam"], mv["sp"]))
    y[t < 0] = 0.0
    nt = max(L // 8, 1)                                 # fade the far tail (< 3 %)
    y[L - nt:] *= np.linspace(1, 0, nt)
    add_wave(ch, s0, mv["S"] * y)
    last = s0 + int(math.ceil((Tr + mv["Ts"]) * fs))
    # spikes (their shape parameters come from a private generator so that
    # the plan stays small)
    r = np.random.default_rng(int(mv["rng_pars"]))
    n = mv["n"]
    if n:
        times = t_hit + mv["st"]
        sign = np.where(r.random(n) < 0.5, 1.0, -1.0)
        for kind in (0, 1, 2):
            m = mv["kind"] == kind
            k = int(m.sum())
            if not k:
                continue
            D = mv["sp_dur"][m]
            if kind == 0:      # bi/triphasic lobe chain
                K = 3 if r.random() < 0.5 else 2
                signs = [1, -1, 1][:K]
                pars = draw_lobes(r, k, K, D, signs, 0.3, 1.0)
                f, l = batch(ch, times[m], lobe_chain, pars, mv["sp_amp"][m] * sign[m],
                             D.max() * 1.1)
            elif kind == 1:    # short gammatone
                nn = r.choice([2.0, 3.0], size=k)
                xe = np.where(nn == 2, gbump_end(1), gbump_end(2))
                tau_g = D / xe
                fr = r.uniform(1.2, 2.5, k) / D
                pars = dict(tau=tau_g, n=nn, f=fr, phi=r.uniform(0, 2 * np.pi, k))
                f, l = batch(ch, times[m], gammatone, pars, mv["sp_amp"][m] * sign[m],
                             D.max() * 1.1)
            else:              # positive sharp waves: positive, slow negative tail
                tpos = D
                tp = np.minimum(r.uniform(0.1, 0.4, k) * MS, 0.4 * tpos)
                tneg = r.uniform(1.0, 3.0, k) * MS
                pars = dict(tp=tp, tpos=tpos, tneg=tneg, r=r.uniform(0.1, 0.3, k))
                win = float((0.6 * tpos + tneg * 5.5).max())
                f, l = batch(ch, times[m], psw, pars, mv["sp_amp"][m], win)
            last = max(last, int(l.max()))
    ev = None
    if record:
        ev = ch.truth("distractor", label, s0, last, step_uv=round(abs(mv["S"]), 1),
                      rise_ms=round(mv["Tr"] / MS, 2), settle_ms=round(mv["Ts"] / MS, 1),
                      n_spikes=int(n))
    return ev


def move_block(ch, rng, **kw):
    mv = draw_move(rng, **kw)
    return Block(mv["dur"], lambda t0: render_move(ch, t0, mv), "move")


# ----------------------------------------------------------------------------
# Motor-unit discharges
# ----------------------------------------------------------------------------
def render_firings(ch, firings, rng):
    """firings: list of (t_abs, unit, peak_uv).

    Returns (on, off, peak, sum_peak): the extent from the first MUAP's
    departure from baseline to the last MUAP's return, the largest single
    MUAP peak and the peak of the summed discharges (uV)."""
    fs = ch.fs
    waves = []
    on, off, pk = None, None, 0.0
    for t, u, a in firings:
        s0 = int(math.floor(t * fs))
        k0, w = unit_wave(u, fs, t * fs - s0, rng)
        w = w * a
        f, l = extent(w)
        s = s0 + k0
        on = s + f if on is None else min(on, s + f)
        off = s + l if off is None else max(off, s + l)
        pk = max(pk, float(np.abs(w).max()))
        waves.append((s, w))
    lo = min(s for s, _ in waves)
    hi = max(s + len(w) for s, w in waves)
    local = np.zeros(hi - lo)
    for s, w in waves:
        local[s - lo:s - lo + len(w)] += w
    add_wave(ch, lo, local)
    return on, off, pk, float(np.abs(local).max())


def plan_ltr(rng, A, weak=False, burst_ms=LTR_BURST_MS, mode=None, n_units=None):
    """Plan one LTR: units, amplitudes and discharge times (relative, s)."""
    if n_units is None:       # a weak LTR recruits fewer units
        hi = 6 if weak else LTR_UNITS[1]
        n_units = int(rng.integers(LTR_UNITS[0], hi + 1))
    if mode is None:
        mode = "async" if rng.random() < 0.7 else "sync"
    units = [draw_unit(rng, LTR_MUAP_MS, "any") for _ in range(n_units)]
    amps = [A]
    for _ in range(n_units - 1):
        if weak:
            amps.append(rng.uniform(max(200.0, 0.5 * A), A))   # weak: units >= 200 uV
        else:
            amps.append(min(A, max(LTR_FLOOR_UV, A * rng.uniform(0.25, 0.95))))
    fir = []
    if mode == "async":
        B = rng.uniform(*burst_ms) * MS
        for j, u in enumerate(units):
            k = int(rng.integers(1, 5))
            win = max(B - u["D"], 1 * MS)
            ts = np.sort(rng.uniform(0, win, k))
            for i in range(1, k):                      # >= 8 ms between discharges
                ts[i] = max(ts[i], ts[i - 1] + 8 * MS)
            fir += [(float(x), j) for x in ts]
        # make the burst really span ~B: one unit fires last near its end
        j = int(rng.integers(0, n_units))
        fir.append((max(B - units[j]["D"], 0.0), j))
    else:
        nv = int(rng.integers(2, 5))
        tv = np.concatenate([[0.0], np.cumsum(rng.uniform(12, 40, nv - 1) * MS)])
        for j in range(n_units):
            got = False
            for v in tv:
                if rng.random() < 0.85:
                    fir.append((float(v + rng.uniform(0, 4 * MS)), j))
                    got = True
            if not got:
                fir.append((float(tv[0] + rng.uniform(0, 4 * MS)), j))
    t_min = min(t for t, _ in fir)
    fir = sorted((t - t_min, j) for t, j in fir)
    span = max(t + units[j]["D"] for t, j in fir) + 1.5 * MS
    return dict(units=units, amps=amps, fir=fir, span=span, mode=mode,
                n_units=n_units, weak=weak)


def render_ltr(ch, t_on, lp, rng):
    fir = [(t_on + t, lp["units"][j], lp["amps"][j] * (1 + rng.normal(0, 0.03)))
           for t, j in lp["fir"]]
    return render_firings(ch, fir, rng)


# ----------------------------------------------------------------------------
# Insertion train (fast-in/fast-out) with LTRs
# ----------------------------------------------------------------------------
def train_block(ch, rng, n_hits, n_ltr, amp0=(300.0, 3000.0), weak=False,
                burst_ms=LTR_BURST_MS, decay=LTR_DECAY, p_absent=0.2,
                in_epn=0, max_dur=None, interval=TRAIN_INTERVAL_S, mirror=None,
                mode=None):
    """A train of needle hits every `interval` s; n_ltr of them elicit LTRs.

    The first LTR's largest MUAP is drawn log-uniform in amp0; each of the
    next two LTRs is smaller by a factor in `decay`, later ones plateau.
    p_absent: chance that an LTR-eliciting hit leaves no visible artefact."""
    n_ltr = min(n_ltr, n_hits)
    ltr_at = set(rng.choice(n_hits, n_ltr, replace=False).tolist()) if n_ltr else set()
    A = logu(rng, *amp0)
    floor = 200.0 if weak else LTR_FLOOR_UV
    hits, t, prev_end, k = [], 0.0, -1.0, 0
    for i in range(n_hits):
        if i:
            t += rng.uniform(*interval)
        h = dict(t=t, mv=None, lp=None)
        if i in ltr_at:
            if k in (1, 2):
                A *= rng.uniform(*decay)
            elif k >= 3:
                A = A * rng.uniform(0.95, 1.05) if rng.random() < 0.5 else A
            Ak = max(A, floor)
            lat = rng.uniform(*LTR_LATENCY_MS) * MS
            if t + lat < prev_end + 0.03:            # LTRs never overlap
                t = prev_end + 0.03 - lat
                h["t"] = t
            h["lp"] = plan_ltr(rng, Ak, weak=weak, burst_ms=burst_ms, mode=mode)
            h["lat"] = lat
            prev_end = t + lat + h["lp"]["span"]
            k += 1
            if rng.random() >= p_absent:
                h["mv"] = draw_move(rng)
            h["surf"] = mirror is not None and rng.random() < 0.1
            if h["surf"]:
                h["surf_units"] = [draw_unit(rng, SURF_MUAP_MS, "surface")
                                   for _ in h["lp"]["units"]]
                h["surf_gain"] = logu(rng, *SURF_LTR_UV) / Ak
        else:
            h["mv"] = draw_move(rng)
        end = t + max(h["mv"]["dur"] if h["mv"] else 0.0,
                      (h["lat"] + h["lp"]["span"]) if h["lp"] else 0.0)
        if max_dur is not None and end > max_dur and i > 0:
            break
        h["end"] = end
        hits.append(h)
    dur = max(h["end"] for h in hits)

    def render(t0):
        tid = ch.ids["train"]
        ch.ids["train"] += 1
        idx, ltr_times = 0, []
        for h in hits:
            th = t0 + h["t"]
            mv_uv = 0.0
            if h["mv"] is not None:
                render_move(ch, th, h["mv"])
                mv_uv = abs(h["mv"]["S"])
            if h["lp"] is not None:
                on, off, pk, bpk = render_ltr(ch, th + h["lat"], h["lp"], rng)
                ch.truth("ltr", "ltr", on, off, movement_sample=ch.samp(th),
                         movement_uv=round(mv_uv, 1), amp_uv=round(pk, 1),
                         burst_peak_uv=round(bpk, 1),
                         n_units=h["lp"]["n_units"], in_epn=int(in_epn),
                         train_id=tid, train_index=idx,
                         mode=h["lp"]["mode"], latency_ms=round(h["lat"] / MS, 1))
                ch.ltr_spans.append((on, off))
                ltr_times.append(th + h["lat"])
                if h.get("surf"):
                    sch = mirror
                    fir = [(th + h["lat"] + tt, h["surf_units"][j],
                            h["lp"]["amps"][j] * h["surf_gain"]) for tt, j in h["lp"]["fir"]]
                    on2, off2, pk2, bpk2 = render_firings(sch, fir, rng)
                    sch.truth("ltr", "ltr", on2, off2, movement_sample=sch.samp(th),
                              movement_uv=0.0, amp_uv=round(pk2, 1),
                              burst_peak_uv=round(bpk2, 1),
                              n_units=h["lp"]["n_units"], in_epn=0, train_id=tid,
                              train_index=idx, mode=h["lp"]["mode"],
                              latency_ms=round(h["lat"] / MS, 1))
                    sch.ltr_spans.append((on2, off2))
                idx += 1
        return ltr_times
    blk = Block(dur, render, "train")
    blk.n_ltr = sum(1 for h in hits if h["lp"] is not None)
    return blk


def ltr_block(ch, rng, **kw):
    """A single needle hit that elicits one LTR (a one-hit train)."""
    return train_block(ch, rng, 1, 1, **kw)


# ----------------------------------------------------------------------------
# Endplate noise episode
# ----------------------------------------------------------------------------
_KGRID = np.linspace(2.0, 3.0, 11)
_KEND = np.array([gbump_end(k, 0.03) for k in _KGRID])   # the tail's 3 % point


def render_epn(ch, t0, t1, p, ltr_times, rng, truncated):
    """MEPPs (inhomogeneous Poisson) + endplate spikes between t0 and t1 (s)."""
    T = t1 - t0
    # slow rate modulation (needle micro-motion, 0.1-1 Hz, <= +-30 %)
    fm = rng.uniform(0.1, 1.0, 3)
    dm = rng.dirichlet(np.ones(3)) * rng.uniform(0.0, 0.3)
    ph = rng.uniform(0, 2 * np.pi, 3)

    def mod(t):
        return 1 + (dm[None, :] * np.sin(2 * np.pi * fm[None, :] * t[:, None] + ph)).sum(1)
    rmax = p["rate"] * (1 + dm.sum())
    n = rng.poisson(rmax * T)
    tt = np.sort(rng.uniform(t0, t1, n))
    tt = tt[rng.random(n) < mod(tt - t0) / (1 + dm.sum())]
    n = len(tt)
    lt = np.asarray(sorted(ltr_times))

    def drop(t):                                  # EPN shrinks after each LTR
        f = np.ones(len(t))
        for x, g in zip(lt, p["drops"]):
            f[t > x] *= g
        return f
    amp = np.clip(np.exp(rng.normal(math.log(p["med"]), p["sig"], n)), *MEPP_CLIP_UV)
    amp = amp * drop(tt)
    fam = rng.integers(0, 3, n)
    tp = rng.uniform(*MEPP_RISE_MS, n) * MS
    td = rng.uniform(*MEPP_DECAY_MS, n) * MS
    for i, fn in enumerate(MEPP_FAMILIES):
        m = fam == i
        batch(ch, tt[m], fn, dict(tp=tp[m], td=td[m]), -amp[m], MEPP_WIN_MS * MS)
    # endplate spikes: gamma-renewal intervals (CV > 1: very irregular)
    kk = rng.uniform(0.3, 0.8)
    isi = rng.gamma(kk, 1.0 / (kk * p["eps_rate"]), int(p["eps_rate"] * T * 3) + 10)
    et = t0 + np.cumsum(np.maximum(isi, 4 * MS))
    et = et[et < t1 - 6 * MS]
    ne = len(et)
    ea = np.clip(np.exp(rng.normal(math.log(p["eps_med"]), 0.45, ne)), *EPS_CLIP_UV)
    ea = ea * drop(et) * np.where(rng.random(ne) < p["pos_first"], -1.0, 1.0)
    D = rng.uniform(*EPS_MS, ne) * MS
    pair = rng.random(ne) < 0.6
    if pair.any():
        m = pair
        k = rng.choice(_KGRID, m.sum())
        xe = np.interp(k, _KGRID, _KEND)
        c2 = rng.uniform(1.0, 2.0, m.sum())
        cd = rng.uniform(0.8, 1.6, m.sum())
        tau1 = D[m] / (cd + c2 * xe)
        batch(ch, et[m], eps_gamma_pair,
              dict(tau1=tau1, c2=c2, cd=cd, q=rng.uniform(0.7, 1.1, m.sum()), k=k),
              ea[m], float(D[m].max()) * 1.2)
    if (~pair).any():
        m = ~pair
        pars = draw_lobes(rng, int(m.sum()), 2, D[m], [-1, 1], 0.5, 1.0)
        pars["A"][:, 0] = -1.0
        batch(ch, et[m], lobe_chain, pars, ea[m], float(D[m].max()) * 1.1)
    ch.truth("epn", "epn", ch.samp(t0), ch.samp(t1) - 1,
             mepp_rate_hz=round(n / T, 1), amp_uv=round(float(np.median(amp)), 1) if n else 0.0,
             eps_rate_hz=round(ne / T, 2), truncated=bool(truncated))


def epn_block(ch, rng, dur=None, n_hits=0, n_ltr=0, train_kw=None,
              truncated=None, p_arrive=0.6, p_leave=0.4, T_file=None):
    """An EPN episode (needle resting at an active locus) of `dur` s, with an
    optional inner insertion train whose LTRs are flagged in_epn.

    truncated: None, "start" (episode begins before the file) or "end"."""
    if dur is None:
        dur = rng.uniform(*EPN_DUR_S)
    p = dict(rate=float(logu(rng, *MEPP_RATE_HZ)), med=rng.uniform(*MEPP_MEDIAN_UV),
             sig=rng.uniform(0.3, 0.6), eps_rate=float(logu(rng, *EPS_RATE_HZ)),
             eps_med=rng.uniform(*EPS_MEDIAN_UV), pos_first=rng.uniform(*EPS_POS_FIRST),
             drops=rng.uniform(*EPN_DROP_PER_LTR, 20))
    arrive = draw_move(rng) if (truncated != "start" and rng.random() < p_arrive) else None
    leave = draw_move(rng) if (truncated != "end" and rng.random() < p_leave) else None
    pre = arrive["Tr"] if arrive else 0.0
    inner = None
    if n_hits:
        # keep LTRs >= 1 s from the file ends even in a truncated episode
        lead = 1.2 if truncated == "start" else 0.3
        tail = 1.2 if truncated == "end" else 0.4
        inner = train_block(ch, rng, n_hits, n_ltr, in_epn=1,
                            max_dur=dur - lead - tail, **(train_kw or {}))
        inner_off = rng.uniform(lead, max(lead + 0.01, dur - inner.dur - tail))
    total = pre + dur + (leave["dur"] if leave else 0.0)

    def render(t0):
        ts = t0 + pre
        te = ts + dur
        if truncated == "start":
            ts = 0.0
        if truncated == "end":
            te = T_file
        if arrive:
            render_move(ch, t0, arrive)
        lt = inner.render(ts + inner_off) if inner else []
        render_epn(ch, ts, te, p, lt, rng, truncated)
        if leave:
            render_move(ch, te, leave)
    blk = Block(total, render, "epn")
    blk.n_ltr = inner.n_ltr if inner else 0
    return blk


# ----------------------------------------------------------------------------
# Distractors
# ----------------------------------------------------------------------------
def pop_block(ch, rng, amp=None):
    """Electrode pop / cable knock: one sharp step decaying over a few ms
    (a surface electrode's pop is slower and never rings)."""
    surf = ch.electrode == "surface"
    S = sgn(rng) * (amp if amp is not None else logu(rng, *(SURF_POP_UV if surf else POP_UV)))
    tr = rng.uniform(0.03, 0.3) * MS
    tau = rng.uniform(*(SURF_POP_TAU_MS if surf else POP_TAU_MS)) * MS
    variant = "knock" if (rng.random() < 0.3 and not surf) else "pop"
    u = rng.uniform(0.0, 0.15)
    tau2 = tau * rng.uniform(3, 6)
    fr = rng.uniform(300, 1500)
    dur = tr + 10 * tau2 if variant == "pop" else tr + 8 * tau

    def render(t0):
        fs = ch.fs
        s0 = int(math.floor(t0 * fs))
        t = (np.arange(int(dur * fs) + 2) - (t0 * fs - s0)) / fs
        x = np.maximum(t - tr, 0)
        if variant == "pop":
            d = (1 + u) * np.exp(-x / tau) - u * np.exp(-x / tau2)
        else:
            d = np.exp(-x / tau) * np.cos(2 * np.pi * fr * x)
        r = np.clip(t / tr, 0, 1)
        w = S * np.where(t < tr, r * r * (3 - 2 * r), d)
        w[t < 0] = 0
        nt = max(len(w) // 10, 1)
        w[-nt:] *= np.linspace(1, 0, nt)
        f, l = add_wave(ch, s0, w)
        if surf:      # the surface amplifier's 20 Hz high-pass rings afterwards
            l += int(SURF_POP_RING_S * fs)
        ch.truth("distractor", "pop", f, l, amp_uv=round(abs(S), 1), variant=variant)
    return Block(dur, render, "pop")


def _regular_train(rng, t_start, t_end, rate_fn, cv):
    """Discharge times of a regularly firing unit (ISI CV `cv`)."""
    ts, t = [], t_start
    while t < t_end:
        ts.append(t)
        t += max(1.0 / rate_fn(t) * (1 + cv * rng.standard_normal()), 0.02)
    return ts


def voluntary_block(ch, rng, dur=None, n_units=None, mirror=None):
    """Voluntary contraction: 1-3 triphasic units recruited in order of size,
    firing regularly at 5-20 Hz, the rate following a smooth effort curve."""
    D = dur if dur is not None else rng.uniform(*VOL_DUR_S)
    nu = n_units if n_units is not None else int(rng.integers(VOL_UNITS[0], VOL_UNITS[1] + 1))
    units = [draw_unit(rng, VOL_MUAP_MS, "tri") for _ in range(nu)]
    amps = np.sort(logu(rng, *VOL_UV, size=nu))
    thr = np.concatenate([[0.0], np.sort(rng.uniform(0.15, 0.7, nu - 1))])
    gam = rng.uniform(0.3, 1.0)
    rmin = rng.uniform(5.0, 7.0)
    rmax = rng.uniform(10.0, VOL_RATE_HZ[1], nu)
    cv = rng.uniform(0.08, 0.2, nu)

    def effort(t):
        return max(math.sin(math.pi * min(max(t / D, 0), 1)), 0.0) ** gam
    fir = []
    grid = np.linspace(0, D, 400)
    e = np.array([effort(x) for x in grid])
    for j in range(nu):
        on = grid[e >= thr[j]]
        if len(on) == 0:
            continue
        a, b = on[0], on[-1]

        def rate(t, j=j):
            x = (effort(t) - thr[j]) / (1 - thr[j] + 1e-9)
            return rmin + (rmax[j] - rmin) * min(max(x, 0), 1)
        for t in _regular_train(rng, a + rng.uniform(0, 0.05), b, rate, cv[j]):
            fir.append((t, j))
    surf = [draw_unit(rng, SURF_MUAP_MS, "surface") for _ in units] if mirror else None
    sg = logu(rng, *SURF_GAIN)

    def render(t0):
        on, off, pk, _ = render_firings(ch, [(t0 + t, units[j], amps[j] * (1 + rng.normal(0, 0.03)))
                                          for t, j in fir], rng)
        ch.truth("distractor", "voluntary", on, off, amp_uv=round(pk, 1), n_units=nu)
        if mirror:
            on, off, pk, _ = render_firings(mirror, [(t0 + t, surf[j], amps[j] * sg)
                                                  for t, j in fir], rng)
            mirror.truth("distractor", "voluntary", on, off, amp_uv=round(pk, 1), n_units=nu)
    return Block(max(t for t, _ in fir) + 0.03, render, "voluntary")


def flinch_block(ch, rng, mirror=None):
    """Flinch: needle movement, then after a reaction time a short regular
    volley of a few voluntary units."""
    mv = draw_move(rng)
    delay = rng.uniform(*FLINCH_DELAY_MS) * MS
    Dfire = rng.uniform(*FLINCH_FIRE_MS) * MS
    nu = int(rng.integers(1, 5))
    units = [draw_unit(rng, VOL_MUAP_MS, "tri") for _ in range(nu)]
    amps = logu(rng, *FLINCH_UV, size=nu)
    fir = []
    for j in range(nu):
        r0 = rng.uniform(*FLINCH_RATE_HZ)
        ts = _regular_train(rng, delay + rng.uniform(0, 0.03), delay + Dfire,
                            lambda t, r0=r0: r0, rng.uniform(0.05, 0.12))
        fir += [(t, j) for t in ts]
    surf = [draw_unit(rng, SURF_MUAP_MS, "surface") for _ in units] if mirror else None
    sg = logu(rng, *SURF_GAIN)
    dur = max(mv["dur"], max(t for t, _ in fir) + 0.03)

    def render(t0):
        render_move(ch, t0, mv)
        on, off, pk, _ = render_firings(ch, [(t0 + t, units[j], amps[j] * (1 + rng.normal(0, 0.03)))
                                          for t, j in fir], rng)
        ch.truth("distractor", "flinch", on, off, amp_uv=round(pk, 1), n_units=nu,
                 movement_sample=ch.samp(t0), delay_ms=round(delay / MS, 1))
        if mirror:
            on, off, pk, _ = render_firings(mirror, [(t0 + t, surf[j], amps[j] * sg)
                                                  for t, j in fir], rng)
            mirror.truth("distractor", "flinch", on, off, amp_uv=round(pk, 1), n_units=nu,
                         movement_sample=mirror.samp(t0), delay_ms=round(delay / MS, 1))
    return Block(dur, render, "flinch")


def fib_block(ch, rng, dur=None):
    """Fibrillation potentials: 1-3 denervated fibres, each firing a fixed
    initial-positive triphasic potential at a very regular 0.5-15 Hz."""
    D = dur if dur is not None else rng.uniform(*FIB_DUR_S)
    nfib = int(rng.integers(1, 4))
    fibers = []
    for _ in range(nfib):
        rate = rng.uniform(*FIB_RATE_HZ)
        Df = max(D, 4.0 / rate)
        t_start = rng.uniform(0, 0.3)
        cv = rng.uniform(0.003, 0.03)
        drift = rng.uniform(-0.1, 0.1)           # slow rate drift over the train
        ts = _regular_train(rng, t_start, t_start + Df,
                            lambda t, rate=rate, Df=Df, drift=drift: rate * (1 + drift * t / Df), cv)
        amp = logu(rng, *FIB_UV)
        dur_f = logu(rng, *FIB_MS) * MS
        pars = draw_lobes(rng, 1, 3, np.array([dur_f]), [1, -1, 1], 0.2, 0.6)
        pars["W"][0] = pars["W"][0] / pars["W"][0].sum() * dur_f
        pars["W"][0, 0] *= 0.7                   # sharp initial positive phase
        pars["A"][0, 1] = -1.0
        pars["A"][0, 0] = rng.uniform(0.3, 0.8)
        fibers.append(dict(ts=np.array(ts), amp=amp, pars=pars, dur=dur_f, rate=rate))
    total = max(f["ts"].max() + f["dur"] for f in fibers) + 0.01

    def render(t0):
        on, off, pk = None, None, 0.0
        for f in fibers:
            n = len(f["ts"])
            pars = {k: np.repeat(v, n, axis=0) * (1 + rng.normal(0, 0.01, (n, v.shape[1]))
                                                  if k == "W" else 1)
                    for k, v in f["pars"].items()}
            a, b = batch(ch, t0 + f["ts"], lobe_chain, pars, np.full(n, f["amp"]), f["dur"] * 1.15)
            on = a.min() if on is None else min(on, a.min())
            off = b.max() if off is None else max(off, b.max())
            pk = max(pk, f["amp"])
        ch.truth("distractor", "fibrillation", on, off, amp_uv=round(pk, 1),
                 rate_hz=[round(f["rate"], 2) for f in fibers])
    return Block(total, render, "fib")
