/*
 * server/server.h - awsmrt, the serverless runtime: modules registered in a
 * JSON file, each served on its own UDP port; every request runs in a fresh
 * sandbox (its own instance, linear memory, stack and WASI context) on a
 * pool of worker threads that run many sandboxes each as user-level threads
 * with preemption and deadlines.
 *
 *   struct srv_config cfg;
 *   struct srv_error err;
 *   srv_config_load("modules.json", &cfg, &err);   (warnings in cfg)
 *   struct srv_settings s = SRV_SETTINGS_DEFAULT;
 *   srv_run(&cfg, &s, &err);                       (until SIGINT/SIGTERM)
 *   srv_config_free(&cfg);
 *
 * Prefix srv_ (public), sb_ (sandboxes), sched_ (the scheduler). Errors are
 * values (struct srv_error: a kind and a message naming the file, line and
 * field); the caller prints.
 *
 * The protocol: a request is one datagram holding a JSON object
 *   {"module": NAME, "args": [ARG...], "stdin": TEXT}      (args, stdin optional)
 * and the reply is one datagram holding a JSON object
 *   {"status": "ok"|"error", "exit_code": N|null, "stdout": TEXT,
 *    "stderr": TEXT, "truncated": BOOL, "time_us": N, "error": TEXT}
 * ("error" only with status "error"). Limits are in SRV_MAX_* below.
 */
#ifndef AWSM_SERVER_H
#define AWSM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===== Limits =========================================================== */

/* The largest UDP payload over IPv4; no reply is ever larger. */
#define SRV_MAX_DATAGRAM 65507u
/* Default largest request; larger ones get an error reply. */
#define SRV_DEFAULT_MAX_REQUEST 32768u
/* Guest stdout/stderr kept per request; what does not fit in the reply
 * datagram is cut and the reply says "truncated": true. */
#define SRV_MAX_CAPTURE (64u * 1024)
#define SRV_MAX_ARGSIZE 1024u
#define SRV_DEFAULT_ARGSIZE 16u
#define SRV_DEFAULT_TIMEOUT_MS 10000u
#define SRV_DEFAULT_STACK_SIZE (512u * 1024)
#define SRV_MIN_STACK_SIZE (64u * 1024)
#define SRV_MAX_STACK_SIZE (64u * 1024 * 1024)
#define SRV_DEFAULT_QUANTUM_US 5000u
#define SRV_DEFAULT_MAX_QUEUED 4096u
/* HTTP: a route's request body and response body (its stdout), unless its
 * "http-req-size" / "http-resp-size" say otherwise. */
#define SRV_DEFAULT_MAX_BODY (1u << 20)
#define SRV_DEFAULT_MAX_RESPONSE (1u << 20)
#define SRV_MAX_BODY_LIMIT (64u << 20)
#define SRV_DEFAULT_CONTENT_TYPE "text/plain"
#define SRV_HTTP_MAX_HEADER (16u * 1024)   /* request line and headers */
#define SRV_DEFAULT_MAX_CONNECTIONS 16384u
#define SRV_DEFAULT_HTTP_REQUEST_TIMEOUT_MS 10000u
#define SRV_DEFAULT_HTTP_IDLE_TIMEOUT_MS 30000u
#define SRV_MAX_DENSE_PAGES 1024u   /* CG_BOUNDED_MAX_BYTES in pages (checked
                                       in listener.c) */

/* ===== Errors =========================================================== */

/* What went wrong, for callers that treat failures differently. */
enum srv_error_kind {
    SRV_ERR_NONE,
    SRV_ERR_CONFIG,         /* the configuration file: unreadable, bad JSON,
                               a bad field, a duplicate */
    SRV_ERR_MODULE,         /* a module cannot be loaded: a bad or missing
                               file, a stale .so, no _start, imports WASI
                               cannot satisfy */
    SRV_ERR_SYSTEM,         /* the OS refused a resource: a port cannot be
                               bound, the log file opened, a thread, loop
                               or handle created */
    SRV_ERR_NOMEM,
    SRV_ERR_USAGE,          /* a bad argument or setting: --host is no
                               address, srv_bench's module is not configured */
    SRV_ERR_SANDBOX,        /* srv_bench: a sandbox failed or exited nonzero */
};

