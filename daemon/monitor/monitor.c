/* monitor.c: see monitor.h (the sink's data path, the monitor thread);
 * the device is mon_device.c's, the command and status mon_cmd.c's. */
#include "monitor.h"
#include "thread_name.h"
#include "monitor_priv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tw_clock.h"

static void set_info_error(tw_monitor *m, const char *text)
{
    pthread_mutex_lock(&m->mu);
    snprintf(m->info.error, sizeof m->info.error, "%s", text);
    pthread_mutex_unlock(&m->mu);
}

void tw_mon_set_error(tw_monitor *m, const char *fmt, ...)
{
    char text[sizeof m->info.error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    set_info_error(m, text);
    if (text[0] && strcmp(text, m->logged) != 0)
        tw_log(TW_LOG_ERR, "monitor: %s (capture goes on; retrying every %g s)", text,
               TW_MON_RETRY_S);
    snprintf(m->logged, sizeof m->logged, "%s", text);
}

tw_monitor *tw_monitor_create(const tw_config *c, int nch, double input_rate,
                              unsigned frames_per_block)
{
    tw_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *c;
    m->enabled = c->mon_enabled;
    m->nch = nch;
    m->in_rate = input_rate;
    m->in_block = frames_per_block;
    m->fill_ema = -1.0;
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->gain_mdb, (int)lround(c->mon_gain_db * 1000.0));
    atomic_init(&m->mute, c->mon_mute);
    atomic_init(&m->stop, 0);
    char why[128];
    m->chan = tw_config_monitor_channel(c->mon_channel, why, sizeof why);
    if (m->chan >= nch || m->chan == -1) {
        snprintf(m->setup_err, sizeof m->setup_err,
                 "monitor.channel '%s': the input has %d channel%s (allowed %s%d|mix)",
                 c->mon_channel, nch, nch == 1 ? "" : "s", nch > 1 ? "0 .. " : "", nch - 1);
        m->chan = 0;
    }
    if (!m->enabled)
        return m;
    m->mix = malloc(TW_MON_MAX_BLOCK * sizeof *m->mix);
    m->buf_in = malloc(TW_MON_MAX_BLOCK * sizeof *m->buf_in);
    m->a = tw_spsc_create(TW_MON_A_SAMPLES, sizeof(float));
    m->a_marks = tw_spsc_create(TW_MON_A_MARKS, sizeof(mon_mark));
    size_t cap = (size_t)(TW_MON_OUT_RING_S * TW_MON_RATE_MAX);
    m->out = tw_mon_out_create(cap, 0, cap); /* sized for each device (mon_device.c) */
    m->wake_ok = m->mix && m->buf_in && m->a && m->a_marks && m->out &&
                 sem_init(&m->wake, 0, 0) == 0;
    if (!m->wake_ok) {
        tw_monitor_destroy(m);
        return NULL;
    }
    if (m->setup_err[0])
        set_info_error(m, m->setup_err);
    return m;
}

/* ---- the DSP thread ---------------------------------------------------- */

static void on_conditioned(void *ctx, const tw_sink_conditioned *c)
{
    tw_monitor *m = ctx;
    if (m->setup_err[0] || c->nch < 1)
        return;
    const float *y;
    size_t n;
    if (m->chan == TW_MONITOR_MIX) {
        n = c->n[0];
        for (int ch = 1; ch < c->nch; ch++)
            n = c->n[ch] < n ? c->n[ch] : n; /* (differ only after a flat stretch) */
        if (n > TW_MON_MAX_BLOCK)
            n = TW_MON_MAX_BLOCK;
        float k = 1.0f / (float)c->nch;
        for (size_t i = 0; i < n; i++) {
            float s = 0.0f;
            for (int ch = 0; ch < c->nch; ch++)
                s += c->y[ch][i];
            m->mix[i] = s * k;
        }
        y = m->mix;
    } else {
        int ch = m->chan < c->nch ? m->chan : 0;
        y = c->y[ch];
        n = c->n[ch];
    }
    if (n == 0)
        return;
    /* room for the samples and the mark, or the block is dropped */
    if (n > TW_MON_MAX_BLOCK ||
        tw_spsc_capacity(m->a) - tw_spsc_fill(m->a) < n ||
        tw_spsc_capacity(m->a_marks) - tw_spsc_fill(m->a_marks) < 1) {
        atomic_fetch_add(&m->engine_dropped, 1);
        return;
    }
    tw_spsc_write(m->a, y, n);
    mon_mark mk = {(uint32_t)n, c->rate, c->mono};
    tw_spsc_write(m->a_marks, &mk, 1); /* after the samples: the thread reads it first */
    sem_post(&m->wake);
}

static void add_status(void *ctx, json_t *body)
{
    json_object_set_new(body, "monitor", tw_mon_status_json(ctx));
}

static json_t *on_command(void *ctx, const char *cmd, const json_t *req)
{
    return strcmp(cmd, "monitor") ? NULL : tw_mon_command(ctx, req);
}

tw_sink tw_monitor_sink(tw_monitor *m)
{
    tw_sink s = {.name = "monitor", .ctx = m, .add_status = add_status,
                 .on_command = on_command};
    if (m->enabled)
        s.on_conditioned = on_conditioned;
    return s;
}

/* ---- the monitor thread -------------------------------------------------- */

/* The chain for rate_in -> the device's rate, made again when either
 * changes. 0, or -1 (error set). */
