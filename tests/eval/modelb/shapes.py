"""Pulse-shape families for the model-B needle-EMG generator.

Conventions
-----------
* Time `t` is in seconds since the event's nominal start (t < 0 -> before it).
* Vectorised families take `t` as a 2-D array (events x samples) and their
  parameters as column vectors (events x 1); they return waveforms whose
  peak |value| is about 1. The exact normalisation to the wanted peak in uV
  is done by render.batch() on the rendered samples, so the truth peaks are
  the peaks actually written.
* Polarity is real voltage: negative = the clinical "upward" deflection.

Families used (chosen to differ from the usual Gaussian / Hermite
derivatives):
  MEPP            difference of exponentials, gamma bump, log-normal bump
  endplate spike  pair of opposite gamma bumps (area balanced), 2-lobe chain
  MUAP            sine-lobe chain (warped lobes, smoothed), fibre sum
                  (dispersed single-fibre tripoles), gammatone
  fibrillation    3-lobe chain starting positive
  insertion spike lobe chain (2-3 lobes) or short gammatone
  positive sharp wave  gamma bump (positive) + slow negative gamma tail
"""
import math
import numpy as np

MS = 1e-3  # seconds per millisecond


# ----------------------------------------------------------------------------
# Elementary bumps
# ----------------------------------------------------------------------------
def gbump(t, tau, k):
    """Gamma bump (t/tau)^k * exp(k*(1 - t/tau)); peak 1 at t = tau, 0 for t<=0."""
    x = np.maximum(t, 1e-15) / tau
    y = np.exp(k * (np.log(x) + 1.0 - x))
    return np.where(t > 0, y, 0.0)


def gbump_end(k, level=0.01):
    """x = t/tau after the peak where gbump(.,1,k) has fallen to `level`."""
    x = 1.0
    while x ** k * math.exp(k * (1 - x)) > level:
        x += 0.01
    return x


# ----------------------------------------------------------------------------
# MEPP families: monophasic, peak at tp (time to peak, s), decay constant td (s)
# ----------------------------------------------------------------------------
def _dexp_fast_tau(tp, td):
    """Fast time constant tr so that exp(-t/td) - exp(-t/tr) peaks at tp (< td).

    Vectorised bisection: the peak time of the difference of exponentials
    rises monotonically with tr from 0 to td."""
    lo = np.full(np.shape(tp), 1e-9)
    hi = td * 0.999
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        tpk = mid * td / (td - mid) * np.log(td / mid)
        big = tpk > tp
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    return 0.5 * (lo + hi)


def pulse_dexp(t, tp, td):
    """Difference of exponentials (the classical synaptic-current shape)."""
    td = np.maximum(td, 1.2 * tp)          # a DoE cannot peak later than ~td
    tr = _dexp_fast_tau(tp, td)
    tt = np.maximum(t, 0.0)
    peak = np.exp(-tp / td) - np.exp(-tp / tr)
    return np.where(t > 0, (np.exp(-tt / td) - np.exp(-tt / tr)) / peak, 0.0)


def pulse_gamma(t, tp, td):
    """t^k exp(-t/td) with k = tp/td: peak 1 at tp, exponential tail td."""
    k = tp / td
    x = np.maximum(t, 1e-15) / tp
    return np.where(t > 0, np.exp(k * np.log(x) - (t - tp) / td), 0.0)


def pulse_lognorm(t, tp, td):
    """exp(-ln(t/tp)^2 / 2s^2): peak at tp, half-maximum td*ln2 after the peak."""
    s = np.log1p(td * math.log(2.0) / tp) / math.sqrt(2 * math.log(2.0))
    x = np.maximum(t, 1e-15) / tp
    return np.where(t > 0, np.exp(-np.log(x) ** 2 / (2 * s * s)), 0.0)


MEPP_FAMILIES = (pulse_dexp, pulse_gamma, pulse_lognorm)


# ----------------------------------------------------------------------------
# Endplate spikes (biphasic, 2-5 ms); sign handled by the caller's amplitude
# ----------------------------------------------------------------------------
def eps_gamma_pair(t, tau1, c2, cd, q, k):
    """Negative gamma bump (peak at tau1) followed by a broader positive bump
    starting at cd*tau1 and peaking c2*tau1 later; q = ratio of the positive
    to the negative area (q=1 -> zero net area, as an AC-coupled spike)."""
    tau2 = c2 * tau1
    return -gbump(t, tau1, k) + q * (tau1 / tau2) * gbump(t - cd * tau1, tau2, k)