struct srv_error {
    enum srv_error_kind kind;
    char msg[1024];         /* "modules.json:7: module \"fib\": \"port\" must
                               be an integer 1-65535" */
};

/* ===== Configuration ==================================================== */

struct srv_module_config {
    char *name;                 /* a tenant's route: "TENANT/ROUTE" */
    char *path;                 /* resolved against the config's directory */
    uint16_t port;              /* UDP; 0: none */
    /* HTTP: served at `route` on `http_port` (0: none). */
    uint16_t http_port;
    char *route;                /* "/NAME" unless configured */
    char *content_type;         /* of 200 responses */
    uint32_t max_body;          /* request body bytes */
    uint32_t max_response;      /* response body (stdout) bytes */
    uint64_t expected_execution_us; /* admission's estimate until measured */
    uint32_t argsize;           /* most arguments a request may pass */
    bool active;
    uint32_t timeout_ms;        /* per-request deadline */
    uint32_t stack_size;        /* bytes of the sandbox's stack */
    uint32_t max_memory_pages;  /* 0: the module's own maximum */
    uint64_t relative_deadline_us; /* EDF and admission; 0: the timeout */
    uint32_t max_inflight;      /* requests queued or running; 0: default */
    uint32_t admissions_percentile; /* 0: the server's default */
    uint32_t max_open_files;    /* guest fds per sandbox; 0: default */
    bool dense_memory;          /* memory in a shared slab (code checks) */
    unsigned features;          /* WM_FEATURE_*: "features", proposals the
                                   module may use ("extended-const") */
    int nenv;
    char **env;                 /* "KEY=VALUE" */
    int ndirs;
    char **dir_host;            /* preopened directories */
    char **dir_guest;
    int line;                   /* where the module's object starts */
};

struct srv_config {
    char *file;
    int nmodules;
    struct srv_module_config *modules;
    int nwarnings;
    char **warnings;            /* "modules.json:9: module \"fib\": unknown key \"prot\"" */
};

/* Read and check a configuration file: a JSON array of module objects, or
 * module objects written one after another (the original format), and,
 * mixed with them, SLEdge's tenants ({"name", "port", "routes": [...]}:
 * each route a module served over HTTP on the tenant's port). Every field
 * is checked; a duplicate name, UDP port or HTTP route is an error. On
 * error (-1), *cfg is left empty and err names the file, line and field:
 * SRV_ERR_CONFIG, or SRV_ERR_NOMEM. */
int srv_config_load(const char *file, struct srv_config *cfg,
                    struct srv_error *err);
/* The same from memory; `name` is used in messages and relative paths are
 * resolved against its directory. */
int srv_config_parse(const char *name, const char *text, size_t len,
                     struct srv_config *cfg, struct srv_error *err);
void srv_config_free(struct srv_config *cfg);

/* ===== Running ========================================================== */

enum srv_log_level { SRV_LOG_ERROR, SRV_LOG_WARN, SRV_LOG_INFO, SRV_LOG_DEBUG };

enum srv_policy {
    SRV_POLICY_EDF,             /* earliest deadline first */
    SRV_POLICY_FIFO,            /* arrival order, preempted ones round robin */
};

