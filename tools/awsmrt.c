/*
 * tools/awsmrt.c - the serverless runtime's command: options and messages
 * only (server/ does the work).
 *
 * Exit status: 0 after a clean shutdown (SIGINT/SIGTERM) or --check,
 * 1 when the configuration or start-up fails, 2 on a usage error.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "tools/netcli.h"

static const char usage_text[] =
    "usage: awsmrt [OPTIONS] CONFIG.json\n"
    "\n"
    "Serve the modules registered in CONFIG.json: over UDP, each on its own\n"
    "port (\"port\"): a request is a datagram {\"module\": NAME, \"args\": [...],\n"
    "\"stdin\": TEXT}, the reply {\"status\", \"exit_code\", \"stdout\", \"stderr\",\n"
    "\"truncated\", \"time_us\", \"error\"}; over HTTP/1.1 at a route (\"http-port\",\n"
    "\"route\", or SLEdge's tenants): GET, HEAD or POST, the body is stdin, ?arg=X or\n"
    "?args=X,Y the arguments, headers the environment (HTTP_NAME), stdout the\n"
    "response. Every request runs in a fresh sandbox.\n"
    "\n"
    "options (environment variable in brackets):\n"
    "  --workers N          worker threads (default: one per core)\n"
    "                       [AWSM_WORKERS]\n"
    "  --quantum-us N       time slice before a sandbox is preempted\n"
    "                       (default 5000) [AWSM_QUANTUM_US]\n"
    "  --scheduler edf|fifo earliest deadline first (default; a module's\n"
    "                       \"relative-deadline-us\", else its timeout) or\n"
    "                       arrival order; either way a sandbox that used a\n"
    "                       whole quantum yields to new requests\n"
    "  --log-level LEVEL    error, warn, info (default) or debug [AWSM_LOG]\n"
    "  --log-file PATH      log there instead of stderr; SIGHUP reopens it\n"
    "  --host ADDR          address to listen on (default 127.0.0.1: loopback\n"
    "                       only; 0.0.0.0 or :: to serve other hosts, which\n"
    "                       can then spoof a source and draw a reply up to\n"
    "                       2,000 times larger than their request)\n"
    "  --max-queued N       requests queued or running in the server; more\n"
    "                       get an \"overloaded\" reply (default 4096)\n"
    "  --max-inflight N     the same per module, unless its \"max-inflight\"\n"
    "                       says (default 1024)\n"
    "  --admission          admission control: reject at once a request whose\n"
    "                       module's estimated work does not fit the capacity\n"
    "                       left before its deadline\n"
    "  --admissions-percentile P\n"
    "                       the estimate: this percentile of the module's\n"
    "                       recent execution times (default 90; a module's\n"
    "                       \"admissions-percentile\" overrides it)\n"
    "  --drain-timeout-ms N on SIGTERM/SIGINT, stop what is still running\n"
    "                       after N ms (default: let it finish; a second\n"
    "                       signal stops it at once)\n"
    "  --max-open-files N   files a sandbox may have open, unless its module's\n"
    "                       \"max-open-files\" says (default 256); all of them\n"
    "                       together at most 3/4 of RLIMIT_NOFILE, which\n"
    "                       awsmrt raises to its hard limit\n"
    "  --memory-budget-mb N linear memory of all sandboxes together (default\n"
    "                       3/4 of the machine's); a guest that would pass it\n"
    "                       cannot grow (an error reply says so)\n"
    "  --max-request BYTES  largest request datagram (default 32768, at most\n"
    "                       65507)\n"
    "  --max-connections N  open HTTP connections at most; more get a 503 and\n"
    "                       are closed (default 16384)\n"
    "  --http-request-timeout-ms N\n"
    "                       an HTTP request must arrive whole within N ms of\n"
    "                       its first byte (else 408), and its response be\n"
    "                       taken within N ms (default 10000)\n"
    "  --http-idle-timeout-ms N\n"
    "                       idle keep-alive connections close after N ms\n"
    "                       (default 30000)\n"
    "  --http-buffer-mb N   request bodies, input and responses held for all\n"
    "                       HTTP clients together (default 1/8 of the memory\n"
    "                       budget, at least 64); past it, 503\n"
    "  --admin-port N       serve /metrics (Prometheus), /healthz and /readyz\n"
    "                       over HTTP on this port (on --host)\n"
    "  --drain-delay-ms N   on SIGTERM/SIGINT, fail /readyz at once but go on\n"
    "                       accepting requests for N ms (a load balancer's\n"
    "                       health checks then stop sending first)\n"
    "  --access-log         one log line per request (info level): client,\n"
    "                       route, status, bytes, queue and run time, sandbox\n"
    "                       id\n"
    "  --stack-guard        a guard page below every sandbox's stack (one\n"
    "                       more mapping each: at most ~32,000 sandboxes at\n"
    "                       once under the default vm.max_map_count; compiled\n"
    "                       code checks every frame against its stack's\n"
    "                       limit without one)\n"
    "  -O0 .. -O3, --bounds=guard|checked, --no-cache\n"
    "                       how .wasm modules are compiled on load\n"
    "  --check              check the configuration and load every module,\n"
    "                       then exit\n"
    "  --bench MODULE:N     measure N sandbox life cycles of MODULE in-process\n"
    "                       (no network; median and p99 in microseconds)\n"
    "  -h, --help           show this help\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "awsmrt: %s%s%s\nTry 'awsmrt --help'.\n", msg,
            arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int parse_level(const char *s, enum srv_log_level *out)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum srv_log_level)i;
            return 0;
        }
    }
    return -1;
}

struct opts {
    struct srv_settings set;
    const char *config;
    bool check;
    const char *bench;          /* MODULE:N */
};

