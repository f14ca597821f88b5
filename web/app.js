/* twitchd live view (served by `twitchd web`).
 *
 * One Server-Sent Events stream (/events) brings every message the daemon
 * publishes (docs/protocol.md) as its JSON header, the sig.* display
 * samples as "samples": [...], plus the web server's own web.hello,
 * web.hb and web.dropped records. Session controls and those of the
 * daemon's audio monitor (channel, gain, mute: shown when sts.monitor says
 * it is enabled) are POSTed to /api/ctl (forwarded to the daemon's
 * control socket). On every
 * (re)connection the page asks for a snapshot (the last journaled
 * records) and merges it, dropping duplicates by (stream, topic, seq).
 *
 * Memory is bounded whatever the run time: every store below has a fixed
 * size (the trace rings are Float32Arrays of RING_S seconds; the event
 * list, spans, noise points, trains and topic maps have caps). Drawing
 * happens on requestAnimationFrame from the rings, never per sample.
 *
 * "no data": the stream is down, the last heartbeat said "stopping", or
 * no heartbeat came for 2.5 periods (at least 2.5 s): a daemon that dies
 * shows "no data" within 3 s with the default 1 s heartbeat.
 *
 * Onset notices (evt.start.*) are drawn at once, and resolved by their
 * "id": the final record replaces the notice; a cancellation (evt.cancel)
 * leaves it dimmed, its reason in the trace's title on hover.
 *
 * For tests: each event row carries data-stream, data-topic, data-seq,
 * data-sample (and data-session, data-channel); #ltr-count carries
 * data-count and data-session; #conn carries data-state (live | nodata);
 * a channel whose signal quality is not ok shows a .quality-banner in its
 * trace (data-quality: the conditions joined by ", "; hidden when ok);
 * window.twView.stats() returns the page's figures.
 */
