/* edfhdr.c: what EDFlib's own reader finds in an EDF+/BDF+ file, as one
 * JSON object on stdout, for the system tests (study.sh, record_full.sh)
 * to compare the header fields of a daemon-made recording with what
 * session.start sent.
 *
 *   edfhdr FILE
 *
 * {"filetype": "EDF+" | "BDF+" | ..., "patientcode", "gender", "birthdate",
 *  "patient_name", "patient_additional", "admincode", "technician",
 *  "equipment", "recording_additional" (strings as EDFlib parses the EDF+
 *  subfields, trailing spaces removed), "start": "YYYY-MM-DDTHH:MM:SS" (the header's start date
 *  and time), "start_subsecond": seconds (0 <= x < 1, from the first
 *  record's time-keeping annotation), "records", "record_s",
 *  "signals": [{"label", "samples", "rate", "unit", "transducer", "prefilter", "phys_min",
 *  "phys_max"}] (annotation signals not included; label and unit
 *  without their padding),
 *  "annotations": [{"onset", "duration" (null: none), "text"}]}
 *
 * Exit status: 0; 64 usage; 65 when EDFlib refuses the file (its error
 * code on stderr).
 */
#include <edflib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edfrec.h"

/* A JSON string of s without its trailing spaces (EDF pads with them). */
static json_t *str(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return json_stringn(s, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: edfhdr FILE\n");
        return 64;
    }
    struct edf_hdr_struct *h = calloc(1, sizeof *h);
    if (!h)
        return 70;
    if (tw_edflib_open_read(argv[1], h, EDFLIB_READ_ALL_ANNOTATIONS) != 0) {
        fprintf(stderr, "edfhdr: %s: EDFlib refuses it (error %d)\n", argv[1], h->filetype);
        free(h);
        return 65;
    }
    static const char *const types[] = {"EDF", "EDF+", "BDF", "BDF+"};
    char start[32];
    snprintf(start, sizeof start, "%04d-%02d-%02dT%02d:%02d:%02d", h->startdate_year,
             h->startdate_month, h->startdate_day, h->starttime_hour, h->starttime_minute,
             h->starttime_second);
    json_t *o = json_object();
    json_object_set_new(o, "filetype", json_string(h->filetype >= 0 && h->filetype < 4
                                                       ? types[h->filetype] : "?"));
    json_object_set_new(o, "patientcode", str(h->patientcode));
    json_object_set_new(o, "gender", str(h->gender));
    json_object_set_new(o, "birthdate", str(h->birthdate));
    json_object_set_new(o, "patient_name", str(h->patient_name));
    json_object_set_new(o, "patient_additional", str(h->patient_additional));
    json_object_set_new(o, "admincode", str(h->admincode));
    json_object_set_new(o, "technician", str(h->technician));
    json_object_set_new(o, "equipment", str(h->equipment));
    json_object_set_new(o, "recording_additional", str(h->recording_additional));
    json_object_set_new(o, "start", json_string(start));
    json_object_set_new(o, "start_subsecond",
                        json_real((double)h->starttime_subsecond / EDFLIB_TIME_DIMENSION));
    json_object_set_new(o, "records", json_integer(h->datarecords_in_file));
    json_object_set_new(o, "record_s",
                        json_real((double)h->datarecord_duration / EDFLIB_TIME_DIMENSION));
    json_t *sig = json_array();
    for (int i = 0; i < h->edfsignals; i++) {
        const struct edf_param_struct *s = &h->signalparam[i];
        json_t *j = json_object();
        json_object_set_new(j, "label", str(s->label));
        json_object_set_new(j, "samples", json_integer(s->smp_in_file));
        json_object_set_new(j, "rate", json_real((double)s->smp_in_datarecord /
                                                  ((double)h->datarecord_duration /
                                                   EDFLIB_TIME_DIMENSION)));
        json_object_set_new(j, "unit", str(s->physdimension));
        json_object_set_new(j, "transducer", str(s->transducer));
        json_object_set_new(j, "prefilter", str(s->prefilter));
        json_object_set_new(j, "phys_min", json_real(s->phys_min));
        json_object_set_new(j, "phys_max", json_real(s->phys_max));
        json_array_append_new(sig, j);
    }
    json_object_set_new(o, "signals", sig);
    json_t *ann = json_array();
    for (long long i = 0; i < h->annotations_in_file; i++) {
        struct edf_annotation_struct a;
        if (edf_get_annotation(h->handle, (int)i, &a) != 0)
            break;
        json_t *j = json_object();
        json_object_set_new(j, "onset", json_real((double)a.onset / EDFLIB_TIME_DIMENSION));
        json_object_set_new(j, "duration",
                            a.duration[0] ? json_real(atof(a.duration)) : json_null());
        json_object_set_new(j, "text", str(a.annotation));
        json_array_append_new(ann, j);
    }
    json_object_set_new(o, "annotations", ann);
    tw_edflib_close(h->handle);
    free(h);
    char *txt = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!txt)
        return 70;
    puts(txt);
    free(txt);
    return 0;
}
