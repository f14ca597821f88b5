/* web_http.h: the HTTP side of `twitchd web`, on libmicrohttpd (one
 * thread per connection, at most max_clients + TW_WEB_EXTRA_CONNECTIONS
 * connections):
 *
 *   GET /              root/index.html
 *   GET /NAME          root/NAME: a file directly in root whose name is
 *                      [A-Za-z0-9_-][A-Za-z0-9._-]* (no path, no dot file);
 *                      404 otherwise
 *   GET /events        the live stream: text/event-stream, one client of
 *                      the hub (web_hub.h); 503 when max_clients are
 *                      connected
 *   POST /api/ctl      a control request, Content-Type application/json
 *                      (415 otherwise), forwarded by web_ctl.h
 *
 * Other methods get 405. When the listening address is a loopback one,
 * requests whose Host is not localhost, 127.0.0.1 or [::1] (with any
 * port) get 403: a page of another site that rebinds its name to
 * 127.0.0.1 cannot read the stream or send requests. Static files carry a
 * Content-Security-Policy that allows nothing but this server.
 *
 * Threads: start and stop from one thread; libmicrohttpd runs the
 * connections on threads of its own.
 */
#ifndef TW_WEB_HTTP_H
#define TW_WEB_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "web_hub.h"

#define TW_WEB_EXTRA_CONNECTIONS 16  /* connections beyond max_clients: page
                                        loads, control requests */
#define TW_WEB_CTL_TIMEOUT_MS 5000   /* wait for the daemon's reply, ms */
#define TW_WEB_SSE_WAIT_MS 1000      /* a stream with nothing to send writes a
                                        comment line this often, ms */
#define TW_WEB_IDLE_TIMEOUT_S 60     /* an idle connection is closed, s */

/* "HOST:PORT" or "[IPV6]:PORT" (web.listen; HOST a numeric address or a
 * name, PORT 0 .. 65535, 0: any free port) into *sa / *salen; *loopback
 * is 1 when the address is 127.0.0.0/8 or ::1. Returns 0, or -1 with the
 * reason in err. */
int tw_web_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                        int *loopback, char *err, size_t errlen);

typedef struct {
    const char *listen;        /* web.listen */
    const char *root;          /* directory of the static files */
    tw_web_hub *hub;           /* not owned; sized for max_clients */
    size_t max_clients;        /* web.max_clients */
    void *zctx;                /* ZeroMQ context for control requests */
    const char *ctl_endpoint;  /* control.endpoint ("" : none) */
    const char *hello;         /* each stream's first record (or NULL) */
} tw_web_http_params;

typedef struct tw_web_http tw_web_http;

/* Listen and serve. NULL with the reason in err (a bad or busy address).
 * The parameters' strings must outlive the server. */
tw_web_http *tw_web_http_start(const tw_web_http_params *p, char *err, size_t errlen);

/* The port it listens on (useful with port 0). */
unsigned tw_web_http_get_port(const tw_web_http *h);

/* Stop: call tw_web_hub_close on the hub first, so that the streams end
 * at once; then every connection is closed and its thread joined. h may
 * be NULL. */
void tw_web_http_stop(tw_web_http *h);

#endif