def lobe_chain(t, W, A, S, P):
    """Chain of warped sine lobes, vectorised.

    W: lobe widths (events x K, s), A: signed lobe amplitudes, S: warp in
    (-0.6, 0.6) (skews each lobe: u' = u + S*u*(1-u)), P: exponent of the
    first and last lobe (>1 leaves/joins the baseline smoothly)."""
    K = W.shape[1]
    B = np.concatenate([np.zeros((W.shape[0], 1)), np.cumsum(W, axis=1)], axis=1)
    y = np.zeros(np.broadcast(t, W[:, :1]).shape)
    for k in range(K):
        u = (t - B[:, k:k + 1]) / W[:, k:k + 1]
        m = (u >= 0) & (u < 1)
        uc = np.clip(u, 0.0, 1.0)
        uc = uc + S[:, k:k + 1] * uc * (1 - uc)
        v = np.sin(np.pi * uc)
        if k == 0 or k == K - 1:
            v = v ** P[:, k:k + 1]
        y += np.where(m, A[:, k:k + 1] * v, 0.0)
    return y


def gammatone(t, tau, n, f, phi):
    """Gamma-envelope tone: gbump(t, tau, n-1) * cos(2 pi f t + phi)."""
    return gbump(t, tau, n - 1) * np.cos(2 * np.pi * f * t + phi)


def psw(t, tp, tpos, tneg, r):
    """Positive sharp wave: sharp positive gamma pulse (peak at tp, lasting
    ~tpos) then a slow, shallow negative gamma bump (tau tneg, depth r)."""
    pos = pulse_gamma(t, tp, np.maximum(tpos / 4.6, 0.3 * tp))
    neg = gbump(t - 0.6 * tpos, tneg, 2.0)
    return pos - r * neg


# ----------------------------------------------------------------------------
# Parameter draws for the vectorised families
# ----------------------------------------------------------------------------
def draw_lobes(rng, n, K, dur, signs, mag_lo, mag_hi, min_w=0.0):
    """Lobe-chain parameters for n events of K lobes and total duration dur (s, array n).

    signs: length-K sequence of +1/-1 (lobe polarities), the largest |amp| is
    the lobe whose magnitude range is (1,1)."""
    w = rng.gamma(3.0, 1.0, size=(n, K))
    w = w / w.sum(1, keepdims=True) * dur[:, None]
    if min_w > 0:
        w = np.maximum(w, min_w)
    mags = rng.uniform(mag_lo, mag_hi, size=(n, K))
    A = mags * np.asarray(signs, float)[None, :]
    S = rng.uniform(-0.5, 0.5, size=(n, K))
    P = rng.uniform(1.2, 2.0, size=(n, K))
    return dict(W=w, A=A, S=S, P=P)


# ----------------------------------------------------------------------------
# Motor units (one shape per unit, re-rendered per discharge with jitter)
# ----------------------------------------------------------------------------
_GT_END = {n: gbump_end(n - 1) for n in (2, 3, 4)}


