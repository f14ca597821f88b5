/* report_svg.c: tw_report_html (report.h): the session report's HTML and
 * inline SVG plots. Geometry constants are SVG user units (px). */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_W 900.0   /* px, a timeline's width */
#define TL_H 150.0   /* px, its height */
#define TL_L 56.0    /* px, left margin (axis labels) */
#define TL_R 12.0    /* px, right margin */
#define TL_BASE 104.0 /* px, y of the time axis */
#define TL_TOP 14.0  /* px, y of the top of the EPN band */
#define HIST_BINS 12 /* bars per histogram */
#define PLOT_W 430.0 /* px, a small plot's width */
#define PLOT_H 220.0 /* px, its height */

static const char css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;"
    "margin:24px auto;max-width:960px;padding:0 12px}"
    "h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}"
    "figure{margin:8px 0;break-inside:avoid;page-break-inside:avoid}"
    "figcaption{font-weight:600;margin-bottom:2px}.row{display:flex;flex-wrap:wrap;gap:16px}"
    ".legend span{margin-right:14px;white-space:nowrap}.sw{display:inline-block;width:12px;"
    "height:12px;vertical-align:middle;margin-right:4px;border:1px solid #999}"
    ".note{color:#666;font-size:12px}svg text{font:11px sans-serif;fill:#333}"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}}";

/* Text with <, >, & and quotes escaped. */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static double nget(const json_t *o, const char *k, double dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* A "nice" axis step for a span of `span` units, about n ticks. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw > 0 ? raw : 1)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

typedef struct {
    const json_t *sum, *recs;
    double rate, dur;
    int64_t start, stop;
    int nch;
    double max_p2p;
    long n_ltr, n_epn, n_ins, n_mark, n_bad, n_gap, n_train;
} ctx;

static double tx(const ctx *c, double t_s)
{
    double f = c->dur > 0 ? t_s / c->dur : 0;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return TL_L + f * (TL_W - TL_L - TL_R);
}

static double t_of(const ctx *c, int64_t sample) { return (double)(sample - c->start) / c->rate; }

