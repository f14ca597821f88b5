/* web_hub.h: the fan-out of `twitchd web`. One producer (the ZeroMQ SUB
 * thread, web_sub.h) hands each message, already formatted as a
 * Server-Sent Events record (web_sse.h), to the bounded queue of every
 * connected browser; each browser's HTTP connection thread (web_http.h)
 * reads its own queue.
 *
 * Nothing waits for a slow client: when a client's queue is full, the new
 * record is dropped for that client only (counted), and before its next
 * record the client reads a notice
 *     data: {"topic":"web.dropped","dropped":N}\n\n
 * with N its total so far, so the page can say so. The producer and the
 * other clients go on as if it were not there.
 *
 * Items are immutable, reference-counted byte strings: one item queued to
 * N clients is stored once. Memory is bounded by
 * max_clients x queue_len items.
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the hub and its clients. Only tw_web_client_read waits (at most its
 * timeout).
 */
#ifndef TW_WEB_HUB_H
#define TW_WEB_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TW_WEB_HELLO_MAX 512 /* bytes of a client's first record (tw_web_hub_join) */

typedef struct tw_web_item tw_web_item;

/* A new item holding a copy of text[0..len) (len >= 1), with one
 * reference (the caller's). NULL: len 0 or no memory. */
tw_web_item *tw_web_item_new(const char *text, size_t len);

/* Drop one reference; the last one frees the item. it may be NULL. */
void tw_web_item_unref(tw_web_item *it);

typedef struct tw_web_hub tw_web_hub;
typedef struct tw_web_client tw_web_client;

/* max_clients: clients connected at once, 1 .. 1024 (web.max_clients).
 * queue_len: records waiting per client before new ones are dropped for
 * it, 1 .. 1000000 (web.client_queue). NULL on bad parameters or no
 * memory. */
tw_web_hub *tw_web_hub_create(size_t max_clients, size_t queue_len);

/* Free the hub. Every client must have left (tw_web_hub_leave) first. h
 * may be NULL. */
void tw_web_hub_destroy(tw_web_hub *h);

/* Give it to every client: takes over the caller's reference (the item is
 * freed here when no client took it). Returns the number of clients that
 * queued it (0 after tw_web_hub_close). Never waits. */
size_t tw_web_hub_publish(tw_web_hub *h, tw_web_item *it);

/* A new client. hello (may be NULL; at most TW_WEB_HELLO_MAX bytes) is
 * what it reads first. NULL when max_clients are connected (counted as
 * refused), after tw_web_hub_close, or with no memory. */
tw_web_client *tw_web_hub_join(tw_web_hub *h, const char *hello, size_t hello_len);

/* The client is gone: its queue is freed. c may be NULL. */
void tw_web_hub_leave(tw_web_client *c);

/* Copy the client's next bytes into buf[0..max), whole records first and
 * as many as fit (a record longer than max continues at the next call).
 * Waits up to timeout_ms (>= 0) for something to read. Returns the bytes
 * copied (> 0), 0 when nothing came within the timeout, or -1 once the
 * hub is closed (the end of the stream; what was queued is discarded). */
ssize_t tw_web_client_read(tw_web_client *c, char *buf, size_t max, int timeout_ms);

/* Records dropped for this client since it joined. */
uint64_t tw_web_client_get_dropped(tw_web_client *c);

/* The end: every waiting and later read returns -1, joins return NULL,
 * publishes queue nothing. Clients must still leave. */
void tw_web_hub_close(tw_web_hub *h);

typedef struct {
    size_t clients;      /* connected now */
    uint64_t joined;     /* clients accepted since creation */
    uint64_t refused;    /* joins refused because max_clients were connected */
    uint64_t published;  /* items handed to tw_web_hub_publish */
    uint64_t queued;     /* (item, client) pairs queued */
    uint64_t dropped;    /* (item, client) pairs dropped on a full queue */
} tw_web_hub_stats;

void tw_web_hub_get_stats(tw_web_hub *h, tw_web_hub_stats *s);

#endif
