/* cmd_run.c: `twitchd run`: the daemon. main() of the service reads as a
 * checklist: options, configuration, journal, queues, publisher, journal
 * thread, DSP thread, source; then supervise; then stop in reverse.
 *
 * Threads: the source (PortAudio callback, or a file/synth thread) ->
 * ring -> DSP thread -> journal queue -> journal thread -> publish queue
 * -> publisher thread. This (main) thread only handles signals and
 * supervises the source (restart with backoff when the device is lost).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control.h"
#include "curve.h"
#include "engine.h"
#include "edfrepair.h"
#include "journal.h"
#include "journal_thread.h"
#include "log.h"
#include "monitor.h"
#include "mq.h"
#include "notify.h"
#include "publish.h"
#include "report_worker.h"
#include "ring.h"
#include "source.h"
#include "tw_clock.h"

#define TW_TICK_NS 100000000L /* supervisor tick: 100 ms (a signal cuts it short) */
#define TW_JOURNAL_QUEUE 65536 /* messages between DSP and journal threads */
#define TW_RETRY_RESET_S 10.0  /* a device up this long has recovered: retries start over */

static volatile sig_atomic_t g_stop, g_hup;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_hup = 1;
}

static const char usage[] =
    "usage: twitchd run [-c FILE] [-o SECTION.KEY=VALUE]...\n"
    "\n"
    "Run the daemon in the foreground: acquire (input.source = portaudio, file\n"
    "or synth), detect, journal every event under journal.dir, and publish on\n"
    "publish.endpoint (ZeroMQ; docs/protocol.md). SIGTERM/SIGINT stop it\n"
    "cleanly, SIGHUP reopens the journal files.\n"
    "\n"
    "  -c, --config FILE     configuration (default " TW_CONFIG_DEFAULT_PATH
    " if it exists)\n"
    "  -o SECTION.KEY=VALUE  override one setting\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: 0 stopped by a signal or the file source ended, 78 bad\n"
    "configuration, 69 input device unavailable, 73 journal directory (or, when\n"
    "recording, record.dir) unusable, 70 internal error.\n";

typedef struct {
    tw_journal_thread *jt;
    tw_pub *pub;
    pthread_mutex_t mu;  /* guards desc and state (written here, read by the DSP thread) */
    char desc[256];
    const char *state;
} status_ctx;

static void set_status(status_ctx *s, const char *desc, const char *state)
{
    pthread_mutex_lock(&s->mu);
    if (desc)
        snprintf(s->desc, sizeof s->desc, "%s", desc);
    s->state = state;
    pthread_mutex_unlock(&s->mu);
}

/* The heartbeat's view of the other threads (called on the DSP thread). */
static void add_status(void *user, json_t *sts)
{
    status_ctx *s = user;
    tw_journal_status js;
    tw_journal_thread_status(s->jt, &js);
    json_t *j = json_object();
    json_object_set_new(j, "ok", json_boolean(js.error == 0));
    json_object_set_new(j, "error", js.error ? json_string(js.msg) : json_null());
    json_object_set_new(j, "lines_written", json_integer((json_int_t)js.lines_written));
    json_object_set_new(j, "lines_failed", json_integer((json_int_t)js.lines_failed));
    json_object_set_new(j, "recreated", json_integer((json_int_t)js.recreated));
    json_object_set_new(j, "lines_rescued", json_integer((json_int_t)js.lines_rescued));
    json_object_set_new(j, "lines_lost", json_integer((json_int_t)js.lines_lost));
    json_object_set_new(j, "moved", json_integer((json_int_t)js.moved));
    json_object_set_new(sts, "journal", j);
    tw_pub_stats ps;
    tw_pub_get_stats(s->pub, &ps);
    json_t *p = json_object();
    json_object_set_new(p, "sent", json_integer((json_int_t)ps.sent));
    json_object_set_new(p, "dropped", json_integer((json_int_t)ps.dropped));
    json_object_set_new(p, "bytes", json_integer((json_int_t)ps.bytes));
    json_object_set_new(sts, "publish", p);
    pthread_mutex_lock(&s->mu);
    json_object_set_new(sts, "source", json_string(s->desc));
    json_object_set_new(sts, "state", json_string(s->state));
    pthread_mutex_unlock(&s->mu);
}

/* With recording on (record.mode session or always), record.dir is made
 * at start (parents too), as journal.dir is, and the log says where
 * recordings go: -1 (exit 73) when it cannot be made. With record.mode=off
 * only the session summaries go there (made at the first session.stop,
 * which says so when it cannot). */