def draw_unit(rng, dur_ms=(3.0, 20.0), style="any"):
    """Draw a motor-unit potential shape.

    style 'any' : bi-, tri- or polyphasic (LTR units)
    style 'tri' : triphasic (voluntary / flinch units)
    style 'surface' : broad, smooth 2-3 phase potential (surface electrode)
    Returns a dict consumed by unit_wave()."""
    D = rng.uniform(*dur_ms) * MS
    if style == "surface":
        # seen through skin and fat: 2-3 broad smooth phases
        K = int(rng.choice([2, 3]))
        A = [-1.0, rng.uniform(0.4, 0.9)] if K == 2 else \
            [rng.uniform(0.1, 0.4), -1.0, rng.uniform(0.3, 0.7)]
        w = rng.gamma(4.0, 1.0, size=K)
        w = np.maximum(w / w.sum() * D, 3.0 * MS)
        return dict(fam="lobes", D=float(w.sum()), flip=1.0 if rng.random() < 0.8 else -1.0,
                    W=w, A=np.array(A), S=rng.uniform(-0.3, 0.3, K), P=2.0,
                    smooth=rng.uniform(0.3, 0.5), norm=None)
    if style == "tri":
        fam = rng.choice(["lobes", "fibers"], p=[0.55, 0.45])
    else:
        fam = rng.choice(["lobes", "fibers", "gtone"], p=[0.4, 0.35, 0.25])
    flip = -1.0 if rng.random() < 0.15 else 1.0   # main phase positive sometimes
    u = dict(fam=str(fam), D=D, flip=flip)
    if fam == "lobes":
        if style == "tri":
            K = 3
        else:
            K = int(rng.choice([2, 3, 3, 4, 5, 6]))
        if K == 3:
            A = [rng.uniform(0.12, 0.45), -1.0, rng.uniform(0.25, 0.7)]
        elif K == 2:
            A = [-1.0, rng.uniform(0.35, 0.9)] if rng.random() < 0.7 else \
                [rng.uniform(0.35, 0.9), -1.0]
        else:
            s0 = 1.0 if rng.random() < 0.5 else -1.0
            A = [s0 * (-1) ** i * rng.uniform(0.25, 1.0) for i in range(K)]
            j = int(rng.integers(0, K))
            A[j] = math.copysign(1.0, A[j])
        w = rng.gamma(4.0, 1.0, size=K)
        w = w / w.sum() * D
        w = np.maximum(w, 1.3 * MS)               # keeps energy below ~400 Hz
        u.update(W=w, A=np.array(A), S=rng.uniform(-0.5, 0.5, K),
                 P=rng.uniform(1.2, 2.0), smooth=rng.uniform(0.1, 0.25))
    elif fam == "fibers":
        nf = int(rng.integers(8, 41))
        tf0 = float(np.clip(rng.uniform(0.25, 0.6) * D, 2.5 * MS, 8 * MS))  # fibre AP width
        r = np.exp(rng.uniform(math.log(1.0), math.log(20.0), nf))  # distances
        wts = r ** -rng.uniform(1.0, 2.0)
        tf = tf0 * (1 + 0.08 * (r - 1))                     # far fibres broader
        tf = np.minimum(tf, 0.6 * D + tf0)
        spread = max(D - tf0, 0.3 * MS)                     # endplate dispersion
        if style == "tri":
            spread = min(spread, rng.uniform(0.3, 2.0) * MS)
        d = spread * rng.beta(1.3, 1.3 + 2 * rng.random(), nf)
        # template tripole on [0, 1]
        g = np.linspace(0, 1, 257)
        tw = rng.uniform([0.18, 0.3, 0.3], [0.3, 0.42, 0.45])
        tw = tw / tw.sum()
        tp = lobe_chain(g[None, :], tw[None, :],
                        np.array([[rng.uniform(0.2, 0.5), -1.0, rng.uniform(0.3, 0.7)]]),
                        rng.uniform(-0.4, 0.4, (1, 3)), np.full((1, 3), 1.6))[0]
        u.update(nf=nf, tf=tf, d=d, wts=wts, grid=g, tmpl=tp,
                 jit=rng.uniform(10e-6, 40e-6), smooth=0.0)
        u["D"] = d.max() + tf.max()
    else:  # gammatone
        n = int(rng.choice([2, 3, 4]))
        tau = D / _GT_END[n]
        m = rng.uniform(1.5, 4.5)                           # half cycles
        f = float(np.clip(m / (2 * 0.7 * D), 40.0, 330.0))
        u.update(n=n, tau=tau, f=f, phi=rng.uniform(0, 2 * np.pi), smooth=0.0)
    u["norm"] = None
    return u


def _unit_eval(u, t, rng=None):
    """Evaluate a unit's waveform (unnormalised) at times t (1-D, s)."""
    fam = u["fam"]
    if fam == "lobes":
        W = u["W"][None, :]
        if rng is not None:                      # tiny discharge-to-discharge shape jitter
            W = W * (1 + rng.normal(0, 0.01, W.shape))
        K = W.shape[1]
        y = lobe_chain(t[None, :], W, u["A"][None, :], u["S"][None, :],
                       np.full((1, K), u["P"]))[0]
    elif fam == "fibers":
        d = u["d"]
        if rng is not None:                      # neuromuscular jitter per fibre
            d = d + rng.normal(0, u["jit"], d.shape)
        x = (t[None, :] - d[:, None]) / u["tf"][:, None]
        y = (np.interp(x.ravel(), u["grid"], u["tmpl"], left=0.0, right=0.0)
             .reshape(x.shape) * u["wts"][:, None]).sum(0)
    else:
        y = gammatone(t, u["tau"], u["n"], u["f"], u["phi"])
        end = u["tau"] * _GT_END[u["n"]]
        y = y * np.clip((end - t) / (0.15 * end), 0, 1)   # finite support
    return y * u["flip"]


def unit_wave(u, fs, frac, rng):
    """Render one discharge of unit u.

    frac: fractional sample offset of the nominal start (0..1).
    Returns (k0, w): w[i] belongs to sample (start_sample + k0 + i)."""
    pad = 0.6 * MS
    k0 = -int(math.ceil(pad * fs))
    L = int(math.ceil((u["D"] + 2 * pad) * fs)) + 2
    t = (np.arange(L) + k0 - frac) / fs
    if u["norm"] is None:                        # normalise on a jitter-free reference
        ref = _unit_eval(u, t)
        ref = _smooth(ref, u, fs)
        u["norm"] = 1.0 / max(np.abs(ref).max(), 1e-12)
    y = _smooth(_unit_eval(u, t, rng), u, fs) * u["norm"]
    return k0, y


def _smooth(y, u, fs):
    """Round the lobe chain's junctions with a short Hann kernel (a fraction of
    the narrowest lobe), as the needle's recording area would."""
    if u["fam"] != "lobes":
        return y
    n = int(u["smooth"] * u["W"].min() * fs)
    if n < 3:
        return y
    n |= 1
    ker = np.hanning(n + 2)[1:-1]
    return np.convolve(y, ker / ker.sum(), mode="same")
