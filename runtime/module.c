/*
 * runtime/module.c - loading a module compiled by awsmc: dlopen the .so,
 * find its descriptor, refuse stale or foreign ones with a message that
 * says what to do, check the embedded wasm against its hash, and decode
 * (and validate) the metadata the instances need.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "runtime/internal.h"

/* ===== Errors =========================================================== */

int rt_fail(struct rt_error *err, enum rt_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    err->kind = kind;
    err->trap = AWSM_TRAP_NONE;
    err->nframes = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int rt_fail_trap(struct rt_error *err, enum rt_error_kind kind,
                 enum awsm_trap trap)
{
    rt_fail(err, kind, "%s", rt_trap_message(trap));
    err->trap = trap;
    return -1;
}

/* "dir/app.so" -> "app.so", for messages. */
static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* ===== Checks =========================================================== */

static int check_desc(const char *path, const struct awsm_module_desc *d,
                      struct rt_error *err)
{
    const char *name = file_name(path);
    if (d->magic != AWSM_MODULE_MAGIC)
        return rt_fail(err, RT_ERR_LOAD, "%s: not an awsm module (bad magic "
                       "0x%08x in %s)", name, d->magic, AWSM_MODULE_SYMBOL);
    if (d->abi_version != AWSM_ABI_VERSION)
        return rt_fail(err, RT_ERR_LOAD, "%s: ABI version %u but this runtime "
                       "needs %u: recompile with this awsmc", name,
                       d->abi_version, AWSM_ABI_VERSION);
    if (d->wasm == NULL || d->wasm_size == 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: no embedded wasm module", name);
    return 0;
}

/* libcrypto's first use reads and applies openssl.cnf (and may load
 * providers it names): 3-12 ms, most of a cached `awsm run`. A hash needs
 * none of it: initialise without the configuration and fetch SHA-256
 * from the default provider once. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_init(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int rt_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    pthread_once(&sha256_once, sha256_init);
    return sha256_md && EVP_Digest(p, n, out, &len, sha256_md, NULL) == 1 &&
           len == 32 ? 0 : -1;
}

static int check_hash(const char *path, const struct awsm_module_desc *d,
                      struct rt_error *err)
{
    uint8_t md[32];
    if (rt_sha256(d->wasm, d->wasm_size, md) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: cannot compute SHA-256",
                       file_name(path));
    if (memcmp(md, d->hash, sizeof d->hash) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: hash mismatch: the embedded wasm "
                       "does not match the hash recorded by the compiler",
                       file_name(path));
    return 0;
}

static int decode_wasm(const char *path, struct rt_module *m,
                       struct rt_error *err)
{
    struct wm_error we;
    const struct awsm_module_desc *d = m->desc;
    if (dec_module(d->wasm, d->wasm_size, &m->wasm, &we) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: embedded wasm: %s",
                       file_name(path), we.msg);
    if (val_module(m->wasm, &we) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: embedded wasm: %s",
                       file_name(path), we.msg);
    if (d->nfuncs != m->wasm->nfuncs || d->ntypes != m->wasm->ntypes)
        return rt_fail(err, RT_ERR_LOAD, "%s: descriptor has %u functions and "
                       "%u types but the wasm has %u and %u", file_name(path),
                       d->nfuncs, d->ntypes, m->wasm->nfuncs, m->wasm->ntypes);
    return 0;
}

static int canonical_types(struct rt_module *m, struct rt_error *err)
{
    uint32_t n = m->wasm->ntypes;
    m->type_ids = calloc(n ? n : 1, sizeof *m->type_ids);
    if (m->type_ids == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        m->type_ids[i] = rt_type_id(&m->wasm->types[i]);
        if (m->type_ids[i] == 0)
            return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* ===== Loading ========================================================== */

static int open_so(const char *path, struct rt_module *m, struct rt_error *err)
{
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        const char *why = dlerror();
        return rt_fail(err, RT_ERR_LOAD, "cannot load %s: %s", path,
                       why != NULL ? why : "dlopen failed");
    }
    m->desc = dlsym(m->dl, AWSM_MODULE_SYMBOL);
    if (m->desc == NULL)
        return rt_fail(err, RT_ERR_LOAD, "%s: no %s symbol: not built by awsmc",
                       file_name(path), AWSM_MODULE_SYMBOL);
    return 0;
}

int rt_module_load(const char *so_path, struct rt_module **out,
                   struct rt_error *err)
{
    *out = NULL;
    struct rt_module *m = calloc(1, sizeof *m);
    if (m == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    if (open_so(so_path, m, err) != 0 || check_desc(so_path, m->desc, err) != 0 ||
        check_hash(so_path, m->desc, err) != 0 ||
        decode_wasm(so_path, m, err) != 0 || canonical_types(m, err) != 0 ||
        (rt_code_map_build(m) != 0 &&
         rt_fail(err, RT_ERR_NOMEM, "out of memory") != 0)) {
        rt_module_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void rt_module_free(struct rt_module *m)
{
    if (m == NULL)
        return;
    if (m->wasm != NULL)
        wm_module_free(m->wasm);
    free(m->type_ids);
    rt_code_map_free(m);
    if (m->dl != NULL)
        dlclose(m->dl);
    free(m);
}

const struct wm_module *rt_module_wasm(const struct rt_module *m)
{
    return m->wasm;
}

const struct awsm_module_desc *rt_module_desc(const struct rt_module *m)
{
    return m->desc;
}
