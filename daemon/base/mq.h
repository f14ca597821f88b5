/* mq.h: a bounded queue of messages between daemon threads (DSP thread ->
 * journal thread -> publisher thread). Not for the audio callback: it
 * takes a mutex. A full queue never blocks the producer: the message is
 * dropped (freed) and counted.
 *
 * A message is a ZeroMQ frame set [topic][header][payload]: the header is
 * the complete JSON text (journal line == published header), the payload
 * optional binary (display samples). The queue owns queued messages.
 */
#ifndef TW_MQ_H
#define TW_MQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_msg {
    char topic[32];      /* "evt.ltr", "gap", "sts", "sig.0", ... */
    char *header;        /* JSON text, NUL-terminated, malloc'd */
    size_t header_len;
    void *payload;       /* malloc'd, or NULL */
    size_t payload_len;
    int journal;         /* 1: must be journaled before it is published */
} tw_msg;

/* A new message (copies topic and header; takes no payload). NULL on
 * allocation failure. */
tw_msg *tw_msg_new(const char *topic, const char *header, size_t header_len);
void tw_msg_free(tw_msg *m);

typedef struct tw_mq tw_mq;

tw_mq *tw_mq_create(size_t capacity);   /* NULL: capacity 0 or no memory */
void tw_mq_destroy(tw_mq *q);            /* frees what is still queued */

/* Append; never blocks. Returns 0, or -1 when full (m freed, counted) or
 * closed. */
int tw_mq_push(tw_mq *q, tw_msg *m);

/* tw_mq_push without waking the consumer: for a producer that queues
 * several messages in a row (the display stream, one per channel) and
 * then wakes the consumer once with tw_mq_wake, instead of once each. */
int tw_mq_push_quiet(tw_mq *q, tw_msg *m);
void tw_mq_wake(tw_mq *q);

/* Take the oldest message, waiting up to timeout_ms (0: no wait, -1:
 * forever). NULL on timeout, or when closed and empty. */
tw_msg *tw_mq_pop(tw_mq *q, int timeout_ms);

/* No more pushes; pop drains what is left, then returns NULL. */
void tw_mq_close(tw_mq *q);

/* 1 once closed and empty: the consumer can stop. */
int tw_mq_is_done(const tw_mq *q);

uint64_t tw_mq_get_dropped(const tw_mq *q);
size_t tw_mq_get_length(const tw_mq *q);

#endif