'use strict';
(function () {
  const NO_DATA_BEATS = 2.5;    // no heartbeat for this many periods...
  const NO_DATA_MIN_S = 2.5;    // ...and at least this long: "no data" (protocol.md: about three)
  const RING_S = 30;            // seconds of signal kept per channel
  const MAX_CHANNELS = 8;
  const MAX_ROWS = 500;         // rows of the event list
  const MAX_SPANS = 96;         // EPN episodes, LTRs, notices, marks, gaps per channel
  const MAX_NOISE = 64;         // noise-floor points per channel
  const MAX_TRAINS = 8;         // insertion trains remembered
  const MAX_TRAIN_LTRS = 48;    // LTRs shown per train
  const MAX_STREAMS = 16;       // daemon runs remembered (for sorting rows)
  const MAX_TOPICS = 64;        // topics whose seq is followed
  const SNAPSHOT_EVENTS = 500;  // records asked for at (re)connection
  const MAX_PENDING = 256;      // LTRs counted between two heartbeats
  const EDGE_DELAY_S = 0.1;     // the right edge trails the newest sample by this
  const NOISE_K = 3;            // noise band: +-NOISE_K sigma
  const AUDIO_RATE_MIN = 8000;  // Hz: display samples are upsampled to at least this
  const AUDIO_FULL_UV = 200;    // uV that play at full scale (LTRs clip: a crack)
  const AUDIO_HP_HZ = 100;      // high-pass of the listen path (DC, drift, hum)
  const NOTICE_S = 1.5;         // an LTR onset notice is drawn this long unless resolved (its record or cancel comes within 0.8 s)
  const HOVER_PX = 5;           // a cancelled notice this close to the pointer gives the trace its title
  const LABEL_ROWS = 3;
  const MAINS_TAU_S = 0.2;      // display mains canceller time constant (as filter.mains_tau_s)         // rows of LTR labels above a trace (they would overlap)
  const LIST_TOPICS = ['evt.ltr', 'evt.epn', 'evt.mark', 'evt.insertion', 'evt.session', 'gap'];

  const $ = (id) => document.getElementById(id);
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const C = {
    ltr: color('--ltr'), epn: color('--epn'), noise: color('--noise'),
    mark: color('--mark'), gap: color('--gap'), text: color('--text'), muted: color('--muted'),
  };

  const st = {
    stream: null,           // current daemon run
    streams: new Map(),     // stream id -> order of first sight
    rate: 0,                // input rate, Hz
    lastSts: null,
    lastStsAt: -1e9,        // performance.now() of the last sts
    hbPeriod: 1,            // s between heartbeats (publish.heartbeat_s, as measured)
    sseOpen: false,
    seq: new Map(),         // topic -> last seq (current stream)
    seqMissing: 0,          // messages the page never got (seq jumps)
    webDropped: 0,          // of those, dropped by the web server for this page
    webHb: null,
    webHbAt: -1e9,
    session: null,          // {id, start} while open
    lastSession: null,      // id of the latest session (open or closed)
    ltrCount: 0,
    counterState: 'none',   // none | open | closed
    stsLtrs: 0,             // the session's LTRs at the last heartbeat...
    stsLtrSeq: null,        // ...which came before the evt.ltr of this seq
    pending: [],            // seqs of the session's LTRs received since (at most MAX_PENDING)
    electrodes: [],
    messages: 0,
    bad: 0,
    notices: 0,             // onset notices received
    cancels: 0,             // evt.cancel received...
    cancelsMatched: 0,      // ...that dimmed a notice drawn here
    firstNotice: null,      // id of the first notice of this stream seen here
    unmatched: [],          // ids of the others (their notice came before the page; at most 64)
    mains: 50,              // Hz, filter.mains of the daemon (from the snapshot; 0: off)
  };

  /* ---------- small helpers ---------- */

  const fmt = (v, d) => (v == null || !isFinite(v) ? '-' : Number(v).toFixed(d));
  const uvText = (v) => (v == null ? '-' : Math.abs(v) >= 1000 ? fmt(v / 1000, 2) + ' mV' : fmt(v, 0) + ' µV');
  function clockTime(h, sample) {
    const c = h.clock;
    // (event rows only: a sig.* header's rate is its display rate)
    const rate = h.rate || st.rate || (h.onset_s && h.onset_sample ? h.onset_sample / h.onset_s : 0);
    if (!c || !rate) return '';
    const t = new Date((c.realtime + (sample - c.sample) / rate) * 1000);
    const p = (n) => String(n).padStart(2, '0');
    return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${Math.floor(t.getMilliseconds() / 100)}`;
  }
  function streamOrder(id) {
    if (!st.streams.has(id)) {
      st.streams.set(id, st.streams.size ? Math.max(...st.streams.values()) + 1 : 0);
      if (st.streams.size > MAX_STREAMS) st.streams.delete(st.streams.keys().next().value);
    }
    return st.streams.get(id);
  }
  function pushCapped(arr, item, cap) {
    arr.push(item);
    if (arr.length > cap) arr.splice(0, arr.length - cap);
  }

  /* ---------- channels: ring of display values, spans, canvas ---------- */

  const chans = [];   // index = channel

  /* The display filter of one channel. The sig.* stream is the raw input
     (DC, drift, mains hum and its harmonics included). "mains" cancels
     the hum like the daemon does: it subtracts the running average of the
     signal at the same phase of the mains cycle (a template over the
     shortest whole number of cycles that is a whole number of display
     values; time constant MAINS_TAU_S), which removes the fundamental,
     every harmonic and DC; a needle step fades within that time. Without
     a usable mains frequency it falls back to the 10 Hz high-pass. */
  class Display {
    constructor() { this.key = ''; }
    set(filter, rate) {
      const key = `${filter}|${rate}|${st.mains}`;
      if (key === this.key) return;
      this.key = key;
      this.hp = 0; this.tpl = null; this.x1 = null; this.y1 = 0;
      if (filter === 'mains') {
        const P = mainsPeriod(rate, st.mains);
        if (P) { this.tpl = new Float32Array(P); this.alpha = Math.min(1, P / (MAINS_TAU_S * rate)); this.n = 0; return; }
        filter = '10';
      }
      const hz = Number(filter);
      this.hp = hz > 0 ? Math.exp((-2 * Math.PI * hz) / rate) : 0;
      this.raw = !(hz > 0);
    }
    step(x, k) {
      if (this.tpl) {
        const p = k % this.tpl.length;
        if (this.n < this.tpl.length) { this.tpl[p] = x; this.n++; }   // the first cycle seeds it
        const y = x - this.tpl[p];
        this.tpl[p] += this.alpha * y;
        return y;
      }
      if (this.raw) return x;
      if (this.x1 === null) this.x1 = x;
      this.y1 = this.hp * (this.y1 + x - this.x1);
      this.x1 = x;
      return this.y1;
    }
  }

  /* display values per whole number of mains cycles (at most 10), or 0 */
  function mainsPeriod(rate, mainsHz) {
    if (!(mainsHz > 0) || !(rate > 0)) return 0;
    for (let cycles = 1; cycles <= 10; cycles++) {
      const P = (rate * cycles) / mainsHz;
      if (Math.abs(P - Math.round(P)) < 1e-6 && Math.round(P) >= 2) return Math.round(P);
    }
    return 0;
  }

  class Chan {
    constructor(ch) {
      this.ch = ch;
      this.rate = 0; this.decim = 1; this.cap = 0; this.buf = null;
      this.head = -1;       // value index after the newest value (value k covers samples k*decim ..)
      this.edge = null;     // value index at the right edge (smoothed)
      this.scale = 100;     // uV at half height (auto)
      this.spans = [];      // {kind, s0, s1 (null: open), label, onset, id, cancelled: reason, x}
      this.noise = [];      // {s, uv}
      this.sts = null;
      this.el = document.createElement('div');
      this.el.className = 'trace';
      this.el.dataset.channel = ch;
      this.canvas = document.createElement('canvas');
      this.label = document.createElement('div');
      this.label.className = 'trace-label';
      // the signal quality, when it is not ok (sts and evt.quality)
      this.banner = document.createElement('div');
      this.banner.className = 'quality-banner';
      this.banner.hidden = true;
      this.banner.dataset.quality = 'ok';
      this.el.append(this.canvas, this.label, this.banner);
      // a cancelled notice under the pointer: its reason as the title
      this.canvas.addEventListener('mousemove', (ev) => {
        const r = this.canvas.getBoundingClientRect(), x = ev.clientX - r.left;
        let best = null;
        for (const sp of this.spans)
          if (sp.cancelled && sp.x != null && Math.abs(sp.x - x) <= HOVER_PX && (!best || Math.abs(sp.x - x) < Math.abs(best.x - x))) best = sp;
        this.canvas.title = best ? best.title : '';
      });
      const box = $('traces');
      const after = [...box.querySelectorAll('.trace')].find((e) => Number(e.dataset.channel) > ch);
      box.insertBefore(this.el, after || null);
      $('no-traces').hidden = true;
      this.g = this.canvas.getContext('2d');
      this.cols = 0; this.mins = null; this.maxs = null;
      this.flt = new Display();
      this.out = null;
      this.labelEnd = new Float32Array(LABEL_ROWS);
      this.updateLabel();
    }
    reset() {
      this.head = -1; this.edge = null;
      if (this.buf) this.buf.fill(NaN);
      this.spans.length = 0; this.noise.length = 0;
    }
    setRate(rate, decim) {
      if (rate === this.rate && decim === this.decim) return;
      this.rate = rate; this.decim = decim;
      this.cap = Math.max(1, Math.ceil(RING_S * rate));
      this.buf = new Float32Array(this.cap).fill(NaN);
      this.head = -1; this.edge = null;
    }
    /* The values (times scale: uV) from sample on, through the display
       filter (filter: "0" raw, "1" or "10" a high-pass at that many Hz,
       "mains" the mains canceller, see Display); the filtered block is
       left in this.out[0..n) (for listening). */
    push(sample, vals, scale, filter) {
      const k0 = Math.floor(sample / this.decim), n = vals.length, cap = this.cap;
      if (this.head >= 0 && (k0 < this.head - cap || k0 > this.head + cap)) {
        this.buf.fill(NaN); this.head = -1; this.edge = null;   // a jump: start over
      }
      if (this.head < 0) this.head = k0;
      for (let k = this.head; k < k0; k++) this.buf[k % cap] = NaN;   // a gap
      if (!this.out || this.out.length < n) this.out = new Float32Array(n);
      this.flt.set(filter, this.rate);
      for (let i = 0; i < n; i++) {
        const v = vals[i] == null ? NaN : this.flt.step(vals[i] * scale, k0 + i);
        this.buf[(k0 + i) % cap] = v;
        this.out[i] = v;
      }
      if (k0 + n > this.head) this.head = k0 + n;
    }
    addSpan(sp) { pushCapped(this.spans, sp, MAX_SPANS); }
    /* q: the daemon's "quality" (["ok"] or the conditions in force) */
    setQuality(q) {
      if (!Array.isArray(q)) return;
      const bad = q.filter((c) => c !== 'ok').map(String);
      const text = bad.join(', ');
      if ((bad.length ? text : 'ok') === this.banner.dataset.quality) return;
      this.banner.dataset.quality = bad.length ? text : 'ok';
      this.banner.hidden = !bad.length;
      const why = bad.includes('signal low') ? ' (check input.full_scale_uv)' : '';
      this.banner.textContent = bad.length ? `signal quality: ${text}${why}` : '';
    }
    updateLabel() {
      const el = st.electrodes[this.ch] || (this.ch === 0 ? 'needle' : '');
      const s = this.sts;
      const parts = [`ch ${this.ch}${el ? ' · ' + el : ''}`];
      if (s) parts.push(`noise ${fmt(s.noise_uv, 1)} µV`, `level ${fmt(s.level_uv, 0)} µV`, `peak ${uvText(s.peak_uv)}`,
                        typeof s.mains_hz === 'number' ? `mains ${fmt(s.mains_hz, 2)} Hz` : 'mains none');
      parts.push(`scale ±${uvText(this.scale)}`);
      this.label.textContent = parts.join(' · ');
    }
    resize() {
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
      const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
      if (this.canvas.width !== w || this.canvas.height !== h) {
        this.canvas.width = w; this.canvas.height = h;
      }
      if (this.cols !== w) {
        this.cols = w;
        this.mins = new Float32Array(w);
        this.maxs = new Float32Array(w);
      }
      return dpr;
    }
    draw(dt, winS, fixedScale) {
      const dpr = this.resize();
      const g = this.g, W = this.canvas.width, H = this.canvas.height;
      g.fillStyle = '#0b0e12';
      g.fillRect(0, 0, W, H);
      if (this.head < 0 || !this.rate) return;
      // the right edge moves at the display rate and follows the newest data
      const target = this.head - EDGE_DELAY_S * this.rate;
      if (this.edge == null || Math.abs(this.edge - target) > 0.5 * this.rate) this.edge = target;
      else this.edge += this.rate * dt + (target - this.edge - this.rate * dt) * 0.1;
      if (this.edge > this.head) this.edge = this.head;
      const span = Math.min(winS * this.rate, this.cap - 1);
      const left = this.edge - span, cols = this.cols, mins = this.mins, maxs = this.maxs;
      const xOfK = (k) => ((k - left) / span) * W;
      const xOfS = (s) => xOfK(s / this.decim);
      // min/max of the values in each pixel column
      mins.fill(Infinity); maxs.fill(-Infinity);
      let absmax = 0;
      const k0 = Math.max(Math.ceil(left), this.head - this.cap + 1), k1 = Math.floor(this.edge);
      for (let k = k0; k <= k1; k++) {
        const v = this.buf[k % this.cap];
        if (v !== v) continue;   // NaN
        const c = Math.min(cols - 1, Math.max(0, Math.floor(((k - left) / span) * cols)));
        if (v < mins[c]) mins[c] = v;
        if (v > maxs[c]) maxs[c] = v;
        const a = v < 0 ? -v : v;
        if (a > absmax) absmax = a;
      }
      if (fixedScale > 0) this.scale = fixedScale;
      else {
        const want = Math.max(20, absmax * 1.1);
        this.scale = want > this.scale ? want : this.scale + (want - this.scale) * 0.03;
      }
      const mid = H / 2, half = H / 2 - 6 * dpr;
      const yOf = (v) => mid - Math.max(-1.05, Math.min(1.05, v / this.scale)) * half;
      // time grid: one line per second of input
      g.strokeStyle = '#1a2029'; g.lineWidth = 1;
      const perS = this.rate;
      for (let k = Math.ceil(left / perS) * perS; k <= this.edge; k += perS) {
        const x = Math.round(xOfK(k)) + 0.5;
        g.beginPath(); g.moveTo(x, 0); g.lineTo(x, H); g.stroke();
      }
      g.strokeStyle = '#232a35';
      g.beginPath(); g.moveTo(0, mid + 0.5); g.lineTo(W, mid + 0.5); g.stroke();
      // noise floor band, piecewise from the heartbeats
      g.fillStyle = C.noise; g.globalAlpha = 0.35;
      for (let i = 0; i < this.noise.length; i++) {
        const p = this.noise[i], next = this.noise[i + 1];
        const xa = Math.max(0, xOfS(p.s)), xb = Math.min(W, next ? xOfS(next.s) : W);
        if (xb <= 0 || xa >= W || xb <= xa) continue;
        const y0 = yOf(NOISE_K * p.uv), y1 = yOf(-NOISE_K * p.uv);
        g.fillRect(xa, y0, xb - xa, Math.max(1, y1 - y0));
      }
      if (this.noise.length && xOfS(this.noise[0].s) > 0) {   // before the first point: the first value
        const p = this.noise[0], y0 = yOf(NOISE_K * p.uv), y1 = yOf(-NOISE_K * p.uv);
        g.fillRect(0, y0, Math.max(0, xOfS(p.s)), Math.max(1, y1 - y0));
      }
      g.globalAlpha = 1;
      // shaded spans: EPN episodes, gaps, LTRs
      const edgeS = this.edge * this.decim;
      for (const sp of this.spans) {
        if (sp.kind !== 'epn' && sp.kind !== 'gap' && sp.kind !== 'ltr') continue;
        const xa = xOfS(sp.s0), xb = xOfS(sp.s1 == null ? edgeS : sp.s1 + 1);
        if (xb < 0 || xa > W) continue;
        g.globalAlpha = sp.cancelled ? 0.08 : sp.kind === 'ltr' ? 0.28 : sp.kind === 'epn' ? (sp.s1 == null ? 0.14 : 0.2) : 0.3;
        g.fillStyle = sp.cancelled ? C.muted : C[sp.kind];
        g.fillRect(xa, 0, Math.max(2 * dpr, xb - xa), H);
      }
      g.globalAlpha = 1;
      // the trace: one vertical stroke per column, joined
      g.strokeStyle = C.text; g.lineWidth = Math.max(1, dpr * 0.9);
      g.beginPath();
      let pen = false;
      for (let c = 0; c < cols; c++) {
        if (mins[c] === Infinity) { pen = false; continue; }
        const x = c + 0.5, ya = yOf(maxs[c]), yb = yOf(mins[c]);
        if (!pen) { g.moveTo(x, ya); pen = true; } else g.lineTo(x, ya);
        g.lineTo(x, yb);
      }
      g.stroke();
      // markers and labels
      g.font = `${11 * dpr}px system-ui, sans-serif`;
      g.textBaseline = 'top';
      this.labelEnd.fill(-Infinity);
      for (const sp of this.spans) {
        const x = xOfS(sp.s0);
        if (sp.cancelled) sp.x = x >= 0 && x <= W ? x / dpr : null;   // CSS px, for the hover
        if (x < -200 * dpr || x > W) continue;
        if (sp.kind === 'ltr') {
          g.fillStyle = C.ltr; g.fillRect(Math.round(x), 0, Math.max(1, 2 * dpr), H);
          if (x < 0) continue;
          let row = 0;
          while (row < LABEL_ROWS - 1 && this.labelEnd[row] > x) row++;
          const tw = g.measureText(sp.label).width;
          this.labelEnd[row] = x + 4 * dpr + tw + 6 * dpr;
          g.fillText(sp.label, x + 4 * dpr, (28 + 14 * row) * dpr);
        } else if (sp.kind === 'notice' && sp.cancelled) {
          // turned down: dimmed while on screen, the reason on hover
          g.globalAlpha = 0.45;
          g.strokeStyle = C.muted; g.setLineDash([2 * dpr, 4 * dpr]);
          g.beginPath(); g.moveTo(Math.round(x) + 0.5, 0); g.lineTo(Math.round(x) + 0.5, H); g.stroke();
          g.setLineDash([]);
          g.globalAlpha = 1;
        } else if (sp.kind === 'notice' && edgeS - sp.s0 < NOTICE_S * this.rate * this.decim) {
          g.strokeStyle = C.ltr; g.setLineDash([3 * dpr, 3 * dpr]);
          g.beginPath(); g.moveTo(Math.round(x) + 0.5, 0); g.lineTo(Math.round(x) + 0.5, H); g.stroke();
          g.setLineDash([]);
        } else if (sp.kind === 'mark') {
          g.strokeStyle = C.mark; g.fillStyle = C.mark; g.lineWidth = Math.max(1, dpr);
          g.beginPath(); g.moveTo(Math.round(x) + 0.5, 0); g.lineTo(Math.round(x) + 0.5, H); g.stroke();
          g.fillText(sp.label, x + 4 * dpr, H - 16 * dpr);
        } else if (sp.kind === 'epn') {
          const xe = sp.s1 == null ? W : xOfS(sp.s1);
          if (xe > 60 * dpr) { g.fillStyle = sp.cancelled ? C.muted : C.epn; g.fillText(sp.label, Math.max(x, 0) + 4 * dpr, H - 32 * dpr); }
        }
      }
    }
  }

  function chan(ch) {
    if (!(ch >= 0 && ch < MAX_CHANNELS)) return null;
    if (!chans[ch]) { chans[ch] = new Chan(ch); updateListenChoices(); }
    return chans[ch];
  }
  function eachChan(fn) { for (const c of chans) if (c) fn(c); }

  /* ---------- status ---------- */

  function onSts(h) {
    if (st.lastSts && st.lastSts.stream === h.stream && h.seq === st.lastSts.seq + 1 && h.uptime_s > st.lastSts.uptime_s)
      st.hbPeriod = Math.min(60, Math.max(0.1, h.uptime_s - st.lastSts.uptime_s));
    st.lastSts = h;
    st.lastStsAt = performance.now();
    st.rate = h.rate || st.rate;
    $('st-source').textContent = h.source || '-';
    $('st-source').title = h.source || '';
    const nch = (h.channels || []).length;
    $('st-rate').textContent = `${fmt(h.rate / 1000, h.rate % 1000 ? 1 : 0)} kHz × ${nch} ch`;
    $('st-state').textContent = h.state || '-';
    $('st-uptime').textContent = fmtDuration(h.uptime_s);
    const c = h.counters || {};
    const daemonDrops = (c.ring_dropped_blocks || 0) +
      (c.overflows || 0) + (c.journal_queue_dropped || 0) + (c.publish_queue_dropped || 0);
    const total = daemonDrops + st.seqMissing;
    const d = $('st-drops');
    d.textContent = String(total);
    d.dataset.total = String(total);
    d.title = `input overflows ${c.overflows || 0}, ring: ${c.ring_dropped_blocks || 0} blocks ` +
      `(${c.ring_dropped_frames || 0} frames), journal queue ${c.journal_queue_dropped || 0}, ` +
      `publish queue ${c.publish_queue_dropped || 0}, messages missed by this page ${st.seqMissing} ` +
      `(${st.webDropped} dropped by the web server)`;
    const gp = $('st-gaps');
    gp.textContent = c.gaps ? `${c.gaps} (${fmt((c.gap_samples || 0) / (h.rate || 1), 2)} s)` : '0';
    gp.dataset.count = String(c.gaps || 0);
    for (const ch of h.channels || []) {
      const cc = chan(ch.channel);
      if (!cc) continue;
      cc.sts = ch;
      cc.setQuality(ch.quality);
      if (st.mainsAuto && typeof ch.mains_hz === 'number' && ch.channel === 0)
        st.mains = Math.round(ch.mains_hz / 10) * 10; // the display canceller's nominal 50 or 60
      if (typeof ch.noise_uv === 'number' && (!cc.noise.length || cc.noise[cc.noise.length - 1].uv !== ch.noise_uv))
        pushCapped(cc.noise, { s: h.sample, uv: ch.noise_uv }, MAX_NOISE);
      cc.updateLabel();
    }
    onMonitor(h.monitor, nch);
    // the session, as the daemon counts it: its count at this heartbeat,
    // plus the session's LTRs received since (evt.ltr seq >= seqs["evt.ltr"])
    if (h.session) {
      if (!st.session || st.session.id !== h.session.id) openSession(h.session.id, null);
      st.stsLtrs = h.session.ltrs;
      st.stsLtrSeq = h.seqs && typeof h.seqs['evt.ltr'] === 'number' ? h.seqs['evt.ltr'] : null;
      st.pending = st.stsLtrSeq == null ? [] : st.pending.filter((q) => q >= st.stsLtrSeq);
      setCounter(st.stsLtrs + st.pending.length, h.session.id, 'open');
    } else if (st.session) {
      st.session = null;          // closed: the count stays until the summary sets it
      setCounter(st.ltrCount, st.lastSession, 'closed');
    }
    updateConn();
  }

  function fmtDuration(s) {
    if (s == null) return '-';
    s = Math.floor(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
  }

  function updateConn() {
    const age = (performance.now() - st.lastStsAt) / 1000;
    let why = '';
    if (!st.sseOpen) why = 'web server unreachable';
    else if (!st.lastSts) why = 'waiting for the daemon';
    else if (st.lastSts.state === 'stopping') why = 'the daemon stopped';
    else if (age >= Math.max(NO_DATA_MIN_S, NO_DATA_BEATS * st.hbPeriod)) why = `no heartbeat for ${fmt(age, 1)} s`;
    const live = !why;
    const el = $('conn');
    if (el.dataset.state !== (live ? 'live' : 'nodata')) {
      el.dataset.state = live ? 'live' : 'nodata';
      el.textContent = live ? 'live' : 'no data';
    }
    const n = st.webHb ? st.webHb.clients : 0;
    $('conn-why').textContent = live ? (n ? `${n} view${n === 1 ? '' : 's'} open` : '') : why;
    $('st-hb').textContent = st.lastSts ? `${fmt(Math.min(age, 9999), 1)} s` : '-';
  }

  /* ---------- session, counter, controls ---------- */

  function openSession(id, start) {
    st.session = { id, start };
    st.stsLtrs = 0; st.stsLtrSeq = null; st.pending = [];
    setCounter(0, id, 'open');
  }

  /* an LTR record of the open session, live or from the snapshot */
  function countLtr(h) {
    if (st.stsLtrSeq != null && h.seq < st.stsLtrSeq) return;   // in the heartbeat's count
    if (st.pending.includes(h.seq)) return;
    pushCapped(st.pending, h.seq, MAX_PENDING);
    setCounter(st.stsLtrs + st.pending.length, st.session.id, 'open');
  }

  function setCounter(n, id, state) {
    st.ltrCount = n;
    st.counterState = state;
    if (id) st.lastSession = id;
    const el = $('ltr-count');
    el.textContent = String(n);
    el.dataset.count = String(n);
    el.dataset.session = id || '';
    el.dataset.state = state;
    const sid = $('session-id');
    sid.dataset.session = state === 'open' ? id : '';
    sid.textContent = state === 'open' ? `open: ${id}` : id ? `closed: ${id}` : 'no session open';
    sid.classList.toggle('muted', state !== 'open');
    $('start-btn').disabled = state === 'open';
    $('stop-btn').disabled = state !== 'open';
  }

  async function ctl(req, quiet) {
    let j;
    try {
      const r = await fetch('api/ctl', {
        method: 'POST', cache: 'no-store',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req),
      });
      j = await r.json();
    } catch (e) {
      j = { ok: false, error: `no answer from the web server (${e.message || e})` };
    }
    if (!quiet) {
      // a session that started without the recording it asked for is not
      // "ok" to the user: red, with the reason (the daemon retries every 2 s)
      const norec = j.ok && typeof j.recording_error === 'string';
      const el = $('ctl-reply');
      el.dataset.ok = String(!!j.ok && !norec);
      el.dataset.recording = norec ? 'failed' : '';
      el.dataset.cmd = req.cmd;
      el.textContent = !j.ok ? `${req.cmd}: ${j.error}`
        : norec ? `${req.cmd}: session ${j.session} started, but NOT RECORDING: ${j.recording_error}`
          : `${req.cmd}: ok${j.session ? ' (' + j.session + ')' : ''}`;
    }
    return j;
  }

  $('start-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const req = { cmd: 'session.start', subject: $('subject').value.trim() };
    for (const k of ['muscle', 'side']) { const v = $(k).value.trim(); if (v) req[k] = v; }
    const r = await ctl(req);
    if (r.ok && (!st.session || st.session.id !== r.session)) openSession(r.session, null);
  });
  $('stop-btn').addEventListener('click', async () => {
    const r = await ctl({ cmd: 'session.stop' });
    if (r.ok && r.summary) { st.session = null; setCounter(r.summary.ltr.count, r.summary.id, 'closed'); }
  });
  $('mark-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const label = $('mark-label').value.trim() || 'mark';
    const r = await ctl({ cmd: 'mark', label });
    if (r.ok) $('mark-label').value = '';
  });
  $('insert-btn').addEventListener('click', () => {
    const label = $('mark-label').value.trim();
    ctl(label ? { cmd: 'insertion', label } : { cmd: 'insertion' });
  });

  async function snapshot() {
    const r = await ctl({ cmd: 'snapshot', events: SNAPSHOT_EVENTS }, true);
    if (!r || !r.ok) return;
    st.electrodes = (r.channels || []).map((c) => c.electrode);
    if (r.rate) st.rate = r.rate;
    const mains = r.config && r.config.filter && r.config.filter.mains;
    // 'auto': the line frequency the daemon found (heartbeats' mains_hz)
    st.mainsAuto = mains === 'auto';
    if (mains && !st.mainsAuto) st.mains = mains === 'off' ? 0 : Number(mains) || 0;
    if (r.stream && st.stream !== r.stream) newStream(r.stream);
    const evs = r.events || [];
    // the session as the snapshot saw it (heartbeats correct it from now on)
    if (r.session && (!st.session || st.session.id !== r.session)) {
      const start = evs.find((e) => e.topic === 'evt.session' && e.state === 'start' && e.id === r.session);
      openSession(r.session, start ? start.sample : null);
    } else if (!r.session && !st.session && st.counterState === 'none') {
      const stop = evs.filter((e) => e.topic === 'evt.session' && e.state === 'stop').pop();
      if (stop) setCounter(stop.ltr ? stop.ltr.count : 0, stop.id, 'closed');
    }
    for (const e of evs) onRecord(e, true);
    eachChan((c) => c.updateLabel());
    updateListenChoices();
  }

  /* ---------- events ---------- */

  const rows = new Map();   // "stream|topic|seq" -> tr, at most MAX_ROWS
  const tbody = $('events').tBodies[0];

  function rowKey(h) { return `${h.stream}|${h.topic}|${h.seq}`; }

  function describe(h) {
    const t = h.type;
    if (h.topic === 'evt.ltr') {
      const f = [`peak ${fmt(h.peak_uv, 0)}`, `${fmt(h.duration_ms, 0)} ms`];
      if (h.latency_ms != null) f.push(`latency ${fmt(h.latency_ms, 1)} ms`);
      f.push(`${h.turns} turns`, `SNR ${fmt(h.snr_db, 0)} dB`, `train ${h.train} #${h.train_index}`,
        `rel ${fmt(h.rel_amp, 2)}`);
      if (h.in_epn) f.push('in EPN');
      if (h.insertion != null) f.push(`insertion ${h.insertion} +${fmt(h.insertion_latency_ms, 0)} ms`);
      if (Array.isArray(h.quality)) f.push(`signal: ${h.quality.join(', ')}`);
      return ['LTR', f.join(' · ')];
    }
    if (h.topic === 'evt.epn')
      return ['EPN', [`${fmt(h.duration_ms / 1000, 1)} s`, `MEPP ${fmt(h.mepp_rate_hz, 0)}/s ${fmt(h.mepp_median_uv, 0)} µV`,
        `EPS ${h.eps_count} (${fmt(h.eps_rate_hz, 1)}/s, ${fmt(h.eps_median_uv, 0)} µV, CV ${fmt(h.eps_cv, 2)})`,
        `skew ${fmt(h.skewness, 2)}`, `rms ${fmt(h.rms_uv, 1)} µV`]
        .concat(Array.isArray(h.quality) ? [`signal: ${h.quality.join(', ')}`] : []).join(' · ')];
    if (h.topic === 'evt.mark') {
      if (t === 'set') return ['set', JSON.stringify(h.set || h.label || '')];
      return [t || 'mark', h.label == null ? '' : String(h.label)];
    }
    if (h.topic === 'evt.insertion') return ['insertion', h.label == null ? '' : String(h.label)];
    if (h.topic === 'evt.session') {
      if (h.state === 'stop') {
        const l = h.ltr || {};
        return ['session stop', `${h.id} · ${l.count} LTRs · ${(h.trains || []).length} trains · ${fmt(h.duration_s, 1)} s`];
      }
      return [`session ${h.state || ''}`, [h.id, h.subject, h.muscle, h.side].filter(Boolean).join(' · ')];
    }
    if (h.topic === 'gap')
      return ['gap', `${h.samples == null ? 'unknown' : h.samples} samples · ${h.cause || ''}`];
    return [h.topic, ''];
  }

  function addRow(h) {
    const key = rowKey(h);
    if (rows.has(key)) return false;
    const tr = document.createElement('tr');
    const sample = h.topic === 'evt.ltr' || h.topic === 'evt.epn' ? h.onset_sample : h.sample;
    tr.dataset.key = key;
    tr.dataset.stream = h.stream;
    tr.dataset.topic = h.topic;
    tr.dataset.seq = String(h.seq);
    tr.dataset.sample = String(sample);
    tr.dataset.order = String(streamOrder(h.stream));
    if (h.session) tr.dataset.session = h.session;
    if (h.channel != null) tr.dataset.channel = String(h.channel);
    tr.className = 'ev-' + h.topic.replace(/^evt\./, '');
    const [what, features] = describe(h);
    const cells = [clockTime(h, sample), what, h.channel == null ? '' : String(h.channel),
      h.p2p_uv == null ? '' : fmt(h.p2p_uv, 0), features];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    // newest first: by daemon run, then sample
    const o = Number(tr.dataset.order);
    let ref = tbody.firstElementChild;
    while (ref && (Number(ref.dataset.order) > o ||
      (Number(ref.dataset.order) === o && Number(ref.dataset.sample) > sample))) ref = ref.nextElementSibling;
    tbody.insertBefore(tr, ref);
    rows.set(key, tr);
    while (rows.size > MAX_ROWS) {
      const last = tbody.lastElementChild;
      rows.delete(last.dataset.key);
      last.remove();
    }
    $('ev-count').textContent = `(${rows.size}${rows.size === MAX_ROWS ? ', the latest' : ''})`;
    return true;
  }

  /* a journaled record (live or from the snapshot) */
  function onRecord(h, fromSnapshot) {
    // a live quality change shows at once (a snapshot's are history: the
    // heartbeats give the state in force)
    if (h.topic === 'evt.quality') {
      const c = h.stream === st.stream && !fromSnapshot ? chan(h.channel) : null;
      if (c) c.setQuality(h.quality);
      return;
    }
    if (!LIST_TOPICS.includes(h.topic)) return;
    if (!addRow(h)) return;
    if (h.stream !== st.stream) return;        // an earlier run: listed, not drawn
    const all = (fn) => { if (h.channel == null) { eachChan(fn); } else { const c = chan(h.channel); if (c) fn(c); } };
    if (h.topic === 'evt.ltr') {
      const c = chan(h.channel);
      if (c) {
        // its notice (same id; a record without an id: a notice near its onset) is replaced
        c.spans = c.spans.filter((s) => !(s.kind === 'notice' && (h.id != null ? s.id === h.id
          : s.s0 >= h.onset_sample - 0.5 * (st.rate || 48000) && s.s0 <= h.offset_sample)));
        c.addSpan({ kind: 'ltr', s0: h.onset_sample, s1: h.offset_sample, label: `LTR ${uvText(h.p2p_uv)} ×${fmt(h.rel_amp, 2)}` });
      }
      if (st.session && h.session === st.session.id) countLtr(h);
      onTrainLtr(h);
    } else if (h.topic === 'evt.epn') {
      const c = chan(h.channel);
      if (c) {
        const open = c.spans.find((s) => s.kind === 'epn' && s.s1 == null &&
          (h.id != null && s.id != null ? s.id === h.id : s.onset === h.onset_sample));
        const label = `EPN ${fmt(h.mepp_rate_hz, 0)}/s`;
        if (open) { open.s1 = h.offset_sample; open.label = label; } else c.addSpan({ kind: 'epn', s0: h.onset_sample, s1: h.offset_sample, onset: h.onset_sample, label });
      }
    } else if (h.topic === 'gap') {
      const n = h.samples == null ? 0 : h.samples;
      all((c) => c.addSpan({ kind: 'gap', s0: h.first_sample, s1: h.first_sample + Math.max(0, n - 1) }));
    } else if (h.topic === 'evt.mark' || h.topic === 'evt.insertion') {
      const label = h.topic === 'evt.insertion' ? `insertion${h.label ? ': ' + h.label : ''}` :
        h.type === 'mark' ? String(h.label) : h.type;
      all((c) => c.addSpan({ kind: 'mark', s0: h.sample, label }));
    } else if (h.topic === 'evt.session') {
      // the session state changes with live records only (a snapshot's are history)
      if (h.state === 'start') {
        if (!fromSnapshot && (!st.session || st.session.id !== h.id)) openSession(h.id, h.sample);
        else if (st.session && st.session.id === h.id) st.session.start = h.sample;
        all((c) => c.addSpan({ kind: 'mark', s0: h.sample, label: `session ${h.id}` }));
      } else if (h.state === 'stop') {
        if (!fromSnapshot && (!st.session || st.session.id === h.id)) {
          st.session = null;
          setCounter(h.ltr ? h.ltr.count : st.ltrCount, h.id, 'closed');
        }
        all((c) => c.addSpan({ kind: 'mark', s0: h.sample, label: 'session stop' }));
      }
    }
  }

  /* onset notices: drawn, not listed (they are not journaled) */
  function onStart(h) {
    const c = chan(h.channel);
    if (!c) return;
    if (h.topic === 'evt.start.epn') {
      // one episode at a time per channel: an older one still open never got its record
      for (const sp of c.spans) if (sp.kind === 'epn' && sp.s1 == null) sp.s1 = Math.max(sp.s0, h.onset_sample - 1);
      c.addSpan({ kind: 'epn', s0: h.onset_sample, s1: null, onset: h.onset_sample, id: h.id, label: 'EPN…' });
    }
    else
      c.addSpan({ kind: 'notice', s0: h.onset_sample, id: h.id });
    st.notices++;
    if (st.firstNotice == null && h.stream === st.stream) st.firstNotice = h.id;
  }

  /* a notice turned down (evt.cancel, same id): dimmed, its reason and
     what it was judged on in the title */
  function onCancel(h) {
    st.cancels++;
    const c = h.stream === st.stream ? chan(h.channel) : null;
    if (!c || h.id == null) return;
    const sp = c.spans.find((s) => s.id === h.id && (s.kind === 'notice' || s.kind === 'epn') && !s.cancelled);
    if (!sp) { pushCapped(st.unmatched, h.id, 64); return; }   // its notice came before this page
    const f = h.features || {};
    const what = [];
    if (f.duration_ms != null) what.push(`${fmt(f.duration_ms, 0)} ms`);
    if (f.peak_uv) what.push(`peak ${uvText(f.peak_uv)}`);
    if (f.turns) what.push(`${f.turns} turns`);
    if (f.mepp_rate_hz != null) what.push(`MEPP ${fmt(f.mepp_rate_hz, 0)}/s`);
    const reason = String(h.reason);
    sp.cancelled = reason;
    sp.title = `${h.type === 'epn' ? 'EPN' : 'LTR'} notice cancelled: ${reason}${what.length ? ' (' + what.join(', ') + ')' : ''}`;
    if (sp.kind === 'epn') {
      sp.s1 = Math.max(sp.s0, f.offset_sample != null ? f.offset_sample : Math.round(h.emitted_s * (st.rate || 48000)));
      sp.label = `EPN ✕ ${reason}`;
    }
    st.cancelsMatched++;
  }

  /* ---------- insertion trains ---------- */

  const trains = new Map();   // "stream|channel|train" -> {channel, train, insertion, ltrs: [...], last}
  let currentTrain = null;

  function onTrainLtr(h) {
    if (h.train == null) return;
    const key = `${h.stream}|${h.channel}|${h.train}`;
    let t = trains.get(key);
    if (!t) {
      t = { key, channel: h.channel, train: h.train, insertion: null, ltrs: [], last: -1, order: streamOrder(h.stream) };
      trains.set(key, t);
      if (trains.size > MAX_TRAINS) {
        let oldest = null;
        for (const v of trains.values())
          if (v !== t && (!oldest || v.order < oldest.order || (v.order === oldest.order && v.last < oldest.last))) oldest = v;
        trains.delete(oldest.key);
        if (currentTrain === oldest.key) currentTrain = null;
      }
    }
    if (h.insertion != null) t.insertion = h.insertion;
    if (!t.ltrs.some((l) => l.index === h.train_index)) {
      t.ltrs.push({ index: h.train_index, rel: h.rel_amp, p2p: h.p2p_uv, seq: h.seq });
      t.ltrs.sort((a, b) => a.index - b.index);
      if (t.ltrs.length > MAX_TRAIN_LTRS) t.ltrs.splice(0, t.ltrs.length - MAX_TRAIN_LTRS);
    }
    t.last = Math.max(t.last, h.offset_sample);
    const cur = currentTrain && trains.get(currentTrain);
    if (!cur || t.order > cur.order || (t.order === cur.order && t.last >= cur.last)) currentTrain = key;
    drawTrain();
  }

  function drawTrain() {
    const t = currentTrain && trains.get(currentTrain);
    const info = $('train-info'), bars = $('train-bars');
    bars.textContent = '';
    if (!t) { info.textContent = 'no LTR yet'; info.dataset.key = ''; return; }
    const first = t.ltrs.find((l) => l.index === 0);
    info.classList.remove('muted');
    info.dataset.key = t.key;
    info.dataset.count = String(t.ltrs.length);
    info.textContent = `ch ${t.channel} · train ${t.train}${t.insertion != null ? ' · insertion ' + t.insertion : ''} · ` +
      `${t.ltrs.length} LTR${t.ltrs.length === 1 ? '' : 's'}${first ? ' · first ' + uvText(first.p2p) : ''}`;
    const top = Math.max(1, ...t.ltrs.map((l) => l.rel || 0));
    for (const l of t.ltrs) {
      const b = document.createElement('div');
      b.className = 'bar';
      b.dataset.index = String(l.index);
      b.dataset.rel = String(l.rel);
      b.title = `#${l.index}: ${uvText(l.p2p)}, ${fmt(l.rel, 2)} of the first`;
      const v = document.createElement('span');
      v.textContent = fmt(l.rel, 2);
      const i = document.createElement('i');
      i.style.height = `${Math.max(2, Math.min(100, (100 * (l.rel || 0)) / top))}%`;
      b.append(v, i);
      bars.appendChild(b);
    }
  }

  /* ---------- the stream ---------- */

  function newStream(id) {
    const restarted = st.stream !== null;
    st.stream = id;
    streamOrder(id);
    st.seq.clear();
    st.firstNotice = null;
    if (restarted) {
      eachChan((c) => c.reset());
      st.session = null;
      snapshot();
    }
  }

  function track(h) {
    if (h.stream == null || h.seq == null) return;
    if (h.stream !== st.stream) newStream(h.stream);
    const last = st.seq.get(h.topic);
    if (last != null && h.seq > last + 1) st.seqMissing += h.seq - last - 1;
    if (last == null || h.seq > last) {
      st.seq.set(h.topic, h.seq);
      if (st.seq.size > MAX_TOPICS) st.seq.delete(st.seq.keys().next().value);
    }
  }

  function onSig(h) {
    const c = chan(h.channel);
    if (!c || !h.samples || !h.rate) return;
    c.setRate(h.rate, h.decim || 1);
    c.push(h.sample, h.samples, h.scale_uv || 1, $('filter').value);
    if (audio.ctx && h.channel === audio.ch) playBlock(c.out, h.samples.length, h.rate);
  }

  function onMessage(h) {
    st.messages++;
    const t = h.topic;
    if (t === 'web.hb') { st.webHb = h; st.webHbAt = performance.now(); return; }
    if (t === 'web.dropped') { st.webDropped = h.dropped; return; }
    if (t === 'web.hello') return;
    track(h);
    if (t === 'sts') onSts(h);
    else if (t.startsWith('sig.')) onSig(h);
    else if (t.startsWith('evt.start.')) onStart(h);
    else if (t === 'evt.cancel') onCancel(h);
    else onRecord(h, false);
  }

  let es = null;
  function connect() {
    es = new EventSource('events');
    es.onopen = () => { st.sseOpen = true; snapshot(); updateConn(); };
    es.onerror = () => {
      st.sseOpen = false;
      updateConn();
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);   // refused (503): try again
    };
    es.onmessage = (e) => {
      let h;
      try { h = JSON.parse(e.data); } catch (err) { st.bad++; return; }
      if (h && typeof h.topic === 'string') onMessage(h);
    };
  }

  /* ---------- the daemon's audio monitor (its sound card) ---------- */

  /* sts.monitor (protocol.md): shown when monitor.enabled; the controls
     follow the daemon unless the user is on them */
  function onMonitor(m, nch) {
    const box = $('monitor');
    if (!m || !m.enabled) { box.hidden = true; box.dataset.state = 'off'; return; }
    box.hidden = false;
    box.dataset.state = m.state || '-';
    const sel = $('mon-ch');
    if (sel.options.length !== nch + 1) {
      sel.textContent = '';
      for (let ch = 0; ch < nch; ch++) {
        const o = document.createElement('option');
        o.value = String(ch);
        o.textContent = `ch ${ch}`;
        sel.appendChild(o);
      }
      const o = document.createElement('option');
      o.value = 'mix';
      o.textContent = 'mix';
      sel.appendChild(o);
    }
    const active = document.activeElement;
    if (active !== sel) sel.value = String(m.channel);
    if (active !== $('mon-gain')) $('mon-gain').value = String(m.gain_db);
    $('mon-mute').checked = !!m.mute;
    const st = $('mon-state');
    st.textContent = m.error ? 'error' : m.latency_ms != null
      ? `${m.state}, ${fmt(m.latency_ms, 1)} ms` : (m.state || '-');
    st.title = m.error || `${m.device || ''}: underruns ${m.underruns}, overruns ${m.overruns}, ` +
      `latency ${fmt(m.latency_ms, 1)} ms (largest ${fmt(m.latency_max_ms, 1)} ms) + device ` +
      `${fmt(m.output_latency_ms, 1)} ms, limiter ${fmt(m.limit_db, 1)} dB`;
  }
  async function monitorCtl(req) {
    const r = await ctl(Object.assign({ cmd: 'monitor' }, req));
    if (r.ok && r.monitor) onMonitor(r.monitor, $('mon-ch').options.length - 1);
  }
  $('mon-ch').addEventListener('change', (e) => {
    const v = e.target.value;
    monitorCtl({ channel: v === 'mix' ? 'mix' : Number(v) });
  });
  $('mon-gain').addEventListener('change', (e) => {
    const v = Number(e.target.value);
    if (isFinite(v)) monitorCtl({ gain_db: v });
  });
  $('mon-mute').addEventListener('change', (e) => monitorCtl({ mute: e.target.checked }));

  /* ---------- listen: the display stream through Web Audio ---------- */

  const audio = { ctx: null, gain: null, next: 0, ch: 0, hpX: 0, hpY: 0, last: 0, blocks: 0 };

  function updateListenChoices() {
    const sel = $('listen-ch');
    const n = chans.length;
    if (sel.options.length === n && !st.electrodes.length) return;
    const keep = sel.value;
    sel.textContent = '';
    for (let ch = 0; ch < n; ch++) {
      if (!chans[ch]) continue;
      const o = document.createElement('option');
      o.value = String(ch);
      o.textContent = `ch ${ch}${st.electrodes[ch] ? ' ' + st.electrodes[ch] : ''}`;
      sel.appendChild(o);
    }
    const needle = st.electrodes.indexOf('needle');
    sel.value = keep !== '' && sel.querySelector(`option[value="${keep}"]`) ? keep : String(needle >= 0 ? needle : 0);
    audio.ch = Number(sel.value);
  }
  $('listen-ch').addEventListener('change', (e) => { audio.ch = Number(e.target.value); });
  $('volume').addEventListener('input', (e) => { if (audio.gain) audio.gain.gain.value = Number(e.target.value); });
  $('listen').addEventListener('change', (e) => {
    if (e.target.checked) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { e.target.checked = false; return; }
      audio.ctx = new AC();
      audio.gain = audio.ctx.createGain();
      audio.gain.gain.value = Number($('volume').value);
      audio.gain.connect(audio.ctx.destination);
      audio.next = 0; audio.hpX = audio.hpY = audio.last = 0;
      audio.ctx.resume();
    } else if (audio.ctx) {
      audio.ctx.close();
      audio.ctx = null; audio.gain = null;
    }
  });

  /* One display block (as displayed): high-passed, scaled, upsampled (linear) to at
     least AUDIO_RATE_MIN, queued right after the previous one (at most
     0.6 s ahead: a late block restarts the queue instead of piling up). */
  function playBlock(vals, n, rate) {
    const ctx = audio.ctx;
    const k = Math.max(1, Math.ceil(AUDIO_RATE_MIN / rate));
    if (!n) return;
    const buf = ctx.createBuffer(1, n * k, rate * k);
    const d = buf.getChannelData(0);
    const a = Math.exp((-2 * Math.PI * AUDIO_HP_HZ) / rate);
    let prev = audio.last;
    for (let i = 0; i < n; i++) {
      const x = vals[i] !== vals[i] ? audio.hpX : vals[i];   // NaN: hold
      const y = a * (audio.hpY + x - audio.hpX);
      audio.hpX = x; audio.hpY = y;
      const v = Math.max(-1, Math.min(1, y / AUDIO_FULL_UV));
      for (let j = 0; j < k; j++) d[i * k + j] = prev + ((v - prev) * (j + 1)) / k;
      prev = v;
    }
    audio.last = prev;
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.connect(audio.gain);
    const now = ctx.currentTime;
    if (audio.next < now + 0.02 || audio.next > now + 0.6) audio.next = now + 0.15;
    src.start(audio.next);
    audio.next += buf.duration;
    audio.blocks++;
  }

  /* ---------- drawing ---------- */

  const perf = { fps: 0, drawMs: 0, frames: 0, last: performance.now() };
  function frame(now) {
    const dt = Math.min(0.25, Math.max(0, (now - perf.last) / 1000));
    perf.last = now;
    const t0 = performance.now();
    const winS = Number($('win').value), fixed = Number($('scale').value);
    eachChan((c) => c.draw(dt, winS, fixed));
    const ms = performance.now() - t0;
    perf.drawMs = perf.drawMs ? perf.drawMs * 0.95 + ms * 0.05 : ms;
    if (dt > 0) perf.fps = perf.fps ? perf.fps * 0.95 + 0.05 / dt : 1 / dt;
    perf.frames++;
    requestAnimationFrame(frame);
  }

  setInterval(updateConn, 100);
  setInterval(() => eachChan((c) => c.updateLabel()), 500);

  window.twView = {
    stats() {
      return {
        stream: st.stream, messages: st.messages, bad: st.bad, rows: rows.size,
        seqMissing: st.seqMissing, webDropped: st.webDropped, fps: perf.fps, drawMs: perf.drawMs,
        frames: perf.frames, ltrCount: st.ltrCount, session: st.session && st.session.id,
        trains: trains.size, live: $('conn').dataset.state === 'live',
        webHbAgeS: (performance.now() - st.webHbAt) / 1000, sseOpen: st.sseOpen,
        audio: audio.ctx ? { state: audio.ctx.state, rate: audio.ctx.sampleRate, channel: audio.ch, blocks: audio.blocks,
          aheadS: audio.next - audio.ctx.currentTime } : null,
        notices: st.notices, cancels: st.cancels, cancelsMatched: st.cancelsMatched,
        firstNotice: st.firstNotice, unmatched: st.unmatched.slice(),
        chans: chans.filter(Boolean).map((c) => ({ ch: c.ch, rate: c.rate, cap: c.cap, head: c.head, spans: c.spans.length, noise: c.noise.length,
          openNotices: c.spans.filter((s) => s.kind === 'notice' && !s.cancelled).map((s) => s.id),
          cancelled: c.spans.filter((s) => s.cancelled).map((s) => ({ id: s.id, kind: s.kind, reason: s.cancelled, x: s.x })) })),
      };
    },
  };

  setCounter(0, null, 'none');
  connect();
  requestAnimationFrame(frame);
})();