static void timeline(FILE *f, ctx *c, int ch)
{
    fprintf(f, "<figure><figcaption>Channel %d</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-label=\"timeline of channel %d\">\n", ch, TL_W, TL_H, TL_W, TL_H, ch);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" "
            "stroke=\"#ddd\"/>\n", TL_L, TL_TOP, TL_W - TL_L - TL_R, TL_BASE - TL_TOP);
    /* EPN episodes (journal), clipped to the session */
    size_t i;
    json_t *r;
    json_array_foreach(c->recs, i, r) {
        const char *tp = sget(r, "topic");
        if (!tp || strcmp(tp, "evt.epn") || nget(r, "channel", -1) != ch)
            continue;
        double a = t_of(c, (int64_t)nget(r, "onset_sample", 0));
        double b = t_of(c, (int64_t)nget(r, "offset_sample", 0) + 1);
        fprintf(f, "<rect class=\"epn\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#f6c27a\" fill-opacity=\"0.6\"><title>EPN %.2f-%.2f s, %.0f uV p2p"
                "</title></rect>\n", tx(c, a), TL_TOP, fmax(tx(c, b) - tx(c, a), 1.0),
                TL_BASE - TL_TOP, a < 0 ? 0 : a, b > c->dur ? c->dur : b, nget(r, "p2p_uv", 0));
        c->n_epn++;
    }
    /* gaps (journal) */
    json_array_foreach(c->recs, i, r) {
        const char *tp = sget(r, "topic");
        if (!tp || strcmp(tp, "gap"))
            continue;
        double a = t_of(c, (int64_t)nget(r, "sample", 0));
        double n = nget(r, "samples", 0) / c->rate;
        fprintf(f, "<rect class=\"gap\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#888\" fill-opacity=\"0.5\"><title>gap %.3f s at %.2f s</title></rect>\n",
                tx(c, a), TL_TOP, fmax(tx(c, a + n) - tx(c, a), 1.5), TL_BASE - TL_TOP, n, a);
        if (ch == 0)
            c->n_gap++;
    }
    /* bad quality stretches (summary) */
    const json_t *q = json_object_get(json_object_get(c->sum, "quality"), "per_channel");
    const json_t *qc = json_array_get(q, (size_t)ch);
    json_array_foreach(json_object_get(qc, "stretches"), i, r) {
        double a = nget(r, "start_s", 0), b = nget(r, "stop_s", 0);
        fprintf(f, "<rect class=\"bad\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"8\" "
                "fill=\"#d33\"><title>bad signal %.2f-%.2f s:", tx(c, a), TL_BASE + 3,
                fmax(tx(c, b) - tx(c, a), 1.5), a, b);
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(r, "quality"), k, w) {
            fputc(' ', f);
            esc(f, json_string_value(w));
        }
        fputs("</title></rect>\n", f);
        c->n_bad++;
    }
    /* insertions and marks (summary) */
    json_array_foreach(json_object_get(c->sum, "insertions"), i, r) {
        double x = tx(c, nget(r, "t_s", 0));
        fprintf(f, "<line class=\"ins\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#1f5fbf\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"><title>"
                "insertion %zu at %.2f s", x, x, TL_TOP - 8, TL_BASE, i + 1, nget(r, "t_s", 0));
        if (sget(r, "label")) {
            fputs(": ", f);
            esc(f, sget(r, "label"));
        }
        fprintf(f, "</title></line><text x=\"%.1f\" y=\"%.1f\" fill=\"#1f5fbf\">I%zu</text>\n",
                x + 2, TL_TOP - 2, i + 1);
        c->n_ins++;
    }
    json_array_foreach(json_object_get(c->sum, "marks"), i, r) {
        double x = tx(c, nget(r, "t_s", 0));
        fprintf(f, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#2a9d3a\" stroke-width=\"1.5\"><title>mark at %.2f s", x, x,
                TL_TOP, TL_BASE, nget(r, "t_s", 0));
        if (sget(r, "label")) {
            fputs(": ", f);
            esc(f, sget(r, "label"));
        }
        fprintf(f, "</title></line><path d=\"M%.1f %.1f l-4 -7 h8 z\" fill=\"#2a9d3a\"/>\n", x,
                TL_TOP);
        c->n_mark++;
    }
    /* LTRs (summary trains): ticks up from the axis, height by amplitude */
    json_array_foreach(json_object_get(c->sum, "trains"), i, r) {
        if (nget(r, "channel", -1) != ch)
            continue;
        size_t k;
        json_t *l;
        json_array_foreach(json_object_get(r, "ltrs"), k, l) {
            double p2p = nget(l, "p2p_uv", 0);
            double h = 8 + (TL_BASE - TL_TOP - 12) * (c->max_p2p > 0 ? p2p / c->max_p2p : 0);
            double x = tx(c, nget(l, "t_s", 0));
            fprintf(f, "<line class=\"ltr\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"#b0122b\" stroke-width=\"2\"><title>LTR at %.3f s, %.0f uV p2p, "
                    "train %d #%d</title></line>\n", x, x, TL_BASE, TL_BASE - h,
                    nget(l, "t_s", 0), p2p, (int)nget(r, "train_id", 0),
                    (int)nget(l, "train_index", 0));
            c->n_ltr++;
        }
    }
    /* time axis */
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", TL_L,
            TL_W - TL_R, TL_BASE, TL_BASE);
    double step = nice_step(c->dur > 0 ? c->dur : 1, 10);
    for (double t = 0; t <= c->dur + 1e-9; t += step)
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", tx(c, t),
                tx(c, t), TL_BASE + 12, TL_BASE + 16, tx(c, t), TL_BASE + 30, t);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">s</text>\n", TL_W - TL_R,
            TL_BASE + 44);
    fputs("</svg></figure>\n", f);
}