static int open_rec_dir(const tw_config *cfg)
{
    if (cfg->rec_mode == TW_REC_OFF) {
        tw_log(TW_LOG_INFO, "record: off (record.mode=off); session summaries go to %s",
               cfg->rec_dir);
        return 0;
    }
    char err[TW_KEY_STRLEN + 128];
    const char *mode = cfg->rec_mode == TW_REC_SESSION ? "session" : "always";
    if (tw_make_dir("recording directory", cfg->rec_dir, err, sizeof err) != 0) {
        tw_log(TW_LOG_ERR, "record: %s (record.mode=%s needs it)", err, mode);
        return -1;
    }
    tw_log(TW_LOG_INFO, "record: recordings (%s, %s) and session summaries go to %s",
           cfg->rec_mode == TW_REC_SESSION ? "one file per session" : "from the start, a file per run",
           cfg->rec_format == TW_REC_BDF ? "BDF+" : "EDF+", cfg->rec_dir);
    return 0;
}

/* The control socket's executor: every request runs in the DSP thread. */
typedef struct {
    tw_engine *dsp;
    int timeout_ms;
} ctl_ctx;

static json_t *ctl_exec(void *user, const json_t *req)
{
    ctl_ctx *c = user;
    return tw_engine_call(c->dsp, req, c->timeout_ms);
}

static unsigned pow2(unsigned v)
{
    unsigned p = 2;
    while (p < v && p < 65536)
        p <<= 1;
    return p;
}

static void sleep_ns(long ns)
{
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&t, NULL);
}

