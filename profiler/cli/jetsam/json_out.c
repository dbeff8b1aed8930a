/* ----------------------------------------------------------------------------
 * jetsam/json_out.c — the `--format json` output of `zonetrace jetsam`.
 *
 * A part of cmd_jetsam.c, #included there: it sees that file's types (event,
 * suggestion, options) and has no includes of its own.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CMD_JETSAM_C
#error "this file is a part of cmd_jetsam.c and is only included from there"
#endif

/* ---- JSON ------------------------------------------------------------------ */

static void json_sugg(FILE *out, const sugg_t *s)
{
    fprintf(out, "{\"device\": ");
    zt_json_string(out, s->profile ? s->profile->name : NULL);
    if (s->limit_mb >= 0)
        fprintf(out, ", \"memory_limit_mb\": %ld, \"limit_source\": ", s->limit_mb);
    else
        fprintf(out, ", \"memory_limit_mb\": null, \"limit_source\": ");
    zt_json_string(out, s->limit_mb >= 0 ? s->limit_source : NULL);
    fprintf(out, ", \"note\": ");
    zt_json_string(out, s->note[0] ? s->note : NULL);
    fprintf(out, ", \"command\": ");
    if (!s->profile && s->limit_mb < 0) {
        fputs("null", out);
    } else {
        char cmd[160];
        int k = snprintf(cmd, sizeof cmd, "zonetrace run");
        if (s->profile)
            k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --device %s", s->profile->name);
        if (s->limit_mb >= 0)
            k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --memory-limit %ldM", s->limit_mb);
        snprintf(cmd + k, sizeof cmd - (size_t)k, " -- APP");
        zt_json_string(out, cmd);
    }
    fputc('}', out);
}

static void json_proc(FILE *out, const zt_jetsam_proc_t *p, uint64_t page_bytes)
{
    fprintf(out, "{\"name\": ");
    zt_json_string(out, p->name);
    if (p->pid >= 0)
        fprintf(out, ", \"pid\": %lld", (long long)p->pid);
    else
        fprintf(out, ", \"pid\": null");
    fprintf(out, ", \"rpages\": %llu, \"footprint_bytes\": %llu", (unsigned long long)p->rpages,
            (unsigned long long)p->footprint_bytes);
    if (p->lifetime_max_pages >= 0)
        fprintf(out, ", \"lifetime_max_bytes\": %llu",
                (unsigned long long)p->lifetime_max_pages * page_bytes);
    else
        fprintf(out, ", \"lifetime_max_bytes\": null");
    fprintf(out, ", \"killed\": %s, \"reason\": ", p->reason ? "true" : "false");
    zt_json_string(out, p->reason);
    fprintf(out, ", \"states\": [");
    for (const char *s = p->states; *s;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        char *one = strndup(s, len);
        if (s != p->states) fputs(", ", out);
        zt_json_string(out, one ? one : "");
        free(one);
        s += len + (c != NULL);
    }
    fputs("]}", out);
}

static void json_report(FILE *out, const event_t *e)
{
    const zt_jetsam_report_t *r = &e->r;
    fprintf(out, "    {\"file\": ");
    zt_json_string(out, e->path);
    fprintf(out, ",\n     \"product\": ");
    zt_json_string(out, r->product);
    fprintf(out, ", \"device_name\": ");
    zt_json_string(out, e->dev ? e->dev->name : NULL);
    if (e->dev)
        fprintf(out, ", \"ram_mb\": %u, \"measured_limit_mb\": %u", e->dev->ram_mb,
                e->dev->limit_mb);
    else
        fprintf(out, ", \"ram_mb\": null, \"measured_limit_mb\": null");
    fprintf(out, ",\n     \"os_version\": ");
    zt_json_string(out, r->os_version);
    fprintf(out, ", \"build\": ");
    zt_json_string(out, r->build);
    fprintf(out, ", \"date\": ");
    zt_json_string(out, r->date);
    fprintf(out, ",\n     \"kernel\": ");
    zt_json_string(out, r->kernel);
    fprintf(out, ",\n     \"page_size\": %llu, \"largest_process\": ",
            (unsigned long long)r->page_bytes);
    zt_json_string(out, r->largest);
    fprintf(out, ",\n     \"memory_pages\": {");
    bool any = false;
    for (int k = 0; k < ZT_JETSAM_MEM_FIELDS; k++) {
        if (r->mem_pages[k] < 0) continue;
        fprintf(out, "%s\"%s\": %lld", any ? ", " : "", zt_jetsam_mem_field[k],
                (long long)r->mem_pages[k]);
        any = true;
    }
    fprintf(out, "},\n     \"process\": ");
    if (e->proc)
        json_proc(out, e->proc, r->page_bytes);
    else
        fputs("null", out);
    if (e->implied_mb >= 0)
        fprintf(out, ",\n     \"implied_limit_mb\": %ld", e->implied_mb);
    else
        fprintf(out, ",\n     \"implied_limit_mb\": null");
    sugg_t s;
    suggest(r->product, e->dev, r->os_major, e->implied_mb,
            "the per-process-limit kill in this report", &s);
    fprintf(out, ",\n     \"suggestion\": ");
    json_sugg(out, &s);
    fprintf(out, ",\n     \"processes\": [");
    const zt_jetsam_proc_t **v = sorted(r);
    for (size_t i = 0; v && i < r->nprocs; i++) {
        fputs(i ? ",\n       " : "\n       ", out);
        json_proc(out, v[i], r->page_bytes);
    }
    free(v);
    fprintf(out, "]}");
}

typedef struct failure {
    const char *path;
    char *message;
} failure_t;

static void json_all(FILE *out, const event_t *ev, size_t n, const char **skipped, size_t nskipped,
                     const failure_t *bad, size_t nbad)
{
    fprintf(out, "{\"reports\": [");
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_report(out, &ev[i]);
    }
    fprintf(out, "],\n \"skipped\": [");
    for (size_t i = 0; i < nskipped; i++) {
        if (i) fputs(", ", out);
        zt_json_string(out, skipped[i]);
    }
    fprintf(out, "],\n \"errors\": [");
    for (size_t i = 0; i < nbad; i++) {
        fputs(i ? ",\n   " : "\n   ", out);
        fprintf(out, "{\"file\": ");
        zt_json_string(out, bad[i].path);
        fprintf(out, ", \"error\": ");
        zt_json_string(out, bad[i].message);
        fputc('}', out);
    }
    fprintf(out, "],\n \"limits\": [");
    group_t *g = calloc(n ? n : 1, sizeof *g);
    size_t ng = g ? limit_groups(ev, n, g) : 0;
    for (size_t k = 0; k < ng; k++) {
        const event_t *f = g[k].first;
        fputs(k ? ",\n   " : "\n   ", out);
        fprintf(out, "{\"process\": ");
        zt_json_string(out, f->proc->name);
        fprintf(out, ", \"product\": ");
        zt_json_string(out, f->r.product);
        fprintf(out,
                ", \"kills\": %u, \"min_mb\": %ld, \"max_mb\": %ld, \"suggestion\": ", g[k].kills,
                g[k].min_mb, g[k].max_mb);
        sugg_t s;
        suggest(f->r.product, f->dev, f->r.os_major, g[k].min_mb,
                g[k].kills == 1              ? "this kill"
                : g[k].min_mb == g[k].max_mb ? "these kills"
                                             : "the lowest of these kills",
                &s);
        json_sugg(out, &s);
        fputc('}', out);
    }
    free(g);
    fprintf(out, "]}\n");
}
