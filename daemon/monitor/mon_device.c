/* mon_device.c: the audio monitor's output device (monitor_priv.h), in
 * the monitor thread: PortAudio (pa_device.h: chosen by name as the input
 * is; every call on PortAudio's global state under tw_pa_lock), float32,
 * one or two channels (the same signal on both), callbacks of the
 * host's own size, the device's low-latency buffer. */
#include "monitor_priv.h"

#include <math.h>
#include <pa_linux_alsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pa_device.h"
#include "tw_clock.h"

/* The callback: ring B into the output buffer (mon_out.h); nothing that
 * may block. */
static int callback(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags status, void *user)
{
    tw_monitor *m = user;
    (void)input;
    double now = tw_mono_s();
    tw_mon_out_pull(m->out, output, frames, m->out_ch, now);
    /* bursts: callbacks that come back to back (a device whose period is
     * longer than our block takes several at once): the ring must hold
     * that much more */
    m->cb_burst = now - m->cb_last < 0.5 * (double)frames / m->out_rate
                      ? m->cb_burst + (unsigned)frames : (unsigned)frames;
    m->cb_last = now;
    if (now >= m->cb_from && m->cb_burst > atomic_load(&m->burst_win))
        atomic_store(&m->burst_win, m->cb_burst);
    if (ti && ti->currentTime > 0 && ti->outputBufferDacTime > ti->currentTime)
        atomic_store(&m->dac_us, (uint64_t)llround((ti->outputBufferDacTime - ti->currentTime) * 1e6));
    if (status & paOutputUnderflow) {
        atomic_fetch_add(&m->device_underflows, 1);
        m->cb_from = now + TW_MON_BURST_SKIP_S; /* PortAudio refills the device buffer */
    }
    return paContinue;
}

void tw_mon_device_targets(tw_monitor *m)
{
    double now = tw_mono_s();
    if (now >= m->burst_next) {
        unsigned w = atomic_exchange(&m->burst_win, 0);
        if (w > 0) {
            m->burst_hist[m->burst_n++ % TW_MON_BURST_WINS] = w;
            unsigned k = m->burst_n < TW_MON_BURST_WINS ? m->burst_n : TW_MON_BURST_WINS;
            m->burst = w;
            for (unsigned i = 0; i < k; i++)
                m->burst = m->burst_hist[i] < m->burst ? m->burst_hist[i] : m->burst;
        }
        m->burst_next = now + TW_MON_BURST_WIN_S;
    }
    double in_block = m->in_block / m->in_rate * m->out_rate; /* output samples */
    double margin = TW_MON_MARGIN_MS * 1e-3 * m->out_rate;
    /* the fill right after a push must outlast the larger of a push
     * interval (an input block) and a burst of the device */
    double target = m->cfg.mon_latency_ms > 0 ? m->cfg.mon_latency_ms * 1e-3 * m->out_rate
                                              : (in_block > m->burst ? in_block : m->burst) + margin;
    double limit = target + in_block + m->burst + margin;
    double cap = TW_MON_OUT_RING_S * TW_MON_RATE_MAX;
    if (limit > cap)
        limit = cap;
    if (target > limit)
        target = limit;
    if ((size_t)target == tw_mon_out_get_target(m->out))
        return;
    tw_mon_out_set_target(m->out, (size_t)target, (size_t)limit);
    pthread_mutex_lock(&m->mu);
    m->info.buffer_ms = target / m->out_rate * 1e3;
    pthread_mutex_unlock(&m->mu);
}

/* Ring B for the device's rate (no callback runs now): the burst is
 * PortAudio's output latency until one is measured (between 5 and 20
 * ms). */
static void make_ring(tw_monitor *m, double out_latency_s)
{
    tw_mon_out_reset(m->out);
    double b = out_latency_s < 5e-3 ? 5e-3 : out_latency_s > 20e-3 ? 20e-3 : out_latency_s;
    m->burst = (unsigned)lround(b * m->out_rate);
    m->burst_n = 0;
    atomic_store(&m->burst_win, 0);
    m->burst_next = tw_mono_s() + TW_MON_BURST_SKIP_S + TW_MON_BURST_WIN_S;
    tw_mon_device_targets(m);
}

