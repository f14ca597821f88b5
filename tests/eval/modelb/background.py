"""Background: mains interference, amplifier/electrode noise, baseline
wander, and the recording chain (amplifier band, anti-alias filter,
decimation to the file rate).

The noise components are synthesised directly in the frequency domain and
added to the spectrum of the event buffer, so one rfft/irfft pair per
channel does everything. The electrode band filters are causal
(analog Butterworth responses), so nothing appears before its true onset;
the needle's 10 kHz low-pass delays events by only ~20 us.
"""
import math
import numpy as np

NEEDLE_LP_HZ = 10000.0      # needle EMG low-pass (S: recording practice)
SURFACE_BAND_HZ = (20.0, 450.0)   # surface EMG band (SENIAM, De Luca 2010)
MAINS_TOP_HZ = 5000.0       # highest mains harmonic generated
TABLE = 16384               # points per mains cycle in the wave table


def _parseval_rms(X, n):
    """RMS of irfft(X, n) from its spectrum."""
    w = np.full(len(X), 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return math.sqrt(float((w * (X.real ** 2 + X.imag ** 2)).sum())) / n


def _butter(f, fc, order, kind):
    """Complex (causal) response of an analog Butterworth filter at f (Hz)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1j * f / fc if kind == "lp" else fc / (1j * np.where(f > 0, f, 1e-30))
    H = np.ones(len(f), complex)
    for k in range(1, order + 1):
        H /= s - np.exp(1j * np.pi * (2 * k + order - 1) / (2 * order))
    return H


def chain_response(f, electrode, rate_file, os):
    """Response of the electrode amplifier band (causal Butterworth, as in
    hardware) times the ADC anti-alias filter (linear phase, delay-
    compensated, i.e. zero-phase here)."""
    if electrode == "needle":
        H = _butter(f, NEEDLE_LP_HZ, 2, "lp")
    else:
        lo, hi = SURFACE_BAND_HZ
        H = _butter(f, lo, 4, "hp") * _butter(f, hi, 4, "lp")
    if os > 1:                       # ADC anti-alias: raised cosine 0.38-0.48 fs
        a, b = 0.38 * rate_file, 0.48 * rate_file
        x = np.clip((f - a) / (b - a), 0, 1)
        H = H * (0.5 + 0.5 * np.cos(np.pi * x))
    return H


def _cnoise(rng, nb):
    Z = rng.standard_normal(nb) + 1j * rng.standard_normal(nb)
    Z[0] = 0.0
    return Z


def draw_mains(rng, mains_hz, a1_uv, buzz):
    """Mains parameters. a1_uv: fundamental amplitude; buzz: slowly decaying,
    odd-rich harmonics with a resonance hump (rectifier/switching buzz)."""
    if mains_hz == 0 or a1_uv <= 0:
        return None
    f0 = mains_hz + rng.uniform(-0.5, 0.5)
    nmax = int(MAINS_TOP_HZ // f0)
    n = np.arange(1, nmax + 1)
    if buzz:
        h3, pw = rng.uniform(0.2, 0.6), rng.uniform(0.6, 1.0)
        even = rng.uniform(0.1, 0.4)
        fr, bw, g = rng.uniform(1000, 4000), rng.uniform(300, 1200), rng.uniform(0.5, 2)
    else:
        h3, pw = rng.uniform(0.03, 0.4), rng.uniform(1.2, 2.2)
        even = rng.uniform(0.05, 0.3)
        fr, bw, g = 1000.0, 1.0, 0.0
    amp = h3 * (np.maximum(n, 3) / 3.0) ** -pw
    amp = amp * np.where(n % 2 == 0, even, 1.0)
    amp = amp * (1 + g * np.exp(-0.5 * ((n * f0 - fr) / bw) ** 2))
    amp = amp * np.exp(rng.normal(0, 0.3, nmax))
    amp[0] = 1.0
    return dict(f0=f0, a1=a1_uv, amp=amp, ph=rng.uniform(0, 2 * np.pi, nmax),
                drift=(rng.uniform(0.005, 0.03), rng.uniform(0.01, 0.1), rng.uniform(0, 6.3)),
                am=[(rng.uniform(0.05, 1.0), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3))
                    for _ in range(2)], buzz=bool(buzz))


def mains_wave(m, n, fs, gain=1.0):
    """Mains waveform (uV) at internal rate fs: a wave table indexed by the
    (slowly drifting) mains phase, fundamental and harmonics each with their
    own slow amplitude modulation."""
    t = np.arange(n) / fs
    da, df, dp = m["drift"]
    # phase = 2 pi (f0 t + integral of da*sin(2 pi df t + dp))
    cyc = m["f0"] * t - da / (2 * np.pi * df) * (np.cos(2 * np.pi * df * t + dp) - math.cos(dp))
    th = np.linspace(0, 2 * np.pi, TABLE, endpoint=False)
    fund = np.sin(th + m["ph"][0])
    harm = np.zeros(TABLE)
    nyq = 0.5 * fs
    for k in range(1, len(m["amp"])):
        if (k + 1) * m["f0"] < nyq:
            harm += m["amp"][k] * np.sin((k + 1) * th + m["ph"][k])
    pos = (cyc - np.floor(cyc)) * TABLE
    i0 = pos.astype(np.int64) % TABLE
    fr = pos - np.floor(pos)
    i1 = (i0 + 1) % TABLE
    out = np.empty(n)
    (fm, dep, ph) = m["am"][0]
    out[:] = (fund[i0] * (1 - fr) + fund[i1] * fr) * (1 + dep * np.sin(2 * np.pi * fm * t + ph))
    (fm, dep, ph) = m["am"][1]
    out += (harm[i0] * (1 - fr) + harm[i1] * fr) * (1 + dep * np.sin(2 * np.pi * fm * t + ph))
    return out * (m["a1"] * gain)


def finish_channel(buf, rng, fs, rate_file, os, electrode, bg, mains=None, mains_gain=1.0):
    """Events + mains -> recording chain -> noise -> decimate. Returns the
    channel at the file rate (uV) and the noise-only RMS actually added."""
    n = len(buf)
    x = buf
    if mains is not None:
        x = x + mains_wave(mains, n, fs, mains_gain)
    X = np.fft.rfft(x)
    del x
    f = np.fft.rfftfreq(n, 1.0 / fs)
    H = chain_response(f, electrode, rate_file, os)
    X *= H
    noise = np.zeros(len(X), complex)
    # white amplifier/electrode noise
    Z = _cnoise(rng, len(X)) * H
    noise += Z * (bg["white_uv"] / _parseval_rms(Z, n))
    # 1/f (pink) component, above 0.5 Hz
    if bg["pink_uv"] > 0:
        Z = _cnoise(rng, len(X)) * H / np.sqrt(np.maximum(f, 0.5))
        noise += Z * (bg["pink_uv"] / _parseval_rms(Z, n))
    # baseline wander: < 2 Hz
    if bg["wander_uv"] > 0:
        # level set at the electrode, then through the chain (a surface
        # amplifier's 20 Hz high-pass removes it)
        Z = _cnoise(rng, len(X)) / (1 + (f / 0.7) ** 4) * (f > 0.03)
        noise += Z * (bg["wander_uv"] / _parseval_rms(Z, n)) * H
    del Z
    noise_rms = _parseval_rms(noise * (f > 2.0), n)   # excludes the wander
    X += noise
    del noise
    y = np.fft.irfft(X, n)
    return y[::os].copy(), noise_rms
