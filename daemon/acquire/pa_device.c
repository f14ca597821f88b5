/* pa_device.c: see pa_device.h. */
#include "pa_device.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t pa_mu;
static pthread_once_t pa_once = PTHREAD_ONCE_INIT;

static void pa_mu_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&pa_mu, &a);
    pthread_mutexattr_destroy(&a);
}

void tw_pa_lock(void)
{
    pthread_once(&pa_once, pa_mu_init);
    pthread_mutex_lock(&pa_mu);
}

void tw_pa_unlock(void) { pthread_mutex_unlock(&pa_mu); }

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

const char *tw_pa_api_name(const PaDeviceInfo *d)
{
    const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
    return h && h->name ? h->name : "?";
}

static int api_ok(const tw_pa_want *w, const PaDeviceInfo *d)
{
    return !w->hostapi[0] || icontains(tw_pa_api_name(d), w->hostapi);
}

static int channels(const tw_pa_want *w, const PaDeviceInfo *d)
{
    return w->output ? d->maxOutputChannels : d->maxInputChannels;
}

static const char *dir(const tw_pa_want *w) { return w->output ? "output" : "input"; }

/* Append to buf (always terminated; "..." when it would not fit). */
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= len - used && len >= 4)
        memcpy(buf + len - 4, "...", 4);
}

/* "; input devices: 0 'emg_test' (ALSA), 1 'default' (ALSA)" */
static void list_devices(const tw_pa_want *w, char *err, size_t errlen)
{
    int n = Pa_GetDeviceCount(), any = 0;
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || channels(w, d) < 1)
            continue;
        appendf(err, errlen, "%s %d '%s' (%s)", any ? "," : w->output ? "; output devices:"
                                                                      : "; input devices:",
                i, d->name, tw_pa_api_name(d));
        any = 1;
    }
    if (!any)
        appendf(err, errlen, "; PortAudio sees no %s device", dir(w));
}

static void hostapi_note(const tw_pa_want *w, char *err, size_t errlen)
{
    if (w->hostapi[0])
        appendf(err, errlen, " with %s '%s'", w->api_key, w->hostapi);
}

int tw_pa_find(const tw_pa_want *w, char *err, size_t errlen)
{
    const char *want = w->want;
    int n = Pa_GetDeviceCount();
    if (n < 0) {
        snprintf(err, errlen, "PortAudio cannot count devices: %s", Pa_GetErrorText(n));
        return -1;
    }
    err[0] = '\0';
    if (!want[0]) {
        int dev = paNoDevice;
        if (!w->hostapi[0]) {
            dev = w->output ? Pa_GetDefaultOutputDevice() : Pa_GetDefaultInputDevice();
        } else {
            for (int a = 0; a < Pa_GetHostApiCount() && dev == paNoDevice; a++) {
                const PaHostApiInfo *h = Pa_GetHostApiInfo(a);
                if (h && icontains(h->name, w->hostapi))
                    dev = w->output ? h->defaultOutputDevice : h->defaultInputDevice;
            }
        }
        if (dev == paNoDevice || dev < 0 || dev >= n) {
            snprintf(err, errlen, "no default %s device", dir(w));
            hostapi_note(w, err, errlen);
            list_devices(w, err, errlen);
            return -1;
        }
        return dev;
    }
    size_t wl = strlen(want), digits = strspn(want, "0123456789");
    if (digits == wl) {
        long idx = digits <= 6 ? strtol(want, NULL, 10) : -1;
        const PaDeviceInfo *d = idx >= 0 && idx < n ? Pa_GetDeviceInfo((int)idx) : NULL;
        if (!d)
            snprintf(err, errlen, "%s %s: no such device index (%d devices)", w->key, want, n);
        else if (channels(w, d) < 1)
            snprintf(err, errlen, "%s %s: '%s' (%s) has no %s channels", w->key, want, d->name,
                     tw_pa_api_name(d), dir(w));
        else if (!api_ok(w, d))
            snprintf(err, errlen, "%s %s: '%s' is a %s device, not %s '%s'", w->key, want,
                     d->name, tw_pa_api_name(d), w->api_key, w->hostapi);
        else
            return (int)idx;
        list_devices(w, err, errlen);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) { /* 0: exact name, 1: substring */
        int found = -1, matches = 0;
        for (int i = 0; i < n; i++) {
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (!d || channels(w, d) < 1 || !api_ok(w, d))
                continue;
            if (pass == 0 ? strcmp(d->name, want) != 0 : !icontains(d->name, want))
                continue;
            if (matches++ == 0)
                found = i;
        }
        if (matches == 1)
            return found;
        if (matches > 1) {
            snprintf(err, errlen, "%s '%s' matches %d %s devices%s:", w->key, want, matches,
                     dir(w), pass == 0 ? " exactly" : "");
            for (int i = 0, k = 0; i < n; i++) {
                const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
                if (!d || channels(w, d) < 1 || !api_ok(w, d) ||
                    (pass == 0 ? strcmp(d->name, want) != 0 : !icontains(d->name, want)))
                    continue;
                appendf(err, errlen, "%s %d '%s' (%s)", k++ ? "," : "", i, d->name,
                        tw_pa_api_name(d));
            }
            if (pass == 0)
                appendf(err, errlen, "; set %s or use the index", w->api_key);
            else
                appendf(err, errlen, "; use the exact name or the index");
            return -1;
        }
    }
    snprintf(err, errlen, "no %s device matches '%s'", dir(w), want);
    hostapi_note(w, err, errlen);
    list_devices(w, err, errlen);
    return -1;
}
