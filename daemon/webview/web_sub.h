/* web_sub.h: the ZeroMQ side of `twitchd web`: one thread owns a SUB
 * socket connected to the daemon's publisher, subscribed to everything,
 * formats each message as an SSE record (web_sse.h) and publishes it on
 * the hub (web_hub.h). It never waits for a browser: the hub drops for a
 * slow client.
 *
 * Every TW_WEB_HB_MS it also publishes a record of its own,
 *     {"topic":"web.hb","clients":N,"received":R,"malformed":M,
 *      "dropped":D,"daemon_age_s":A}
 * (A: seconds since the last message from the daemon, null before the
 * first), so that a page can tell a silent daemon from a lost web server.
 *
 * Threads: tw_web_sub_start creates the socket, connects it and hands it
 * to the thread; tw_web_sub_stop joins the thread, which closes it.
 */
#ifndef TW_WEB_SUB_H
#define TW_WEB_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "web_hub.h"

#define TW_WEB_HB_MS 1000    /* period of the web.hb record, ms */
#define TW_WEB_RCVHWM 100000 /* ZMQ_RCVHWM of the SUB socket, messages */

typedef struct tw_web_sub tw_web_sub;

/* The endpoint to connect to, from a publish.endpoint list: its first
 * item (the daemon binds one socket to all of them), spaces trimmed, with
 * a wildcard host ("*" or 0.0.0.0, as in tcp://0.0.0.0:5556) replaced by
 * 127.0.0.1. Returns 0, or -1 with the reason in err (an empty list, an
 * item too long for out, an ephemeral port "tcp://HOST:*" that a
 * subscriber cannot know). */
int tw_web_pick_endpoint(const char *list, char *out, size_t len, char *err,
                         size_t errlen);

/* Connect to endpoint (one item, as tw_web_pick_endpoint gives) through
 * the ZeroMQ context zctx (not owned) and start the thread. NULL with the
 * reason in err on failure (bad endpoint, no memory, no thread). */
tw_web_sub *tw_web_sub_start(void *zctx, const char *endpoint, tw_web_hub *hub,
                             char *err, size_t errlen);

/* Stop the thread, close the socket, free. s may be NULL. */
void tw_web_sub_stop(tw_web_sub *s);

#endif
