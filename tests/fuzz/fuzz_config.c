/*
 * tests/fuzz/fuzz_config.c - libFuzzer target: awsmrt's configuration
 * parser (srv_config_parse) on any bytes: the original format, our keys
 * and SLEdge's tenants. A configuration that parses is walked field by
 * field, so the sanitizers see every string and array it hands out; one
 * that does not must say why.
 *
 * Built by tests/fuzz/run.sh config (clang -fsanitize=fuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk_strings(char **v, int n)
{
    size_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += strlen(v[i]);
    return sum;
}

static size_t walk(const struct srv_config *cfg)
{
    size_t sum = strlen(cfg->file);
    for (int i = 0; i < cfg->nmodules; i++) {
        const struct srv_module_config *m = &cfg->modules[i];
        sum += strlen(m->name) + strlen(m->path) + m->port + m->http_port;
        if (m->route)
            sum += strlen(m->route);
        if (m->content_type)
            sum += strlen(m->content_type);
        sum += walk_strings(m->env, m->nenv) + walk_strings(m->dir_host, m->ndirs) +
               walk_strings(m->dir_guest, m->ndirs);
    }
    return sum + walk_strings(cfg->warnings, cfg->nwarnings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_config cfg;
    struct srv_error err = { SRV_ERR_NONE, "" };
    if (srv_config_parse("/fuzz/modules.json", (const char *)data, size, &cfg,
                         &err) == 0) {
        volatile size_t sum = walk(&cfg);
        (void)sum;
        srv_config_free(&cfg);
    } else if (err.msg[0] == '\0' || err.kind == SRV_ERR_NONE) {
        fprintf(stderr, "fuzz_config: a refused configuration without a message "
                "or kind\n");
        abort();
    }
    return 0;
}