/* A histogram of v[0..n) (bars of class "hbar"). */
static void histogram(FILE *f, const char *title, const char *unit, const double *v, size_t n)
{
    fprintf(f, "<figure><figcaption>");
    esc(f, title);
    fprintf(f, " (n = %zu)</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n", n, PLOT_W, PLOT_H, PLOT_W, PLOT_H);
    if (n == 0) {
        fputs("<text x=\"20\" y=\"40\">none</text></svg></figure>\n", f);
        return;
    }
    double lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    lo = fmin(lo, 0);
    double w = hi > lo ? (hi - lo) / HIST_BINS : 1;
    int cnt[HIST_BINS] = {0}, top = 1;
    for (size_t i = 0; i < n; i++) {
        int b = (int)((v[i] - lo) / w);
        b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
        if (++cnt[b] > top)
            top = cnt[b];
    }
    double x0 = 40, y0 = PLOT_H - 40, bw = (PLOT_W - x0 - 10) / HIST_BINS, hh = y0 - 12;
    for (int b = 0; b < HIST_BINS; b++) {
        double h = hh * cnt[b] / top;
        fprintf(f, "<rect class=\"hbar\" data-n=\"%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\" fill=\"#6d8fc7\"><title>%g-%g %s: %d</title></rect>\n", cnt[b],
                x0 + b * bw + 1, y0 - h, bw - 2, h, lo + b * w, lo + (b + 1) * w, unit, cnt[b]);
    }
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", x0,
            PLOT_W - 10, y0, y0);
    for (int b = 0; b <= HIST_BINS; b += 3)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"%s\">%.*f</text>\n",
                x0 + b * bw, y0 + 14, b == HIST_BINS ? "end" : "middle",
                fabs(hi) >= 100 ? 0 : 1, lo + b * w);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", PLOT_W - 10, y0 + 30);
    esc(f, unit);
    fprintf(f, "</text><text x=\"4\" y=\"20\">%d</text><text x=\"4\" y=\"%.0f\">0</text>"
            "</svg></figure>\n", top, y0);
}

static void trains_plot(FILE *f, ctx *c)
{
    const json_t *tr = json_object_get(c->sum, "trains");
    fprintf(f, "<figure><figcaption>Amplitude relative to each train's first LTR</figcaption>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\">\n", TL_W, PLOT_H, TL_W, PLOT_H);
    int maxn = 2;
    double maxr = 1.2;
    size_t i, k;
    json_t *r, *l;
    json_array_foreach(tr, i, r) {
        json_array_foreach(json_object_get(r, "ltrs"), k, l) {
            maxn = (int)fmax(maxn, k + 1);
            maxr = fmax(maxr, nget(l, "rel_amp", 0));
        }
    }
    double x0 = 56, y0 = PLOT_H - 36, w = TL_W - x0 - 200, h = y0 - 12;
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", x0,
            x0 + w, y0, y0);
    for (int n = 0; n < maxn; n++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n",
                x0 + w * n / (maxn - 1), y0 + 14, n + 1);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">LTR in train</text>\n", x0 + w,
            y0 + 30);
    for (double v = 0; v <= maxr + 1e-9; v += 0.5)
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text><line x1=\"%.0f\" "
                "x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x0 - 4,
                y0 - h * v / maxr + 4, v, x0, x0 + w, y0 - h * v / maxr, y0 - h * v / maxr);
    static const char *const col[] = {"#b0122b", "#1f5fbf", "#2a9d3a", "#8a3ab9", "#d07a00",
                                      "#007c7c", "#555"};
    json_array_foreach(tr, i, r) {
        const char *cl = col[i % (sizeof col / sizeof col[0])];
        fprintf(f, "<polyline class=\"train\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                "points=\"", cl);
        json_array_foreach(json_object_get(r, "ltrs"), k, l)
            fprintf(f, "%s%.1f,%.1f", k ? " " : "", x0 + w * (double)k / (maxn - 1),
                    y0 - h * nget(l, "rel_amp", 0) / maxr);
        fprintf(f, "\"><title>channel %d train %d</title></polyline>\n", (int)nget(r, "channel", 0),
                (int)nget(r, "train_id", 0));
        json_array_foreach(json_object_get(r, "ltrs"), k, l)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    x0 + w * (double)k / (maxn - 1), y0 - h * nget(l, "rel_amp", 0) / maxr, cl);
        if (i < 12) {
            const json_t *ins = json_object_get(r, "insertion");
            fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">ch%d train %d%s", x0 + w + 16,
                    20.0 + 14.0 * (double)i, cl, (int)nget(r, "channel", 0),
                    (int)nget(r, "train_id", 0), json_is_integer(ins) ? ", after I" : "");
            if (json_is_integer(ins))
                fprintf(f, "%lld", (long long)json_integer_value(ins) + 1);
            fprintf(f, " (%zu)</text>\n", json_array_size(json_object_get(r, "ltrs")));
        }
        c->n_train++;
    }
    if (json_array_size(tr) == 0)
        fputs("<text x=\"80\" y=\"60\">no insertion train</text>\n", f);
    fputs("</svg></figure>\n", f);
}

/* EPN figures of one period: {time fraction %, p2p uV}, NAN when none. */
typedef struct {
    const char *name;
    double frac, p2p, time_s, span_s;
} epn_period;

/* nch: the channels whose EPN time the figures sum (time_s is channel
 * time: the fraction is of span_s x nch). */
