/* synth_keys.c: the parameter table of the synthetic source (section
 * "synth") and its validation. Every number follows docs/signals.md,
 * "What each phenomenon looks like"; ranges are what the catalogue allows. */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(tw_synth_params, f)
#define D(k, f, lo, hi, def, unit, doc) \
    {"synth", k, TW_KT_DOUBLE, OFF(f), lo, hi, def, unit, NULL, doc}
#define I(k, f, lo, hi, def, unit, doc) \
    {"synth", k, TW_KT_INT, OFF(f), lo, hi, def, unit, NULL, doc}
#define E(k, f, choices, def, unit, doc) \
    {"synth", k, TW_KT_ENUM, OFF(f), 0, 0, def, unit, choices, doc}

const tw_key tw_synth_keys[] = {
    /* recording */
    I("seed", seed, 0, 2147483647, "0", "",
      "random seed; 0 picks one from the clock (printed, reusable)"),
    I("rate", rate, TW_MIN_RATE, TW_MAX_RATE, "48000", "Hz", "sample rate"),
    I("channels", channels, 1, TW_MAX_CHANNELS, "1", "",
      "independent needle recordings, each with its own schedule"),
    E("format", format, "float|int16|int24", "float", "",
      "sample format of the written file (FLAC needs int16 or int24)"),
    D("full_scale_uv", full_scale_uv, 100, 1e6, "10000", "uV",
      "electrode voltage at digital full scale (front-end gain)"),
    /* background */
    D("noise_uv", noise_uv, 0, 50, "5", "uV",
      "white Gaussian noise RMS: <= 3-4 uV amplifier, ~10 uV with needle"),
    D("pink_uv", pink_uv, 0, 50, "2", "uV",
      "1/f (pink) noise RMS, 1 Hz - 10 kHz (electrode and tissue noise)"),
    E("mains_hz", mains_hz, "50|60", "50", "Hz", "mains frequency"),
    D("mains_uv", mains_uv, 0, 200, "20", "uV",
      "mains fundamental amplitude (catalogue: 1-100 uV)"),
    D("mains_harmonics", mains_harmonics, 0, 1, "0.3", "",
      "odd-harmonic buzz: harmonic k (odd, >= 3) has amplitude "
      "mains_uv * mains_harmonics * 3/k"),
    D("mains_max_hz", mains_max_hz, 100, 20000, "3000", "Hz",
      "highest mains harmonic (also kept below 0.45 * rate)"),
    D("mains_am", mains_am, 0, 0.9, "0.2", "",
      "depth of the slow (0.05-1 Hz) amplitude modulation of the mains"),
    D("mains_offset_hz", mains_offset_hz, -0.5, 0.5, "0", "Hz",
      "mains frequency error"),
    D("wander_uv", wander_uv, 0, 2000, "30", "uV",
      "baseline wander peak (three slow sinusoids)"),
    D("wander_hz", wander_hz, 0.01, 2, "0.5", "Hz",
      "highest baseline-wander frequency"),
    D("guard_s", guard_s, 0.1, 30, "1", "s",
      "least quiet time between segments (EPN episodes, LTR trains, "
      "distractors)"),
    /* endplate noise */
    D("epn_per_min", epn_per_min, 0, 30, "2", "/min",
      "EPN episodes without LTRs per minute (trains inside EPN add more)"),
    D("epn_min_s", epn_min_s, 0.5, 120, "3", "s", "shortest EPN episode"),
    D("epn_max_s", epn_max_s, 0.5, 120, "12", "s",
      "longest EPN episode (one holding an LTR train may be longer)"),
    D("mepp_rate_hz", mepp_rate_hz, 100, 1000, "300", "Hz",
      "median MEPP rate; each episode draws its own (lognormal, sigma "
      "0.75, kept in 50-1000 /s)"),
    D("mepp_median_uv", mepp_median_uv, 5, 60, "25", "uV",
      "median MEPP amplitude (monophasic negative, lognormal sigma 0.4, "
      "at most 100 uV)"),
    D("eps_rate_hz", eps_rate_hz, 0, 50, "15", "Hz",
      "median endplate-spike rate (irregular; per episode, kept <= 50)"),
    D("eps_median_uv", eps_median_uv, 50, 1000, "150", "uV",
      "median endplate-spike amplitude (biphasic, 10-30 % start "
      "positive, kept in 50-1000 uV)"),
    /* local twitch responses */
    D("ltr_per_min", ltr_per_min, 0, 60, "3", "/min",
      "expected LTRs per minute; they come in insertion trains of "
      "1..ltr_train_max LTRs, one needle movement each 0.5-2 s"),
    D("ltr_in_epn", ltr_in_epn, 0, 1, "0.5", "",
      "fraction of insertion trains placed inside an EPN episode"),
    I("ltr_train_max", ltr_train_max, 1, 10, "5", "",
      "most LTRs per insertion train (uniform 1..this)"),
    D("ltr_muap_uv", ltr_muap_uv, 150, 3000, "800", "uV",
      "median MUAP peak of the first LTR of a train (units kept in "
      "ltr_muap_min_uv-3000 uV)"),
    D("ltr_muap_min_uv", ltr_muap_min_uv, 150, 3000, "150", "uV",
      "smallest MUAP peak of an LTR (catalogue: 0.3-3 mV; weak ones from "
      "150 uV)"),
    D("ltr_dur_ms", ltr_dur_ms, 20, 300, "80", "ms",
      "median LTR burst duration (lognormal, kept in 20-300 ms)"),
    I("ltr_spikes_max", ltr_spikes_max, 0, 20, "8", "",
      "brief insertion spikes and positive waves between the needle hit "
      "and the burst: 0 .. this"),
    D("move_large", move_large, 0, 1, "0.6", "",
      "fraction of LTR needle movements with a large artefact "
      "(0.05-5 mV step)"),
    D("move_rise_min_ms", move_rise_min_ms, 1, 100, "2", "ms",
      "shortest needle-step rise (a quick jab: 2-5 ms)"),
    D("move_rise_max_ms", move_rise_max_ms, 1, 100, "60", "ms",
      "longest needle-step rise (a slow advance: 25-60 ms); drawn "
      "log-uniform between the two"),
    D("move_overshoot", move_overshoot, 0, 1, "0.3", "",
      "fraction of needle steps that settle through an overshoot "
      "(10-40 % of the step)"),
    D("move_faint", move_faint, 0, 1, "0.25", "",
      "fraction with a faint artefact (10-60 uV); the rest have none"),
    /* distractors */
    D("insertion_per_min", insertion_per_min, 0, 60, "2", "/min",
      "needle movements with insertion activity and no LTR"),
    D("voluntary_per_min", voluntary_per_min, 0, 30, "1", "/min",
      "voluntary contractions: 1-5 units firing regularly for 1-5 s"),
    D("vol_muap_uv", vol_muap_uv, 300, 3000, "600", "uV",
      "median MUAP peak of voluntary units"),
    D("flinch_per_min", flinch_per_min, 0, 30, "1", "/min",
      "flinches: needle step, then 80-200 ms later 200-500 ms of regular "
      "firing of 1-3 units (0.2-1 mV)"),
    D("pop_per_min", pop_per_min, 0, 60, "1", "/min",
      "electrode pops: sharp 0.5-5 mV step decaying in a few ms"),
    D("fib_per_min", fib_per_min, 0, 30, "0.5", "/min",
      "fibrillation trains: regular 0.5-15 Hz initial-positive triphasic "
      "potentials of 20-200 uV for 2-10 s"),
};

