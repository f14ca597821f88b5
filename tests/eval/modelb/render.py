"""Rendering helpers: a per-channel buffer (uV at the electrode, internal
sample rate) plus two ways of adding events to it:

* add_wave():  one waveform added by slicing (MUAPs, steps, pops);
* batch():     many short events of one vectorised family at continuous
               start times, scattered in with numpy.bincount (MEPPs,
               endplate spikes, insertion spikes, fibrillations).

Both return the sample extent where the event's own waveform is at least
1 % of its peak: that is the "leaves baseline" point written to the truth.
"""
import math
import numpy as np

EXTENT_FRAC = 0.01   # fraction of an event's own peak that defines its extent


class Chan:
    """One recorded channel while it is being built (internal rate `fs`)."""

    def __init__(self, idx, fs, n, electrode, rng):
        self.idx = idx
        self.fs = fs              # internal sample rate, Hz
        self.n = n                # internal frames
        self.electrode = electrode
        self.rng = rng
        self.buf = np.zeros(n)    # uV
        self.events = []          # truth dicts, sample indices at internal rate
        self.ltr_spans = []       # (on, off) of LTRs, for the overlap check

    def samp(self, t):
        """Time (s) -> internal sample index."""
        return int(math.floor(t * self.fs))

    def truth(self, typ, kind, on, off, **extra):
        ev = dict(type=typ, kind=kind, channel=self.idx,
                  onset_sample=int(on), offset_sample=int(off))
        ev.update(extra)
        self.events.append(ev)
        return ev


def extent(w, frac=EXTENT_FRAC):
    """(first, last) index where |w| >= frac * max|w|; (0, -1) if w is all 0."""
    a = np.abs(w)
    pk = a.max() if a.size else 0.0
    if pk <= 0:
        return 0, -1
    idx = np.flatnonzero(a >= frac * pk)
    return int(idx[0]), int(idx[-1])


def add_wave(ch, start, w):
    """Add w into ch.buf from internal sample `start` (clipped at the edges).
    Returns the absolute (first, last) extent of w (unclipped)."""
    n = ch.n
    a = max(start, 0)
    b = min(start + len(w), n)
    if b > a:
        ch.buf[a:b] += w[a - start:b - start]
    f, l = extent(w)
    return start + f, start + l


def batch(ch, t0, fn, params, amps, win_s, taper=0.15):
    """Render len(t0) events of the vectorised family fn(t, **params).

    t0: start times (s), params: dict of 1-D arrays, amps: signed peak (uV),
    win_s: render window per event (s); its last `taper` fraction is faded
    out so every event has finite support.
    Returns arrays (first, last) of absolute internal sample extents."""
    t0 = np.asarray(t0, float)
    amps = np.asarray(amps, float)
    N = len(t0)
    first = np.zeros(N, np.int64)
    last = np.zeros(N, np.int64)
    if N == 0:
        return first, last
    fs = ch.fs
    L = int(math.ceil(win_s * fs)) + 2
    k = np.arange(L)
    nt = max(int(taper * L), 1)
    tap = np.ones(L)
    tap[L - nt:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, nt + 1) / nt)
    rows = max(1, int(2_000_000 // L))
    for i in range(0, N, rows):
        sl = slice(i, i + rows)
        s0 = np.floor(t0[sl] * fs).astype(np.int64)
        t = (s0[:, None] + k[None, :]) / fs - t0[sl, None]
        p = {}
        for key, v in params.items():
            v = np.asarray(v, float)
            p[key] = v[sl, None] if v.ndim == 1 else v[sl]
        y = fn(t, **p) * tap[None, :]
        pk = np.abs(y).max(1)
        pk[pk == 0] = 1.0
        y *= (amps[sl] / pk)[:, None]
        m = np.abs(y) >= EXTENT_FRAC * np.abs(amps[sl])[:, None]
        first[sl] = s0 + m.argmax(1)
        last[sl] = s0 + (L - 1 - m[:, ::-1].argmax(1))
        idx = s0[:, None] + k[None, :]
        lo = max(int(s0.min()), 0)
        hi = min(int(s0.max()) + L, ch.n)
        if hi <= lo:
            continue
        ok = (idx >= lo) & (idx < hi)
        acc = np.bincount((idx - lo)[ok], weights=y[ok], minlength=hi - lo)
        ch.buf[lo:hi] += acc[:hi - lo]
    return first, last