static epn_period period(const char *name, const json_t *o, int nch)
{
    epn_period p = {name, NAN, NAN, NAN, NAN};
    if (!json_is_object(o))
        return p;
    p.span_s = nget(o, "span_s", NAN);
    p.time_s = nget(o, "time_s", NAN);
    p.p2p = nget(o, "p2p_uv", NAN);
    p.frac = p.span_s > 0 ? 100.0 * p.time_s / (p.span_s * nch) : NAN;
    return p;
}

static void epn_plot(FILE *f, const ctx *c)
{
    const json_t *e = json_object_get(c->sum, "epn");
    epn_period all = period("whole session", e, c->nch);
    epn_period b = period("before the first LTR", json_object_get(e, "before_first_ltr"), c->nch);
    epn_period a = {"after the first LTR", NAN, NAN, NAN, NAN};
    /* the rest of the session: totals minus "before" (p2p is time-weighted) */
    if (!isnan(b.span_s) && !isnan(all.span_s) && all.span_s - b.span_s > 0 &&
        nget(json_object_get(c->sum, "ltr"), "count", 0) > 0) {
        a.span_s = all.span_s - b.span_s;
        a.time_s = all.time_s - b.time_s;
        a.frac = 100.0 * a.time_s / (a.span_s * c->nch);
        if (a.time_s > 1e-9 && !isnan(all.p2p))
            a.p2p = (all.p2p * all.time_s - (isnan(b.p2p) ? 0 : b.p2p * b.time_s)) / a.time_s;
    }
    epn_period l = period("after the last LTR", json_object_get(e, "after_last_ltr"), c->nch);
    epn_period ps[4] = {b, a, l, all};
    fputs("<div class=\"row\">", f);
    for (int m = 0; m < 2; m++) {
        fprintf(f, "<figure><figcaption>%s</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
                m ? "EPN amplitude (time-weighted p2p, uV)"
                  : "EPN time (% of the period, all channels)",
                PLOT_W, PLOT_H, PLOT_W, PLOT_H);
        double top = m ? 1 : 100;
        for (int i = 0; i < 4; i++) {
            double v = m ? ps[i].p2p : ps[i].frac;
            if (!isnan(v) && v > top)
                top = v;
        }
        double x0 = 20, y0 = PLOT_H - 50, bw = (PLOT_W - 40) / 4, h = y0 - 20;
        for (int i = 0; i < 4; i++) {
            double v = m ? ps[i].p2p : ps[i].frac;
            double bh = isnan(v) ? 0 : h * v / top;
            fprintf(f, "<rect class=\"epnbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>"
                    "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
                    x0 + i * bw + 6, y0 - bh, bw - 12, bh, i == 3 ? "#bbb" : "#f0a03c",
                    x0 + i * bw + bw / 2, y0 - bh - 4, "", x0 + i * bw + bw / 2, y0 + 14,
                    i == 0 ? "before 1st" : i == 1 ? "after 1st" : i == 2 ? "after last" : "all");
            if (isnan(v))
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">n/a</text>\n",
                        x0 + i * bw + bw / 2, y0 - 4);
            else
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
                        x0 + i * bw + bw / 2, y0 - bh - 4, m ? 0 : 1, v);
        }
        fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>"
                "</svg></figure>\n", x0, PLOT_W - 20, y0, y0);
    }
    fputs("</div>\n<table><tr><th>period</th><th>span (s)</th><th>EPN channel time (s)</th>"
          "<th>EPN time (%)</th><th>EPN p2p (uV)</th></tr>\n", f);
    for (int i = 0; i < 4; i++) {
        fprintf(f, "<tr><td>%s</td>", ps[i].name);
        double v[4] = {ps[i].span_s, ps[i].time_s, ps[i].frac, ps[i].p2p};
        for (int k = 0; k < 4; k++)
            if (isnan(v[k]))
                fputs("<td class=\"n\">n/a</td>", f);
            else
                fprintf(f, "<td class=\"n\">%.*f</td>", k == 3 ? 0 : 2, v[k]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void meta_table(FILE *f, const json_t *s)
{
    static const char *const keys[][2] = {
        {"id", "session"}, {"subject", "subject"}, {"muscle", "muscle"}, {"side", "side"},
        {"notes", "notes"}, {"start_utc", "start (UTC)"}, {"stop_utc", "stop (UTC)"},
        {"recording", "recording"}};
    fputs("<table class=\"meta\">\n", f);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        fprintf(f, "<tr><th>%s</th><td>", keys[i][1]);
        esc(f, sget(s, keys[i][0]) ? sget(s, keys[i][0]) : "-");
        fputs("</td></tr>\n", f);
    }
    fprintf(f, "<tr><th>duration</th><td>%.2f s</td></tr><tr><th>rate</th><td>%g Hz, %d "
            "channel%s</td></tr>\n</table>\n", nget(s, "duration_s", 0), nget(s, "rate_hz", 0),
            (int)nget(s, "channels", 0), nget(s, "channels", 0) == 1 ? "" : "s");
}

static void session_table(FILE *f, const ctx *c)
{
    const json_t *s = c->sum, *ltr = json_object_get(s, "ltr"), *e = json_object_get(s, "epn");
    fputs("<table><tr><th>channel</th><th>LTRs</th><th>trains</th><th>EPN episodes</th>"
          "<th>EPN time (s)</th><th>EPN p2p (uV)</th><th>EPN rms (uV)</th>"
          "<th>bad signal (s)</th></tr>\n", f);
    for (int ch = 0; ch <= c->nch; ch++) {
        int all = ch == c->nch;
        const json_t *pe = all ? e : json_array_get(json_object_get(e, "per_channel"), (size_t)ch);
        const json_t *pq = all ? json_object_get(s, "quality")
                               : json_array_get(json_object_get(json_object_get(s, "quality"),
                                                                "per_channel"), (size_t)ch);
        long trains = 0;
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(s, "trains"), i, r)
            trains += all || nget(r, "channel", -1) == ch;
        double n_ltr = all ? nget(ltr, "count", 0)
                           : json_number_value(json_array_get(json_object_get(ltr, "per_channel"),
                                                              (size_t)ch));
        if (all)
            fputs("<tr><th>all</th>", f);
        else
            fprintf(f, "<tr><td>%d</td>", ch);
        fprintf(f, "<td class=\"n\">%.0f</td><td class=\"n\">%ld</td><td class=\"n\">%.0f</td>"
                "<td class=\"n\">%.2f</td>", n_ltr, trains, nget(pe, "episodes", 0),
                nget(pe, "time_s", 0));
        double p2p = nget(pe, "p2p_uv", NAN), rms = nget(pe, "rms_uv", NAN);
        if (isnan(p2p))
            fputs("<td class=\"n\">-</td><td class=\"n\">-</td>", f);
        else
            fprintf(f, "<td class=\"n\">%.0f</td><td class=\"n\">%.1f</td>", p2p, rms);
        fprintf(f, "<td class=\"n\">%.2f</td></tr>\n", nget(pq, "bad_s", 0));
    }
    fputs("</table>\n", f);
    const json_t *g = json_object_get(s, "gaps");
    fprintf(f, "<p>%zu insertion%s, %zu mark%s, %.0f gap%s (%.0f samples lost)%s</p>\n",
            json_array_size(json_object_get(s, "insertions")),
            json_array_size(json_object_get(s, "insertions")) == 1 ? "" : "s",
            json_array_size(json_object_get(s, "marks")),
            json_array_size(json_object_get(s, "marks")) == 1 ? "" : "s", nget(g, "count", 0),
            nget(g, "count", 0) == 1 ? "" : "s", nget(g, "samples", 0),
            json_is_true(json_object_get(s, "truncated"))
                ? "; <b>the summary's lists are truncated</b> (see dropped)" : "");
}

