/* mailbox.h: control requests from a caller thread (the control thread)
 * to the DSP thread, one at a time, run between two blocks so that a mark
 * lands on the sample being processed.
 *
 * The caller waits for the reply up to a timeout; a request not yet taken
 * by then is withdrawn, one in progress is abandoned (its reply, when it
 * comes, is dropped). The owner may answer a request later (session.stop
 * waits for its events to be final): it keeps the request's ticket and
 * replies with tw_mailbox_reply_late, which drops the reply when the
 * caller has given up on that request (and later ones were taken since).
 *
 * Threads: tw_mailbox_call from one caller thread at a time; pending,
 * serve, taken and reply_late from the owner thread only. */
#ifndef TW_MAILBOX_H
#define TW_MAILBOX_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    pthread_mutex_t mx;
    pthread_cond_t cv;      /* on CLOCK_MONOTONIC: a clock step changes nothing */
    const json_t *req;      /* pending request, NULL: none */
    json_t *reply;
    atomic_int pending;
    uint64_t id, done;      /* the last request's id; the last one answered */
    uint64_t taken, abandoned; /* the last taken by the owner; the last given up while taken */
} tw_mailbox;

void tw_mailbox_init(tw_mailbox *m);
void tw_mailbox_fini(tw_mailbox *m);

/* Caller: hand req (borrowed until this returns) over and wait for the
 * reply (new reference), or NULL when it did not come within timeout_ms. */
json_t *tw_mailbox_call(tw_mailbox *m, const json_t *req, int timeout_ms);

/* Owner: 1 when a request waits (cheap, atomic). */
int tw_mailbox_pending(tw_mailbox *m);
/* Owner: run fn on the waiting request (if still there) and hand its
 * reply back; fn returning NULL answers later (tw_mailbox_taken is the
 * ticket, valid during fn). */
void tw_mailbox_serve(tw_mailbox *m, json_t *(*fn)(void *user, const json_t *req), void *user);
/* Owner: the ticket of the request being served. */
uint64_t tw_mailbox_taken(const tw_mailbox *m);
/* Owner: the late reply r (stolen) of the request of that ticket. */
void tw_mailbox_reply_late(tw_mailbox *m, uint64_t ticket, json_t *r);

#endif
