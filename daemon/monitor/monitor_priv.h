/* monitor_priv.h: the audio monitor's state, shared by its files:
 *   monitor.c     create, start, stop; the sink's data path (DSP thread);
 *                 the monitor thread's loop (rings, chain, drift trim)
 *   mon_device.c  the output device: open, health, close, the callback
 *   mon_cmd.c     the `monitor` command and the status object
 * Fields are owned as marked: [dsp] the DSP thread, [thr] the monitor
 * thread, [cb] the PortAudio callback, [mu] under mu; atomics any. */
#ifndef TW_MONITOR_PRIV_H
#define TW_MONITOR_PRIV_H

#include <portaudio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "mon_chain.h"
#include "mon_out.h"
#include "monitor.h"
#include "spsc.h"

#define TW_MON_A_SAMPLES 32768   /* ring A: conditioned samples (1.6 s at 20 kHz) */
#define TW_MON_A_MARKS 1024      /* ring A: blocks */
#define TW_MON_MAX_BLOCK 8192    /* conditioned samples of one block, at most */
#define TW_MON_WAIT_MS 50        /* the thread wakes at least this often, ms */
#define TW_MON_OUT_RING_S 0.5    /* ring B's capacity, s of output at TW_MON_RATE_MAX */
#define TW_MON_RATE_MAX 192000.0 /* output rate, at most, Hz (config.c monitor.rate) */
#define TW_MON_TRIM_TAU_S 5.0    /* the drift trim corrects a fill error within about this, s */
#define TW_MON_FILL_EMA 0.05     /* smoothing of the fill the trim holds, per block */
#define TW_MON_BURST_SKIP_S 0.5  /* bursts are measured from this long after the start
                                    (PortAudio fills the device buffer at once first), s */
#define TW_MON_BURST_WIN_S 1.0   /* the largest burst of each such window ... */
#define TW_MON_BURST_WINS 3      /* ... the smallest of this many: the device's regular
                                    burst, not a catch-up after a late callback */

typedef struct {
    uint32_t n;          /* samples of the block in ring A */
    double rate;         /* their rate, Hz */
    double mono;         /* the source's hand-over, CLOCK_MONOTONIC s */
} mon_mark;

/* What the monitor thread tells the status (slow-changing). */
typedef struct {
    char device[200];    /* "ALSA: emg_out (index 3)", "" before the first open */
    char error[600];     /* "" or why it does not play */
    double rate;         /* output rate, Hz; 0: not open */
    int channels;        /* output channels */
    double out_latency_ms; /* the device buffer, PortAudio's outputLatency */
    double buffer_ms;    /* ring B's priming target */
    uint64_t clipped;    /* samples the clip guard cut */
    double limit_db;     /* the limiter's gain now, dB */
} mon_info;

struct tw_monitor {
    tw_config cfg;
    int enabled, nch;
    double in_rate;
    unsigned in_block;           /* input frames per block */
    char setup_err[400];         /* a setting this input cannot meet, or "" */

    /* the data path from the DSP thread */
    int chan;                    /* [dsp] TW_MONITOR_MIX or 0 .. nch - 1 */
    float *mix;                  /* [dsp] the mean, TW_MON_MAX_BLOCK */
    tw_spsc *a, *a_marks;        /* ring A (spsc.h): [dsp] writes, [thr] reads */
    _Atomic uint64_t engine_dropped; /* blocks ring A had no room for */
    sem_t wake;                  /* [dsp] posts after each block */
    int wake_ok;                 /* sem_init done */
    atomic_int gain_mdb;         /* the gain, 1/1000 dB ([dsp] sets) */
    atomic_int mute;

    /* the monitor thread */
    pthread_t th;
    int th_started;
    atomic_int stop;
    tw_mon_chain *chain;         /* [thr] for (chain_in, chain_out) */
    double chain_in, chain_out;
    float *buf_in, *buf_out;     /* [thr] a block in, its output */
    size_t buf_out_cap;
    double fill_ema;             /* [thr] -1: none yet */
    double next_try;             /* [thr] CLOCK_MONOTONIC s of the next open */
    char logged[600];            /* [thr] the last error logged */

    /* the device (mon_device.c) */
    PaStream *stream;            /* [thr] */
    int pa_init;                 /* [thr] one Pa_Terminate owed */
    tw_mon_out *out;             /* ring B: [thr] pushes, [cb] pulls; lives as long as
                                    the monitor (status reads its counters) */
    unsigned out_ch;
    double out_rate;
    _Atomic uint64_t dac_us;     /* [cb] the output buffer's DAC delay, us */
    double cb_last;              /* [cb] CLOCK_MONOTONIC s of the last callback */
    double cb_from;              /* bursts count from then on (set before the start) */
    unsigned cb_burst;           /* [cb] frames taken back to back so far */
    atomic_uint burst_win;       /* [cb] the most frames a burst took in this window;
                                    [thr] takes it every TW_MON_BURST_WIN_S */
    unsigned burst_hist[TW_MON_BURST_WINS]; /* [thr] the last windows' largest bursts */
    unsigned burst_n;            /* [thr] windows seen */
    unsigned burst;              /* [thr] the device's burst: the smallest of those */
    double burst_next;           /* [thr] CLOCK_MONOTONIC s of the next window */
    _Atomic uint64_t device_underflows; /* [cb] PortAudio paOutputUnderflow */

    pthread_mutex_t mu;
    mon_info info;               /* [mu] written by the thread */
    mon_info seen;               /* [dsp] the last copy read (trylock) */
};

/* mon_device.c, in the monitor thread: open the device monitor.device
 * names and start it (0), or -1 with m->info.error set; health: 0 while
 * it plays, -1 (error set) when it stopped by itself; close. */
int tw_mon_device_open(tw_monitor *m);
int tw_mon_device_health(tw_monitor *m);
/* Ring B's priming target (the fill the trim holds right after each
 * push) from monitor.latency_ms, or (0) the larger of an input block and
 * the device's burst (the callbacks that come back to back: a device
 * whose period is longer than a callback, or that takes two at once;
 * measured, else PortAudio's output latency), plus TW_MON_MARGIN_MS; the
 * limit an input block, a burst and the margin more. Takes the burst
 * windows that ended. */
void tw_mon_device_targets(tw_monitor *m);
void tw_mon_device_close(tw_monitor *m);

/* monitor.c: the thread's error (logged once per new text); "" clears. */
void tw_mon_set_error(tw_monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mon_cmd.c, in the DSP thread: the `monitor` command (reply: new
 * reference) and the status object (new reference). */
json_t *tw_mon_command(tw_monitor *m, const json_t *req);
json_t *tw_mon_status_json(tw_monitor *m);

#endif
