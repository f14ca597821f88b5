/* zreq ENDPOINT [TIMEOUT_MS]: send stdin, byte for byte, as one ZeroMQ
 * REQ message to ENDPOINT and print the reply on stdout. For the tests of
 * the control socket, which need requests `twitchd ctl` cannot make
 * (malformed JSON, oversized, binary). Exit 0 with a reply, 1 without one
 * within TIMEOUT_MS (default 3000), 2 on usage or ZeroMQ errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: zreq ENDPOINT [TIMEOUT_MS] < REQUEST\n");
        return 2;
    }
    int to = argc == 3 ? atoi(argv[2]) : 3000;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    if (!buf)
        return 2;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to);
    int rc = 2;
    if (zmq_connect(s, argv[1]) == 0 && zmq_send(s, buf, n, 0) >= 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) >= 0) {
            fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
            putchar('\n');
            rc = 0;
        } else {
            fprintf(stderr, "zreq: no reply within %d ms\n", to);
            rc = 1;
        }
        zmq_msg_close(&m);
    } else {
        fprintf(stderr, "zreq: %s\n", zmq_strerror(zmq_errno()));
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    free(buf);
    return rc;
}