/* The options that take a number: the range and the settings field (its
 * value shifted left by `shift`: MiB to bytes). */
#define FIELD(f) offsetof(struct srv_settings, f), sizeof(((struct srv_settings *)0)->f)
static const struct numeric {
    const char *name;
    unsigned long lo, hi;
    size_t offset, size;
    unsigned shift;
} numerics[] = {
    { "--workers", 1, 256, FIELD(workers), 0 },
    { "--quantum-us", 100, 10000000, FIELD(quantum_us), 0 },
    { "--max-queued", 1, 1000000, FIELD(max_queued), 0 },
    { "--max-inflight", 1, 1000000, FIELD(max_inflight), 0 },
    { "--admissions-percentile", 1, 99, FIELD(admissions_percentile), 0 },
    { "--drain-timeout-ms", 1, 86400000, FIELD(drain_timeout_ms), 0 },
    { "--max-open-files", 4, 4096, FIELD(max_open_files), 0 },
    { "--memory-budget-mb", 1, 1ul << 30, FIELD(memory_budget), 20 },
    { "--max-request", 64, SRV_MAX_DATAGRAM, FIELD(max_request), 0 },
    { "--max-connections", 1, 1000000, FIELD(max_connections), 0 },
    { "--http-request-timeout-ms", 1, 3600000, FIELD(http_request_timeout_ms), 0 },
    { "--http-idle-timeout-ms", 1, 3600000, FIELD(http_idle_timeout_ms), 0 },
    { "--admin-port", 1, 65535, FIELD(admin_port), 0 },
    { "--http-buffer-mb", 1, 1u << 20, FIELD(http_buffer_mb), 0 },
    { "--drain-delay-ms", 1, 3600000, FIELD(drain_delay_ms), 0 },
};
#undef FIELD

/* 1 when `name` takes no number; else 0, or 2 after a usage error. */
static int numeric_opt(const char *name, const char *val, struct opts *o)
{
    const struct numeric *n = numerics;
    const struct numeric *end = numerics + sizeof numerics / sizeof *numerics;
    while (n < end && strcmp(name, n->name) != 0)
        n++;
    if (n == end)
        return 1;
    unsigned long v;
    if (!val)
        return usage_error("missing value for", name);
    if (ncli_ulong_parse(val, n->lo, n->hi, &v) != 0)
        return usage_error("bad value", val);
    char *field = (char *)&o->set + n->offset;
    if (n->size == sizeof(uint64_t)) {
        uint64_t x = (uint64_t)v << n->shift;
        memcpy(field, &x, sizeof x);
    } else {
        uint32_t x = (uint32_t)v;       /* int workers: same representation */
        _Static_assert(sizeof(int) == sizeof x, "the 32-bit fields");
        memcpy(field, &x, sizeof x);
    }
    return 0;
}

