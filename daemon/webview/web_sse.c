/* web_sse.c: see web_sse.h. The header is parsed (jansson) only to check
 * it and to find "topic", "format" and "count"; its text is spliced, not
 * re-encoded, so the page sees the daemon's bytes. */
#include "web_sse.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static int topic_ok(const char *t, size_t n)
{
    if (n < 1 || n > 31)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0x21 || t[i] > 0x7e || t[i] == '"' || t[i] == '\\')
            return 0;
    return 1;
}

/* float32 little-endian at p, whatever the host's byte order */
static float le_float(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put_samples(sbuf *b, int comma, const unsigned char *p, size_t count)
{
    puts_(b, comma ? ",\"samples\":[" : "\"samples\":[");
    char num[32];
    for (size_t i = 0; i < count; i++) {
        float v = le_float(p + 4 * i);
        int k = isfinite(v) ? snprintf(num, sizeof num, "%s%.4g", i ? "," : "", (double)v)
                            : snprintf(num, sizeof num, "%snull", i ? "," : "");
        put(b, num, (size_t)k);
    }
    puts_(b, "]");
}

int tw_web_sse_format(const char *topic, size_t topic_len, const char *header,
                      size_t header_len, const void *payload, size_t payload_len,
                      char **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (!topic_ok(topic, topic_len)) {
        tw_set_err(err, errlen, "bad topic frame (%zu bytes)", topic_len);
        return -1;
    }
    json_error_t je;
    json_t *h = json_loadb(header, header_len, 0, &je);
    if (!h || !json_is_object(h)) {
        tw_set_err(err, errlen, "%.*s: header is not a JSON object%s%s", (int)topic_len,
                   topic, h ? "" : ": ", h ? "" : je.text);
        json_decref(h);
        return -1;
    }
    size_t count = 0;
    int samples = 0;
    if (payload) {
        const char *fmt = json_string_value(json_object_get(h, "format"));
        json_t *cnt = json_object_get(h, "count");
        if (fmt && !strcmp(fmt, "float32le")) {
            if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
                json_integer_value(cnt) > TW_WEB_SSE_MAX_SAMPLES ||
                payload_len != 4 * (size_t)json_integer_value(cnt)) {
                tw_set_err(err, errlen, "%.*s: payload of %zu bytes does not hold \"count\" float32",
                           (int)topic_len, topic, payload_len);
                json_decref(h);
                return -1;
            }
            count = (size_t)json_integer_value(cnt);
            samples = 1;
        }
    }
    int has_topic = json_object_get(h, "topic") != NULL;

    /* the header's text, trimmed, on one line */
    char *re = NULL;
    const char *ht = header;
    size_t hl = header_len;
    if (memchr(header, '\n', header_len) || memchr(header, '\r', header_len)) {
        re = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!re) {
            json_decref(h);
            return -2;
        }
        ht = re;
        hl = strlen(re);
    }
    json_decref(h);
    while (hl && (*ht == ' ' || *ht == '\t')) {
        ht++;
        hl--;
    }
    while (hl && (ht[hl - 1] == ' ' || ht[hl - 1] == '\t'))
        hl--;
    /* a JSON object: '{' ... '}', possibly empty */
    const char *inner = ht + 1;
    size_t inner_len = hl - 2;
    int empty = 1;
    for (size_t i = 0; i < inner_len; i++)
        if (inner[i] != ' ' && inner[i] != '\t')
            empty = 0;

    sbuf b = {0};
    puts_(&b, "data: {");
    if (!has_topic) {
        puts_(&b, "\"topic\":\"");
        put(&b, topic, topic_len);
        puts_(&b, empty ? "\"" : "\",");
    }
    put(&b, inner, inner_len);
    int comma = !has_topic || !empty; /* something precedes what is appended */
    if (samples) {
        put_samples(&b, comma, payload, count);
    } else if (payload) {
        char num[64];
        int k = snprintf(num, sizeof num, "%s\"payload_bytes\":%zu", comma ? "," : "",
                         payload_len);
        put(&b, num, (size_t)k);
    }
    puts_(&b, "}\n\n");
    free(re);
    if (b.oom) {
        free(b.p);
        return -2;
    }
    *out = b.p;
    *out_len = b.n;
    return 0;
}

int tw_web_sse_record(char *buf, size_t len, const char *json)
{
    return snprintf(buf, len, "data: %s\n\n", json);
}
