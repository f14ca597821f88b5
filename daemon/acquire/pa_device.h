/* pa_device.h: PortAudio devices chosen by name, for the input
 * (src_portaudio.c, input.device) and the audio monitor's output
 * (daemon/monitor/monitor.c, monitor.device), and the lock that keeps the
 * two from touching PortAudio's global state at once.
 *
 * PortAudio 19.6 counts Pa_Initialize calls (each Pa_Terminate undoes
 * one) but is not thread-safe: Pa_Initialize, Pa_Terminate, the device
 * list, Pa_OpenStream, Pa_StartStream, Pa_StopStream and Pa_CloseStream
 * are called under tw_pa_lock by every thread of the daemon that uses
 * PortAudio (the main thread restarting the input, the monitor's thread).
 * Callbacks never take it. While one user holds an initialisation, a
 * Pa_Initialize of the other does not scan the devices again: a device
 * that appears later is seen once both have let go (the input's restart
 * after a loss, the monitor's retry). */
#ifndef TW_PA_DEVICE_H
#define TW_PA_DEVICE_H

#include <portaudio.h>
#include <stddef.h>

typedef struct {
    const char *want;    /* the setting's value: "" the default device; all
                            digits an index; else an exact name, or a
                            case-insensitive substring of one */
    const char *key;     /* the setting's name, e.g. "input.device" */
    const char *hostapi; /* host API name substring, "" any */
    const char *api_key; /* its setting's name, e.g. "input.hostapi" */
    int output;          /* 0: among input devices, 1: among output devices */
} tw_pa_want;

/* The index of the device w selects (PortAudio initialised, lock held),
 * or -1 with a one-line reason that lists the devices of that direction.
 * More than one match of a name is an error. */
int tw_pa_find(const tw_pa_want *w, char *err, size_t errlen);

/* The host API's name of d ("ALSA"), or "?". */
const char *tw_pa_api_name(const PaDeviceInfo *d);

/* Recursive: a holder may take it again (and must give it back as often). */
void tw_pa_lock(void);
void tw_pa_unlock(void);

#endif