static int parse_env(struct opts *o)
{
    const char *v;
    if ((v = getenv("AWSM_WORKERS")) && numeric_opt("--workers", v, o))
        return 2;
    if ((v = getenv("AWSM_QUANTUM_US")) && numeric_opt("--quantum-us", v, o))
        return 2;
    if ((v = getenv("AWSM_LOG")) && parse_level(v, &o->set.log_level))
        return usage_error("bad AWSM_LOG", v);
    return 0;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        } else if ((rc = numeric_opt(a, next, o)) != 1) {
            if (rc != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--log-level") == 0) {
            if (!next || parse_level(next, &o->set.log_level))
                return usage_error("bad --log-level", next);
            i++;
        } else if (strcmp(a, "--scheduler") == 0) {
            if (!next || (strcmp(next, "edf") != 0 && strcmp(next, "fifo") != 0))
                return usage_error("--scheduler wants edf or fifo", next);
            o->set.policy = next[0] == 'f' ? SRV_POLICY_FIFO : SRV_POLICY_EDF;
            i++;
        } else if (strcmp(a, "--admission") == 0) {
            o->set.admission = true;
        } else if (strcmp(a, "--stack-guard") == 0) {
            o->set.stack_guard = true;
        } else if (strcmp(a, "--access-log") == 0) {
            o->set.access_log = true;
        } else if (strcmp(a, "--log-file") == 0) {
            if (!next)
                return usage_error("missing value for", a);
            o->set.log_file = argv[++i];
        } else if (strcmp(a, "--host") == 0) {
            if (!next)
                return usage_error("missing value for", a);
            o->set.host = argv[++i];
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            o->set.opt_level = (unsigned)(a[2] - '0');
        } else if (strcmp(a, "--bounds=guard") == 0 || strcmp(a, "--bounds=checked") == 0) {
            o->set.checked_bounds = a[9] == 'c';
        } else if (strcmp(a, "--no-cache") == 0) {
            o->set.no_cache = true;
        } else if (strcmp(a, "--bench") == 0) {
            if (!next || !strchr(next, ':'))
                return usage_error("--bench wants MODULE:N", next);
            o->bench = argv[++i];
        } else if (strcmp(a, "--check") == 0) {
            o->check = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option", a);
        } else if (o->config) {
            return usage_error("more than one configuration file", a);
        } else {
            o->config = a;
        }
    }
    if (!o->config)
        return usage_error("missing CONFIG.json", NULL);
    return 0;
}

static int run_bench(const struct srv_config *cfg, const struct opts *o,
                     struct srv_error *err)
{
    const char *colon = strrchr(o->bench, ':');
    unsigned long n;
    char module[256];
    if (ncli_ulong_parse(colon + 1, 1, 10000000, &n) != 0 ||
        (size_t)(colon - o->bench) >= sizeof module) {
        err->kind = SRV_ERR_USAGE;
        snprintf(err->msg, sizeof err->msg, "--bench %s: expected MODULE:N", o->bench);
        return -1;
    }
    snprintf(module, sizeof module, "%.*s", (int)(colon - o->bench), o->bench);
    struct srv_bench_result r;
    if (srv_bench(cfg, &o->set, module, (uint32_t)n, &r, err) != 0)
        return -1;
    printf("sandboxes=%u median_us=%.1f p99_us=%.1f min_us=%.1f\n", r.n,
           r.median_us, r.p99_us, r.min_us);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = { .set = SRV_SETTINGS_DEFAULT };
    int rc = parse_env(&o);
    if (rc == 0)
        rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc;
    struct srv_config cfg;
    struct srv_error err;
    if (srv_config_load(o.config, &cfg, &err) != 0) {
        fprintf(stderr, "awsmrt: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < cfg.nwarnings; i++)
        fprintf(stderr, "awsmrt: warning: %s\n", cfg.warnings[i]);
    if (o.check)
        o.set.workers = 1;
    if (o.bench)
        rc = run_bench(&cfg, &o, &err);
    else
        rc = o.check ? srv_check(&cfg, &o.set, &err) : srv_run(&cfg, &o.set, &err);
    if (rc != 0)
        fprintf(stderr, "awsmrt: %s\n", err.msg);
    else if (o.check && !o.bench)
        printf("%s: %d module%s, configuration and modules OK\n", o.config,
               cfg.nmodules, cfg.nmodules == 1 ? "" : "s");
    srv_config_free(&cfg);
    return rc != 0;
}
