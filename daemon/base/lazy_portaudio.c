/* lazy_portaudio.c: PortAudio, loaded on first use.
 *
 * twitchd is not linked against PortAudio: only `run` with a sound card,
 * the audio monitor and `devices` use it, and libportaudio with ALSA's
 * and JACK's libraries cost every other command (replay, analyze, ...)
 * about 1 ms of start-up. These definitions carry the names and
 * prototypes of <portaudio.h> (and PaAlsa_SetNumPeriods), so the callers
 * are unchanged; the first call loads libportaudio.so.2 with dlopen and
 * every call goes to the real function. If the library cannot be loaded,
 * the error is logged once and every call fails with
 * paNotInitialized, or NULL, or no device (Pa_GetErrorText says why), so
 * the callers report it as any other PortAudio error. Thread-safe
 * (pthread_once). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <portaudio.h>
#include <pa_linux_alsa.h>

#include "log.h"

#define TW_PA_SONAME "libportaudio.so.2"

/* Every PortAudio function twitchd and its tests call. */
#define TW_PA_FUNCS(X)                                                            \
    X(Pa_Initialize) X(Pa_Terminate) X(Pa_GetVersionText) X(Pa_GetErrorText)     \
    X(Pa_GetHostApiCount) X(Pa_GetHostApiInfo) X(Pa_GetLastHostErrorInfo)         \
    X(Pa_GetDeviceCount) X(Pa_GetDefaultInputDevice) X(Pa_GetDefaultOutputDevice) \
    X(Pa_GetDeviceInfo) X(Pa_IsFormatSupported) X(Pa_OpenStream) X(Pa_CloseStream) \
    X(Pa_StartStream) X(Pa_StopStream) X(Pa_IsStreamActive) X(Pa_IsStreamStopped) \
    X(Pa_GetStreamInfo) X(PaAlsa_SetNumPeriods)

#define TW_FIELD(f) __typeof__(&f) f;
static struct {
    TW_PA_FUNCS(TW_FIELD)
} pa;
static int pa_loaded;
static char pa_error[256];
static pthread_once_t pa_once = PTHREAD_ONCE_INIT;

static void pa_load(void)
{
    void *lib = dlopen(TW_PA_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (lib) {
#define TW_SYM(f) if (!(*(void **)&pa.f = dlsym(lib, #f)) && !missing) missing = #f;
        TW_PA_FUNCS(TW_SYM)
#undef TW_SYM
    }
    if (!lib || missing) {
        const char *why = dlerror();
        snprintf(pa_error, sizeof pa_error, "%s cannot be loaded (package libportaudio2): %s",
                 TW_PA_SONAME, why ? why : missing ? missing : "unknown error");
        tw_log(TW_LOG_ERR, "%s", pa_error);
        return;
    }
    pa_loaded = 1;
}

static int pa_ok(void)
{
    pthread_once(&pa_once, pa_load);
    return pa_loaded;
}

#define TW_CALL(f, fail, ...) do { if (!pa_ok()) return fail; return pa.f(__VA_ARGS__); } while (0)

PaError Pa_Initialize(void) { TW_CALL(Pa_Initialize, paNotInitialized); }
PaError Pa_Terminate(void) { TW_CALL(Pa_Terminate, paNotInitialized); }
PaHostApiIndex Pa_GetHostApiCount(void) { TW_CALL(Pa_GetHostApiCount, paNotInitialized); }
const PaHostApiInfo *Pa_GetHostApiInfo(PaHostApiIndex i) { TW_CALL(Pa_GetHostApiInfo, NULL, i); }
const PaHostErrorInfo *Pa_GetLastHostErrorInfo(void) { TW_CALL(Pa_GetLastHostErrorInfo, NULL); }
PaDeviceIndex Pa_GetDeviceCount(void) { TW_CALL(Pa_GetDeviceCount, paNotInitialized); }
PaDeviceIndex Pa_GetDefaultInputDevice(void) { TW_CALL(Pa_GetDefaultInputDevice, paNoDevice); }
PaDeviceIndex Pa_GetDefaultOutputDevice(void) { TW_CALL(Pa_GetDefaultOutputDevice, paNoDevice); }
const PaDeviceInfo *Pa_GetDeviceInfo(PaDeviceIndex d) { TW_CALL(Pa_GetDeviceInfo, NULL, d); }
PaError Pa_IsFormatSupported(const PaStreamParameters *in, const PaStreamParameters *out,
                             double rate)
{
    TW_CALL(Pa_IsFormatSupported, paNotInitialized, in, out, rate);
}
PaError Pa_OpenStream(PaStream **s, const PaStreamParameters *in, const PaStreamParameters *out,
                      double rate, unsigned long frames, PaStreamFlags flags,
                      PaStreamCallback *cb, void *user)
{
    TW_CALL(Pa_OpenStream, paNotInitialized, s, in, out, rate, frames, flags, cb, user);
}
PaError Pa_CloseStream(PaStream *s) { TW_CALL(Pa_CloseStream, paNotInitialized, s); }
PaError Pa_StartStream(PaStream *s) { TW_CALL(Pa_StartStream, paNotInitialized, s); }
PaError Pa_StopStream(PaStream *s) { TW_CALL(Pa_StopStream, paNotInitialized, s); }
PaError Pa_IsStreamActive(PaStream *s) { TW_CALL(Pa_IsStreamActive, paNotInitialized, s); }
PaError Pa_IsStreamStopped(PaStream *s) { TW_CALL(Pa_IsStreamStopped, paNotInitialized, s); }
const PaStreamInfo *Pa_GetStreamInfo(PaStream *s) { TW_CALL(Pa_GetStreamInfo, NULL, s); }
PaError PaAlsa_SetNumPeriods(int n) { TW_CALL(PaAlsa_SetNumPeriods, paNotInitialized, n); }

const char *Pa_GetVersionText(void)
{
    return pa_ok() ? pa.Pa_GetVersionText() : pa_error;
}

const char *Pa_GetErrorText(PaError e)
{
    return pa_ok() ? pa.Pa_GetErrorText(e) : pa_error;
}