int tw_mon_device_open(tw_monitor *m)
{
    const char *want = m->cfg.mon_device;
    tw_pa_want w = {.want = strcmp(want, "default") ? want : "", .key = "monitor.device",
                    .hostapi = m->cfg.hostapi, .api_key = "input.hostapi", .output = 1};
    char why[sizeof m->info.error - 64];
    tw_pa_lock();
    if (!m->pa_init) {
        PaError e = Pa_Initialize();
        if (e != paNoError) {
            tw_pa_unlock();
            tw_mon_set_error(m, "PortAudio: cannot initialise: %s", Pa_GetErrorText(e));
            return -1;
        }
        m->pa_init = 1;
    }
    int dev = tw_pa_find(&w, why, sizeof why);
    if (dev < 0) {
        Pa_Terminate(); /* the next try scans the devices again (unless the input holds one) */
        m->pa_init = 0;
        tw_pa_unlock();
        tw_mon_set_error(m, "monitor.device '%s': %s", want, why);
        return -1;
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(dev);
    m->out_rate = m->cfg.mon_rate > 0 ? m->cfg.mon_rate : d->defaultSampleRate;
    m->out_ch = d->maxOutputChannels >= 2 ? 2 : 1;
    char desc[sizeof m->info.device];
    snprintf(desc, sizeof desc, "%s: %s (index %d)", tw_pa_api_name(d), d->name, dev);
    if (m->out_rate > TW_MON_RATE_MAX) {
        Pa_Terminate();
        m->pa_init = 0;
        tw_pa_unlock();
        tw_mon_set_error(m, "%s: %g Hz is above the monitor's %g Hz", desc, m->out_rate,
                         TW_MON_RATE_MAX);
        return -1;
    }
    PaStreamParameters out = {.device = dev, .channelCount = (int)m->out_ch,
                              .sampleFormat = paFloat32,
                              .suggestedLatency = d->defaultLowOutputLatency,
                              .hostApiSpecificStreamInfo = NULL};
    PaAlsa_SetNumPeriods(TW_MON_ALSA_PERIODS); /* global: the input sets its own */
    /* callbacks of the host's own size: a device's period at a time */
    PaError e = Pa_OpenStream(&m->stream, NULL, &out, m->out_rate, paFramesPerBufferUnspecified,
                              paClipOff | paDitherOff, callback, m);
    const PaStreamInfo *si = e == paNoError ? Pa_GetStreamInfo(m->stream) : NULL;
    double lat_ms = si ? si->outputLatency * 1e3 : 0.0;
    if (e == paNoError) {
        make_ring(m, lat_ms * 1e-3); /* before the callback runs */
        m->cb_last = 0.0;
        m->cb_burst = 0;
        m->cb_from = tw_mono_s() + TW_MON_BURST_SKIP_S;
        e = Pa_StartStream(m->stream);
        if (e != paNoError)
            Pa_CloseStream(m->stream);
    }
    if (e != paNoError) {
        m->stream = NULL;
        Pa_Terminate();
        m->pa_init = 0;
        tw_pa_unlock();
        tw_mon_set_error(m, "%s cannot play %g Hz, %u ch, float32: %s", desc, m->out_rate,
                         m->out_ch, Pa_GetErrorText(e));
        return -1;
    }
    tw_pa_unlock();
    pthread_mutex_lock(&m->mu);
    snprintf(m->info.device, sizeof m->info.device, "%s", desc);
    m->info.rate = m->out_rate;
    m->info.channels = (int)m->out_ch;
    m->info.out_latency_ms = lat_ms;
    pthread_mutex_unlock(&m->mu);
    tw_mon_set_error(m, "%s", "");
    char ch[16];
    if (m->chan == TW_MONITOR_MIX)
        snprintf(ch, sizeof ch, "mix");
    else
        snprintf(ch, sizeof ch, "channel %d", m->chan);
    tw_log(TW_LOG_INFO, "monitor: playing %s on %s, %g Hz, %u ch (buffer %.1f ms, device %.1f ms)",
           ch, desc, m->out_rate, m->out_ch, m->info.buffer_ms, lat_ms);
    return 0;
}

int tw_mon_device_health(tw_monitor *m)
{
    PaError a = Pa_IsStreamActive(m->stream);
    if (a == 1)
        return 0;
    if (a < 0)
        tw_mon_set_error(m, "%s: stream error: %s", m->info.device, Pa_GetErrorText(a));
    else
        tw_mon_set_error(m, "%s: the output stopped by itself (device lost?)", m->info.device);
    return -1;
}

void tw_mon_device_close(tw_monitor *m)
{
    tw_pa_lock();
    if (m->stream) {
        if (Pa_IsStreamStopped(m->stream) == 0)
            Pa_StopStream(m->stream);
        Pa_CloseStream(m->stream);
        m->stream = NULL;
    }
    if (m->pa_init) {
        Pa_Terminate();
        m->pa_init = 0;
    }
    tw_pa_unlock();
    pthread_mutex_lock(&m->mu);
    m->info.rate = 0;
    pthread_mutex_unlock(&m->mu);
}