struct srv_settings {
    int workers;                /* 0: one per core */
    uint32_t quantum_us;        /* time slice before preemption */
    enum srv_policy policy;     /* --scheduler edf|fifo */
    uint32_t max_queued;        /* requests waiting or running, at most */
    uint32_t max_inflight;      /* per module, unless its config says */
    uint32_t max_request;       /* bytes */
    const char *host;           /* address to bind, "127.0.0.1" by default */
    enum srv_log_level log_level;
    const char *log_file;       /* NULL: stderr; SIGHUP reopens it */
    bool stack_guard;           /* --stack-guard: a guard page per stack */
    /* Admission control: admit a request only if the modules' estimated
     * work (this percentile of recent execution times) fits the workers'
     * capacity left before its deadline. */
    bool admission;
    uint32_t admissions_percentile;     /* 1-99, per module overridable */
    uint32_t drain_timeout_ms;  /* 0: let in-flight requests finish */
    uint64_t memory_budget;     /* bytes of all linear memories; 0: 3/4 of
                                   the machine's memory */
    uint32_t max_open_files;    /* per sandbox, unless its config says */
    /* HTTP: open connections at most (more are refused with a 503), the
     * time a request may take to arrive whole from its first byte, and
     * the time an idle keep-alive connection stays open. */
    uint32_t max_connections;
    uint32_t http_request_timeout_ms;
    uint32_t http_idle_timeout_ms;
    /* Request bodies, pipelined input and unsent responses of all HTTP
     * clients together, in MiB (0: 1/8 of the memory budget, at least
     * 64 MiB); past it new bodies are refused with a 503. */
    uint32_t http_buffer_mb;
    /* The admin port (0: none): /metrics (Prometheus), /healthz, /readyz. */
    uint32_t admin_port;
    /* On SIGTERM, /readyz fails at once but requests are still accepted
     * for this long, so that a load balancer stops sending first. */
    uint32_t drain_delay_ms;
    bool access_log;            /* one line per request, at info level */
    unsigned opt_level;         /* for .wasm modules compiled on load */
    bool checked_bounds;
    bool no_cache;
    /* Called once every listener is bound (tests and scripts wait for it). */
    void (*ready_cb)(void *ud);
    void *ready_ud;
};

#define SRV_DEFAULT_MAX_INFLIGHT 1024u
#define SRV_DEFAULT_MAX_OPEN_FILES 256u
#define SRV_DEFAULT_PERCENTILE 90u

#define SRV_SETTINGS_DEFAULT { .quantum_us = SRV_DEFAULT_QUANTUM_US, \
    .policy = SRV_POLICY_EDF, .max_queued = SRV_DEFAULT_MAX_QUEUED, \
    .max_inflight = SRV_DEFAULT_MAX_INFLIGHT, \
    .max_open_files = SRV_DEFAULT_MAX_OPEN_FILES, \
    .max_connections = SRV_DEFAULT_MAX_CONNECTIONS, \
    .http_request_timeout_ms = SRV_DEFAULT_HTTP_REQUEST_TIMEOUT_MS, \
    .http_idle_timeout_ms = SRV_DEFAULT_HTTP_IDLE_TIMEOUT_MS, \
    .max_request = SRV_DEFAULT_MAX_REQUEST, .host = "127.0.0.1", \
    .log_level = SRV_LOG_INFO, .admissions_percentile = SRV_DEFAULT_PERCENTILE, \
    .opt_level = 2 }

/* Load every active module, bind its port, and serve until SIGINT or
 * SIGTERM; then stop accepting, let the requests in flight finish (or hit
 * their deadlines), and return 0. Returns -1 when start-up fails (nothing
 * is left running): SRV_ERR_MODULE when no module loads, SRV_ERR_SYSTEM,
 * SRV_ERR_USAGE (a bad --host) or SRV_ERR_NOMEM. */
int srv_run(const struct srv_config *cfg, const struct srv_settings *s,
            struct srv_error *err);

/* Load every active module (compiling .wasm files into the cache) and
 * return, without serving: what --check does. The first that fails is
 * the error (SRV_ERR_MODULE or SRV_ERR_NOMEM). */
int srv_check(const struct srv_config *cfg, const struct srv_settings *s,
              struct srv_error *err);

/* The sandbox life cycle, measured in-process (no network): `n` sandboxes
 * of `module` (run with no arguments; each must exit 0) through the real
 * scheduler, each timed from pick-up by a worker to the end of teardown.
 * Errors: SRV_ERR_USAGE (no such module), SRV_ERR_MODULE, SRV_ERR_SYSTEM,
 * SRV_ERR_NOMEM (also when a sandbox failed for want of memory) and
 * SRV_ERR_SANDBOX (one failed otherwise, or exited nonzero). */
struct srv_bench_result {
    uint32_t n;
    double median_us, p99_us, min_us;
};
int srv_bench(const struct srv_config *cfg, const struct srv_settings *s,
              const char *module, uint32_t n, struct srv_bench_result *out,
              struct srv_error *err);

#endif