const size_t tw_synth_nkeys = sizeof tw_synth_keys / sizeof tw_synth_keys[0];

int tw_synth_params_default(tw_synth_params *p)
{
    memset(p, 0, sizeof *p);
    return tw_key_defaults(tw_synth_keys, tw_synth_nkeys, p);
}

double tw_synth_mains_freq(const tw_synth_params *p)
{
    return p->mains_hz == TW_SYNTH_MAINS_60 ? 60.0 : 50.0;
}

static int count_choices(const char *choices)
{
    int n = 1;
    for (const char *c = choices; *c; c++)
        n += *c == '|';
    return n;
}

int tw_synth_check(const tw_synth_params *p, char *why, size_t whylen)
{
    char range[128];
    for (size_t i = 0; i < tw_synth_nkeys; i++) {
        const tw_key *k = &tw_synth_keys[i];
        const char *f = (const char *)p + k->offset;
        double v;
        int ok;
        switch (k->type) {
        case TW_KT_DOUBLE:
            v = *(const double *)f;
            ok = isfinite(v) && v >= k->min && v <= k->max;
            break;
        case TW_KT_INT:
            v = *(const int *)f;
            ok = v >= k->min && v <= k->max;
            break;
        case TW_KT_ENUM:
            v = *(const int *)f;
            ok = v >= 0 && v < count_choices(k->choices);
            break;
        default:
            v = 0;
            ok = 1;
        }
        if (!ok) {
            tw_key_range(k, range, sizeof range);
            snprintf(why, whylen, "%s %g: out of range (allowed %s)", k->key,
                     v, range);
            return -1;
        }
    }
    if (p->epn_min_s > p->epn_max_s) {
        snprintf(why, whylen,
                 "epn_min_s %g: longer than epn_max_s %g (allowed "
                 "epn_min_s <= epn_max_s)",
                 p->epn_min_s, p->epn_max_s);
        return -1;
    }
    if (p->move_rise_min_ms > p->move_rise_max_ms) {
        snprintf(why, whylen,
                 "move_rise_min_ms %g: longer than move_rise_max_ms %g "
                 "(allowed move_rise_min_ms <= move_rise_max_ms)",
                 p->move_rise_min_ms, p->move_rise_max_ms);
        return -1;
    }
    if (p->ltr_muap_min_uv > p->ltr_muap_uv) {
        snprintf(why, whylen,
                 "ltr_muap_min_uv %g: above ltr_muap_uv %g (allowed "
                 "ltr_muap_min_uv <= ltr_muap_uv)",
                 p->ltr_muap_min_uv, p->ltr_muap_uv);
        return -1;
    }
    if (p->move_large + p->move_faint > 1.0 + 1e-12) {
        snprintf(why, whylen,
                 "move_faint %g: move_large + move_faint is %g (allowed "
                 "sum <= 1)",
                 p->move_faint, p->move_large + p->move_faint);
        return -1;
    }
    return 0;
}