/* LTR amplitudes (summary trains) and latencies (journal). */
static void distributions(FILE *f, const ctx *c)
{
    size_t n = 0, nl = 0, i, k;
    json_t *r, *l;
    json_array_foreach(json_object_get(c->sum, "trains"), i, r)
        n += json_array_size(json_object_get(r, "ltrs"));
    json_array_foreach(c->recs, i, r)
        nl += sget(r, "topic") && !strcmp(sget(r, "topic"), "evt.ltr");
    double *amp = malloc(sizeof *amp * (n + 1)), *lat = malloc(sizeof *lat * (nl + 1));
    size_t na = 0, nt = 0;
    if (amp && lat) {
        json_array_foreach(json_object_get(c->sum, "trains"), i, r)
            json_array_foreach(json_object_get(r, "ltrs"), k, l)
                amp[na++] = nget(l, "p2p_uv", 0);
        json_array_foreach(c->recs, i, r) {
            const json_t *v = json_object_get(r, "latency_ms");
            if (sget(r, "topic") && !strcmp(sget(r, "topic"), "evt.ltr") && json_is_number(v))
                lat[nt++] = json_number_value(v);
        }
    }
    fputs("<div class=\"row\">", f);
    histogram(f, "LTR amplitude", "uV p2p", amp, na);
    histogram(f, "LTR latency from needle movement", "ms", lat, nt);
    fputs("</div>\n", f);
    if (json_array_size(c->recs) == 0)
        fputs("<p class=\"note\">No journal records: latencies, EPN episodes and gaps are not "
              "plotted.</p>\n", f);
    free(amp);
    free(lat);
}

