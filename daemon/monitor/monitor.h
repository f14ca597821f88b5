/* monitor.h: the audio monitor, "an ear on the needle": the conditioned
 * signal (DC removed, band-passed, mains cancelled: what the detectors
 * see) of one channel, or the mean of all, played on a sound card output
 * through PortAudio, so that the clinician hears EPN's seashell hiss and
 * the crack of a twitch. Configured by [monitor] (config.h), changed at
 * run time by the `monitor` control command (docs/protocol.md).
 *
 * It is a sink of the engine (sink.h) with a thread of its own:
 *
 *   DSP thread: on_conditioned picks the channel (or the mean) and writes
 *     the block into ring A (spsc.h: samples, and a mark with the block's
 *     size, rate and hand-over clock); a full ring drops the block and
 *     counts it (engine_dropped): the engine never waits
 *   monitor thread: owns the output device (opens it, and again every
 *     TW_MON_RETRY_S after a failure or a loss) and the chain
 *     (mon_chain.h: high-pass, resampling to the device's rate, gain,
 *     mute, limiter); writes ring B (mon_out.h), trims the resampling rate
 *     to hold its fill (the two devices' clocks drift)
 *   PortAudio callback: takes ring B (silence and an underrun when it
 *     runs short, mon_out.h), measures the latency
 *
 * A device that is missing or fails is the monitor's error (in `status`
 * and the log); capture, journal and publishing go on. Latency: from the
 * source handing a block over to its samples entering the output buffer,
 * measured on every block (status: latency_ms, latency_max_ms); the
 * output device's own buffer adds output_latency_ms (PortAudio's figure).
 *
 * Contract: create, start, stop, destroy from one thread (main); the
 * sink's callbacks from the DSP thread only; status and commands never
 * block it (the monitor thread's slow-changing state is read with a
 * trylock: when busy, the last copy is shown). */
#ifndef TW_MONITOR_H
#define TW_MONITOR_H

#include <stddef.h>

#include "config.h"
#include "sink.h"

#define TW_MON_RETRY_S 5.0       /* a missing or lost device is tried again this often, s */
#define TW_MON_MARGIN_MS 5.0     /* automatic buffering: the larger of an input block
                                    and a burst of the output device, and this, ms */
#define TW_MON_ALSA_PERIODS 4    /* ALSA periods of the output buffer */

typedef struct tw_monitor tw_monitor;

/* c: monitor.* (and input.hostapi, input.full_scale_uv); nch channels at
 * input_rate in blocks of frames_per_block. NULL only when out of
 * memory: settings that cannot work with this input (a channel it lacks)
 * are the monitor's error, reported, and it stays silent. */
tw_monitor *tw_monitor_create(const tw_config *c, int nch, double input_rate,
                              unsigned frames_per_block);

/* Start its thread (when monitor.enabled): it opens the device by
 * itself. 0, or -1 with the reason (the thread could not start). */
int tw_monitor_start(tw_monitor *m, char *err, size_t errlen);

/* Its sink, for tw_engine_start's extra sinks. With monitor.enabled =
 * false: add_status ({"enabled": false}) and on_command (an error) only. */
tw_sink tw_monitor_sink(tw_monitor *m);

/* After the engine stopped: the thread ends, the device is closed. */
void tw_monitor_stop(tw_monitor *m);
void tw_monitor_destroy(tw_monitor *m);

#endif
