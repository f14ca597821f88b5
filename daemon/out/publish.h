/* publish.h: the publisher thread. It owns the ZeroMQ PUB socket and is
 * fed through a tw_mq by the other daemon threads: it pops each tw_msg
 * and sends it as the frames [topic][header][payload] (payload only when
 * m->payload is set), the wire format of docs/protocol.md. It never
 * rewrites a header: the producer (the DSP thread) builds it complete,
 * with "v", "stream", "seq", "sample" and "clock".
 *
 * Nothing here blocks a producer: tw_mq_push never waits (a full queue
 * drops and counts, see mq.h), and every send is ZMQ_DONTWAIT on a lossy
 * PUB socket, so a subscriber that stops reading loses messages once its
 * own ZMQ_SNDHWM queue is full (it sees a gap in "seq") and costs the
 * others nothing. libzmq does not count those per-subscriber drops, so
 * the daemon cannot either; what it counts is below (tw_pub_stats).
 *
 * Threads: tw_pub_start_curve creates and binds the socket, then hands it to
 * the publisher thread (pthread_create is the full memory barrier that
 * libzmq asks for when a socket changes thread); from then on only that
 * thread touches it, up to zmq_close. tw_pub_get_stats and
 * tw_pub_get_endpoints may be called from any thread until tw_pub_stop.
 */
#ifndef TW_PUBLISH_H
#define TW_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define TW_PUB_MAX_ENDPOINTS 16  /* endpoints in one list */
#define TW_PUB_ENDPOINT_LEN 256  /* bytes of one endpoint, with the NUL */
#define TW_PUB_LINGER_MS 100     /* ZMQ_LINGER: how long stop may wait for
                                    unsent messages, ms */

typedef struct tw_pub tw_pub;

typedef struct {
    uint64_t sent;     /* messages handed to libzmq in full */
    uint64_t dropped;  /* messages whose zmq_send failed (EAGAIN or other);
                          a lossy PUB never returns EAGAIN, so this stays 0
                          unless libzmq fails (not the per-subscriber
                          HWM drops, which libzmq does not report) */
    uint64_t bytes;    /* bytes of all frames of the sent messages */
} tw_pub_stats;

/* Start publishing what is pushed into `in`.
 *
 * endpoints: comma-separated list (spaces around items ignored) of at
 *   most TW_PUB_MAX_ENDPOINTS tcp:// or ipc:// endpoints, each shorter
 *   than TW_PUB_ENDPOINT_LEN; one PUB socket binds to all of them.
 *   "tcp://127.0.0.1:*" binds an ephemeral port (see
 *   tw_pub_get_endpoints). For "ipc://PATH" (PATH not starting with '@'
 *   or '*'): an existing PATH that is a socket nobody listens on is
 *   removed before the bind; one that is not a socket, or that a live
 *   process listens on, is an error (libzmq would silently take it
 *   over); after the bind PATH is made mode 0660 (a failure to chmod is
 *   logged, not fatal); tw_pub_stop removes it.
 * sndhwm: ZMQ_SNDHWM, messages queued per subscriber before libzmq drops
 *   for that subscriber, 1 .. 1000000 (publish.sndhwm).
 * in: the queue to consume; not owned (the caller destroys it after
 *   tw_pub_stop).
 * curve: NULL, or the socket is a CURVE server whose clients the
 *   allowlist admits (curve.h).
 * err, errlen: on failure, one line naming the endpoint and the reason,
 *   e.g. "endpoint 'tcp://127.0.0.1:5556': cannot bind: Address already
 *   in use". May be NULL/0.
 *
 * Returns the running publisher, or NULL on error (bad parameters, a bind
 * failure: nothing stays bound, no file is left behind, no thread runs).
 */
typedef struct tw_curve tw_curve;
tw_pub *tw_pub_start_curve(const char *endpoints, int sndhwm, tw_mq *in, tw_curve *curve,
                           char *err, size_t errlen);

/* Stop: closes `in` (tw_mq_close; harmless if the caller already did, as
 * the daemon should, after its last push), lets the thread send what is
 * still queued, then joins it, closes the socket (waiting at most
 * TW_PUB_LINGER_MS for unsent frames), removes the ipc files and frees
 * everything. p may be NULL. */
void tw_pub_stop(tw_pub *p);

/* Counters since start; any thread. */
void tw_pub_get_stats(const tw_pub *p, tw_pub_stats *s);

/* The endpoints actually bound, as ZMQ_LAST_ENDPOINT gives them (a
 * wildcard port resolved: "tcp://127.0.0.1:41234"), in list order.
 * Copies at most max of them into out and returns how many there are. */
size_t tw_pub_get_endpoints(const tw_pub *p, char out[][TW_PUB_ENDPOINT_LEN],
                            size_t max);

#endif