static int ensure_chain(tw_monitor *m, double rate_in)
{
    if (m->chain && m->chain_in == rate_in && m->chain_out == m->out_rate)
        return 0;
    tw_mon_chain_destroy(m->chain);
    m->chain = NULL;
    free(m->buf_out);
    m->buf_out = NULL;
    tw_mon_chain_params p = {.rate_in_hz = rate_in, .rate_out_hz = m->out_rate,
                             .full_scale_uv = m->cfg.full_scale_uv,
                             .highpass_hz = m->cfg.mon_highpass_hz,
                             .gain_db = atomic_load(&m->gain_mdb) / 1000.0,
                             .mute = atomic_load(&m->mute)};
    char err[256];
    m->chain = tw_mon_chain_create(&p, err, sizeof err);
    if (!m->chain) {
        tw_mon_set_error(m, "%s", err);
        return -1;
    }
    m->buf_out_cap = tw_mon_chain_max_out(m->chain, TW_MON_MAX_BLOCK);
    m->buf_out = malloc(m->buf_out_cap * sizeof *m->buf_out);
    if (!m->buf_out) {
        tw_mon_chain_destroy(m->chain);
        m->chain = NULL;
        tw_mon_set_error(m, "out of memory");
        return -1;
    }
    m->chain_in = rate_in;
    m->chain_out = m->out_rate;
    m->fill_ema = -1.0;
    return 0;
}

/* Hold ring B's fill, just after each push, at the priming target: the
 * device's clock and the input's drift apart (tens of ppm), so the
 * resampling rate is trimmed by up to TW_MON_TRIM_MAX. */
static void trim(tw_monitor *m)
{
    if (!tw_mon_out_is_playing(m->out)) {
        m->fill_ema = -1.0;
        tw_mon_chain_set_trim(m->chain, 1.0);
        return;
    }
    double fill = (double)tw_mon_out_get_fill(m->out);
    m->fill_ema = m->fill_ema < 0 ? fill : m->fill_ema + (fill - m->fill_ema) * TW_MON_FILL_EMA;
    double setpoint = (double)tw_mon_out_get_target(m->out);
    double err_s = (m->fill_ema - setpoint) / m->out_rate;
    tw_mon_chain_set_trim(m->chain, 1.0 - err_s / TW_MON_TRIM_TAU_S);
}

/* Everything ring A holds: through the chain into ring B (or away while
 * there is no device). */
static void drain(tw_monitor *m)
{
    const mon_mark *pk;
    while ((pk = tw_spsc_peek(m->a_marks)) != NULL) {
        mon_mark mk = *pk;
        tw_spsc_read(m->a_marks, NULL, 1);
        size_t n = tw_spsc_read(m->a, m->buf_in, mk.n);
        if (!m->stream || ensure_chain(m, mk.rate) != 0)
            continue;
        tw_mon_chain_set_gain_db(m->chain, atomic_load(&m->gain_mdb) / 1000.0);
        tw_mon_chain_set_mute(m->chain, atomic_load(&m->mute));
        size_t ny = tw_mon_chain_execute(m->chain, m->buf_in, n, m->buf_out, m->buf_out_cap);
        tw_mon_out_push(m->out, m->buf_out, ny, mk.mono);
        trim(m);
    }
    if (m->chain) {
        pthread_mutex_lock(&m->mu);
        m->info.clipped = tw_mon_chain_get_clipped(m->chain);
        m->info.limit_db = tw_mon_chain_get_limit_db(m->chain);
        pthread_mutex_unlock(&m->mu);
    }
}

static void *run(void *arg)
{
    tw_thread_name("tw-monitor");
    tw_monitor *m = arg;
    while (!atomic_load(&m->stop)) {
        double now = tw_mono_s();
        if (!m->stream && now >= m->next_try && tw_mon_device_open(m) != 0)
            m->next_try = now + TW_MON_RETRY_S;
        else if (m->stream && tw_mon_device_health(m) != 0) {
            tw_mon_device_close(m);
            m->next_try = now + TW_MON_RETRY_S;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until); /* sem_timedwait's clock */
        until.tv_nsec += TW_MON_WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (sem_timedwait(&m->wake, &until) != 0 && errno == EINTR)
            ;
        drain(m);
        if (m->stream)
            tw_mon_device_targets(m); /* the bursts seen so far */
    }
    tw_mon_device_close(m);
    return NULL;
}

int tw_monitor_start(tw_monitor *m, char *err, size_t errlen)
{
    if (!m->enabled)
        return 0;
    if (m->setup_err[0]) { /* nothing to play: said once, the daemon goes on */
        tw_log(TW_LOG_ERR, "monitor: %s (the monitor stays silent; capture goes on)",
               m->setup_err);
        return 0;
    }
    int rc = pthread_create(&m->th, NULL, run, m);
    if (rc != 0) {
        tw_set_err(err, errlen, "monitor: cannot start its thread: %s", strerror(rc));
        return -1;
    }
    m->th_started = 1;
    return 0;
}

void tw_monitor_stop(tw_monitor *m)
{
    if (!m || !m->th_started)
        return;
    atomic_store(&m->stop, 1);
    sem_post(&m->wake);
    pthread_join(m->th, NULL);
    m->th_started = 0;
}

void tw_monitor_destroy(tw_monitor *m)
{
    if (!m)
        return;
    tw_monitor_stop(m);
    tw_mon_chain_destroy(m->chain);
    tw_spsc_destroy(m->a);
    tw_spsc_destroy(m->a_marks);
    tw_mon_out_destroy(m->out);
    if (m->wake_ok)
        sem_destroy(&m->wake);
    free(m->mix);
    free(m->buf_in);
    free(m->buf_out);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
