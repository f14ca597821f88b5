/* web_sse.h: what `twitchd web` sends its pages. One message of the wire
 * protocol (docs/protocol.md) becomes one Server-Sent Events record:
 *
 *     data: HEADER\n\n
 *
 * HEADER is the message's JSON header as the daemon sent it (the same
 * bytes when it is one line, as the daemon's always are; re-encoded on
 * one line otherwise, since a newline would end the SSE field), with
 * "topic":T inserted first when the header lacks "topic", and
 *  - for a payload of float32 samples (the header has "format":
 *    "float32le" and "count": N, as sig.* does): "samples":[...] appended,
 *    the N values to 4 significant digits (µV after multiplying by the
 *    header's "scale_uv"), NaN and infinities as null;
 *  - for any other payload: "payload_bytes": its size appended.
 *
 * Pure functions: no I/O, no globals; thread-safe.
 */
#ifndef TW_WEB_SSE_H
#define TW_WEB_SSE_H

#include <stddef.h>

#define TW_WEB_SSE_MAX_SAMPLES 1000000 /* values in one payload */

/* Format one message. topic: the topic frame (1 to 31 printable ASCII
 * bytes other than '"' and '\\'); header: its JSON object; payload: the
 * third frame or NULL. On success returns 0 and a malloc'd record in
 * *out (NUL-terminated, *out_len bytes without the NUL; the caller frees
 * it). Returns -1 for a malformed message (a bad topic, a header that is
 * not a JSON object, a float32 payload whose size is not 4 x "count"),
 * with the reason in err; -2 when out of memory. */
int tw_web_sse_format(const char *topic, size_t topic_len, const char *header,
                      size_t header_len, const void *payload, size_t payload_len,
                      char **out, size_t *out_len, char *err, size_t errlen);

/* "data: " json "\n\n" for a record of the web server's own (json: one
 * line, no newline). Returns bytes written (snprintf-like: the record is
 * cut if it does not fit buf). */
int tw_web_sse_record(char *buf, size_t len, const char *json);

#endif