char *tw_report_html(const json_t *summary, const json_t *records, char *err, size_t errlen)
{
    static const char *const need[] = {"id", "rate_hz", "channels", "start_sample",
                                       "stop_sample", "duration_s", "ltr", "trains", "epn"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!json_object_get(summary, need[i])) {
            snprintf(err, errlen, "not a session summary: no key \"%s\"", need[i]);
            return NULL;
        }
    ctx c = {0};
    c.sum = summary;
    c.recs = records;
    c.rate = nget(summary, "rate_hz", 0);
    c.dur = nget(summary, "duration_s", 0);
    c.start = (int64_t)nget(summary, "start_sample", 0);
    c.stop = (int64_t)nget(summary, "stop_sample", 0);
    c.nch = (int)nget(summary, "channels", 0);
    if (c.rate <= 0 || c.nch < 1 || c.nch > 64) {
        snprintf(err, errlen, "not a session summary: rate_hz %g, channels %d", c.rate, c.nch);
        return NULL;
    }
    size_t i, k;
    json_t *r, *l;
    json_array_foreach(json_object_get(summary, "trains"), i, r)
        json_array_foreach(json_object_get(r, "ltrs"), k, l)
            c.max_p2p = fmax(c.max_p2p, nget(l, "p2p_uv", 0));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* the body first (it counts what it plots), the head then */
    char *body = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&body, &blen);
    if (!b) {
        fclose(f);
        free(buf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fputs("<h1>Needling session ", b);
    esc(b, sget(summary, "id"));
    fputs("</h1>\n", b);
    meta_table(b, summary);
    fputs("<h2>Timeline</h2>\n<p class=\"legend\"><span><i class=\"sw\" style=\"background:#f6c27a\">"
          "</i>EPN</span><span><i class=\"sw\" style=\"background:#b0122b\"></i>LTR (height: "
          "amplitude)</span><span><i class=\"sw\" style=\"background:#1f5fbf\"></i>insertion"
          "</span><span><i class=\"sw\" style=\"background:#2a9d3a\"></i>mark</span><span>"
          "<i class=\"sw\" style=\"background:#888\"></i>gap</span><span><i class=\"sw\" "
          "style=\"background:#d33\"></i>bad signal quality</span></p>\n", b);
    for (int ch = 0; ch < c.nch; ch++)
        timeline(b, &c, ch);
    fputs("<h2>Insertion trains: amplitude decrement</h2>\n", b);
    trains_plot(b, &c);
    fputs("<h2>LTR amplitude and latency</h2>\n", b);
    distributions(b, &c);
    fputs("<h2>EPN before and after the first LTR</h2>\n", b);
    epn_plot(b, &c);
    fputs("<h2>Session</h2>\n", b);
    session_table(b, &c);
    fprintf(b, "<p class=\"note\">twitchd %s report from the session summary%s.</p>\n",
            TW_VERSION, json_array_size(records) ? " and the journal" : "");
    if (fclose(b) != 0 || !body) {
        fclose(f);
        free(buf);
        free(body);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>twitchd "
          "session ", f);
    esc(f, sget(summary, "id"));
    fprintf(f, "</title>\n<style>%s</style></head>\n<body data-ltr=\"%ld\" data-trains=\"%ld\" "
            "data-epn=\"%ld\" data-insertions=\"%zu\" data-marks=\"%zu\" data-bad=\"%ld\" "
            "data-gaps=\"%ld\" data-channels=\"%d\">\n", css, c.n_ltr, c.n_train, c.n_epn,
            json_array_size(json_object_get(summary, "insertions")),
            json_array_size(json_object_get(summary, "marks")), c.n_bad, c.n_gap, c.nch);
    fwrite(body, 1, blen, f);
    fputs("</body></html>\n", f);
    free(body);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return buf;
}