int tw_cmd_run(int argc, char **argv)
{
    /* 1. options and configuration */
    tw_cli_config cc = {0};
    int prc = tw_cli_parse(argc, argv, &cc, usage, "twitchd run");
    if (prc >= 0)
        return prc;
    if (!cc.config_path && access(TW_CONFIG_DEFAULT_PATH, F_OK) == 0)
        cc.config_path = TW_CONFIG_DEFAULT_PATH;
    static tw_config cfg; /* large; lives for the whole run */
    if (tw_cli_load_run(&cc, &cfg, "twitchd run") != 0)
        return EX_CONFIG;
    tw_log_set_level(cfg.log_level);
    const char *stall = getenv("TWITCHD_TEST_STALL_DSP_S"); /* tests only (config.h) */
    cfg.test_stall_dsp_s = stall ? atof(stall) : 0.0;

    /* 2. signals: handlers only set flags */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* RLIMIT_FSIZE: make write fail, not kill */

    char err[512];
    int rc = 0;
    tw_source *src = NULL;
    tw_ring *ring = NULL;
    tw_journal *jn = NULL;
    tw_mq *jq = NULL, *pq = NULL;
    tw_pub *pub = NULL;
    tw_journal_thread *jt = NULL;
    tw_engine *dsp = NULL;
    tw_control *ctl = NULL;
    tw_curve *curve = NULL;
    tw_monitor *mon = NULL;
    static status_ctx st;
    pthread_mutex_init(&st.mu, NULL);
    st.state = "starting";

    /* 3. the source (opened first: its rate and channels size the rest) */
    src = tw_source_open(&cfg, err, sizeof err);
    if (!src) {
        tw_log(TW_LOG_ERR, "input: %s", err);
        return cfg.source == TW_SOURCE_PORTAUDIO ? EX_UNAVAILABLE : EX_CONFIG;
    }
    double rate = src->rate;
    int nch = src->channels;
    tw_log(TW_LOG_INFO, "input: %s", src->desc);
    ring = tw_ring_create(pow2((unsigned)cfg.ring_blocks), src->frames_per_block,
                          (unsigned)nch);
    if (!ring) {
        tw_log(TW_LOG_ERR, "cannot create the acquisition ring");
        rc = EX_SOFTWARE;
        goto out;
    }

    /* 4. journal, queues, publisher, journal thread, DSP thread */
    tw_journal_recovered rec;
    jn = tw_journal_open(cfg.journal_dir, cfg.journal_fsync_s, &rec, err, sizeof err);
    if (!jn) {
        tw_log(TW_LOG_ERR, "journal: %s", err);
        rc = EX_CANTCREAT;
        goto out;
    }
    if (rec.bytes > 0)
        tw_log(TW_LOG_WARNING, "journal: a partial last line (%ld bytes) of %s was set aside in %s",
               rec.bytes, rec.file, rec.path);
    if (open_rec_dir(&cfg) != 0) {
        rc = EX_CANTCREAT;
        goto out;
    }
    jq = tw_mq_create(TW_JOURNAL_QUEUE);
    pq = tw_mq_create((size_t)cfg.pub_queue);
    if (!jq || !pq) {
        rc = EX_SOFTWARE;
        goto out;
    }
    if (cfg.curve_enable) {
        curve = tw_curve_load(cfg.curve_key_file, cfg.curve_allowlist, err, sizeof err);
        if (!curve) {
            tw_log(TW_LOG_ERR, "curve: %s", err);
            rc = EX_CONFIG;
            goto out;
        }
        tw_log(TW_LOG_INFO, "curve: encryption on; %zu client key%s allowed",
               tw_curve_get_clients(curve), tw_curve_get_clients(curve) == 1 ? "" : "s");
    }
    pub = tw_pub_start_curve(cfg.pub_endpoint, cfg.pub_sndhwm, pq, curve, err, sizeof err);
    if (!pub) {
        tw_log(TW_LOG_ERR, "publish: %s", err);
        rc = EX_CONFIG;
        goto out;
    }
    jt = tw_journal_thread_start(jn, jq, pq, err, sizeof err);
    if (!jt) {
        tw_log(TW_LOG_ERR, "%s", err);
        rc = EX_SOFTWARE;
        goto out;
    }
    st.jt = jt;
    st.pub = pub;
    set_status(&st, src->desc, "running");
    /* the audio monitor: a sink of its own (monitor.h); a device it cannot
     * open is its error, in status, and the daemon goes on */
    mon = tw_monitor_create(&cfg, nch, rate, src->frames_per_block);
    if (!mon || tw_monitor_start(mon, err, sizeof err) != 0) {
        tw_log(TW_LOG_ERR, "%s", mon ? err : "monitor: out of memory");
        rc = EX_SOFTWARE;
        goto out;
    }
    tw_sink extra[] = {tw_monitor_sink(mon)};
    dsp = tw_engine_start(&cfg, ring, rate, nch, jq, pq, add_status, &st, extra,
                          (int)(sizeof extra / sizeof extra[0]), err, sizeof err);
    if (!dsp) {
        tw_log(TW_LOG_ERR, "%s", err);
        rc = EX_CONFIG;
        goto out;
    }

    /* recordings a crash left unfinished are made readable again */
    {
        struct stat sb;
        tw_edf_repair_summary rs;
        if (stat(cfg.rec_dir, &sb) == 0 &&
            tw_edf_repair_dir(cfg.rec_dir, NULL, NULL, &rs, err, sizeof err) == 0 && rs.found)
            tw_log(TW_LOG_WARNING, "record: %d unfinished recording%s in %s: %d repaired, %d not",
                   rs.found, rs.found > 1 ? "s" : "", cfg.rec_dir, rs.repaired, rs.failed);
    }
    /* The default endpoint lives in /run/twitchd, which systemd creates
     * (RuntimeDirectory=); run by hand without it, the daemon goes on
     * without a control socket. A configured endpoint must work. */
    struct stat rd;
    if (!strcmp(cfg.ctl_endpoint, TW_CONTROL_DEFAULT_ENDPOINT) &&
        stat(TW_CONTROL_DEFAULT_DIR, &rd) != 0) {
        tw_log(TW_LOG_WARNING, "control: %s does not exist: no control socket "
               "(set control.endpoint to enable one)", TW_CONTROL_DEFAULT_DIR);
    } else if (cfg.ctl_endpoint[0]) {
        static ctl_ctx cc;
        cc.dsp = dsp;
        cc.timeout_ms = cfg.ctl_timeout_ms;
        ctl = tw_control_start(cfg.ctl_endpoint, (size_t)cfg.ctl_max_request, ctl_exec, &cc,
                               curve, err, sizeof err);
        if (!ctl) {
            tw_log(TW_LOG_ERR, "control: %s", err);
            rc = EX_CONFIG;
            goto out;
        }
    }

    /* 5. start acquiring, then supervise */
    if (tw_source_start(src, ring, err, sizeof err) != 0) {
        tw_log(TW_LOG_ERR, "input: %s", err);
        rc = EX_UNAVAILABLE;
        goto out;
    }
    {
        static char eps[16][TW_PUB_ENDPOINT_LEN];
        size_t ne = tw_pub_get_endpoints(pub, eps, 16);
        char list[1024] = "";
        for (size_t i = 0; i < ne; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "", eps[i]);
        tw_log(TW_LOG_INFO, "running: %d channel%s at %g Hz, journal %s, publishing on %s",
               nch, nch > 1 ? "s" : "", rate, cfg.journal_dir, list);
    }
    int tries = 0, ready = 0;
    double backoff = 0.1, up_since = tw_mono_s(), next_status = 0.0;
    while (!g_stop) {
        sleep_ns(TW_TICK_NS);
        /* READY=1 once audio flows through the pipeline; STATUS= every 5 s */
        if (tw_mono_s() >= next_status || (!ready && tw_engine_get_last_block(dsp) > 0)) {
            char line[400];
            pthread_mutex_lock(&st.mu);
            snprintf(line, sizeof line, "%s; %s; %llu events; %.0f s of input", st.state,
                     st.desc, (unsigned long long)tw_engine_get_events(dsp),
                     (double)tw_engine_get_samples(dsp) / rate);
            pthread_mutex_unlock(&st.mu);
            if (!ready && tw_engine_get_last_block(dsp) > 0) {
                tw_notify_ready(line);
                ready = 1;
            } else {
                tw_notify_status("%s", line);
            }
            next_status = tw_mono_s() + 5.0;
        }
        if (g_hup) {
            g_hup = 0;
            tw_journal_thread_reopen(jt);
        }
        if (tw_engine_is_done(dsp)) {
            tw_log(TW_LOG_INFO, "input: %g s processed (input.duration_s)", cfg.duration_s);
            break;
        }
        if (tries > 0 && tw_mono_s() - up_since > TW_RETRY_RESET_S)
            tries = 0; /* it has stayed up: the next loss starts afresh */
        err[0] = '\0';
        tw_source_state s = tw_source_get_state(src, err, sizeof err);
        if (s == TW_SRC_ENDED) {
            /* file delivered: let the DSP thread drain the ring, then stop */
            while (tw_ring_get_fill(ring) > 0 && !g_stop)
                sleep_ns(TW_TICK_NS);
            tw_log(TW_LOG_INFO, "input: end of file");
            break;
        }
        if (s != TW_SRC_FAILED)
            continue;
        /* device lost: report, retry with backoff, resume with a gap */
        set_status(&st, NULL, "device lost");
        tw_log(TW_LOG_ERR, "input: %s; retrying", err[0] ? err : "stream stopped");
        tw_notify_status("device lost (%s); retrying", err[0] ? err : "stream stopped");
        for (;;) {
            if (cfg.retry_max > 0 && tries >= cfg.retry_max) {
                tw_log(TW_LOG_ERR, "input: giving up after %d tries", tries);
                rc = EX_UNAVAILABLE;
                goto out;
            }
            for (double w = 0; w < backoff && !g_stop; w += TW_TICK_NS * 1e-9)
                sleep_ns(TW_TICK_NS);
            if (g_stop)
                goto out;
            tries++;
            tw_source_destroy(src);
            src = tw_source_open(&cfg, err, sizeof err);
            if (src && (src->rate != rate || src->channels != nch)) {
                snprintf(err, sizeof err, "device came back with %g Hz, %d ch", src->rate, src->channels);
                tw_source_destroy(src);
                src = NULL;
            }
            if (src && tw_source_start(src, ring, err, sizeof err) == 0) {
                tw_engine_note_restart(dsp);
                set_status(&st, src->desc, "running");
                tw_notify_status("running; %s (back after %d tries)", src->desc, tries);
                tw_log(TW_LOG_INFO, "input: back after %d tr%s: %s", tries,
                       tries == 1 ? "y" : "ies", src->desc);
                up_since = tw_mono_s(); /* tries reset once it stays up */
                backoff = 0.1;
                break;
            }
            tw_log(TW_LOG_WARNING, "input: retry %d failed: %s", tries, err);
            backoff = backoff * 2 > cfg.retry_max_s ? cfg.retry_max_s : backoff * 2;
        }
    }

out:
    /* 6. stop in reverse: source, DSP (drains the ring), journal thread
     * (drains its queue, then the journal is closed with an fsync),
     * publisher (drains what is left) */
    set_status(&st, NULL, "stopping");
    tw_notify_stopping();
    tw_control_stop(ctl); /* no request may wait on a DSP thread that is gone */
    if (src)
        tw_source_stop(src);
    tw_engine_stop(dsp);
    tw_monitor_destroy(mon); /* after the engine: its sink is no longer called */
    if (jq)
        tw_mq_close(jq);
    tw_journal_thread_stop(jt);
    tw_journal_close(jn);
    tw_report_worker_drain(); /* record.report: the reports still to make */
    if (pq)
        tw_mq_close(pq);
    tw_pub_stop(pub);
    tw_mq_destroy(jq);
    tw_mq_destroy(pq);
    tw_source_destroy(src);
    tw_ring_destroy(ring);
    tw_curve_free(curve); /* after the contexts of its sockets have ended */
    if (rc == 0)
        tw_log(TW_LOG_INFO, "stopped");
    return rc;
}
