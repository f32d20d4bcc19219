/*
 * runtime/module.c - loading a module compiled by awsmc: check that the
 * file is a complete shared object for this host, dlopen it, find its
 * descriptor, refuse stale or foreign ones with a message that says what
 * to do, check the embedded wasm against its hash, and decode the
 * metadata the instances need (not the code: the compiler validated it).
 *
 * Module paths come from tenants' configurations, so the file is opened
 * without blocking and must be a regular file of bounded size; and since
 * dlopen maps a PT_LOAD segment's pages whether or not the file holds
 * them, and the first touch of a page past the end of the file is a
 * SIGBUS, the ELF header, program headers and section header table are
 * checked against the file's size first.
 *
 * What remains: the checks look at the file as opened, and dlopen opens
 * the path again. A file replaced in between (the cache renames complete
 * files into place, so its entries are safe) or truncated in place while
 * it is mapped can still fault; only a private copy would avoid that.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>
#include <pthread.h>

#include "runtime/internal.h"

/* What an ELF object for this host says in its header. */
#if defined(__x86_64__)
#define HOST_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_ELF_MACHINE EM_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ELF_MACHINE EM_RISCV
#else
#error "runtime/module.c: the ELF machine number of this host is not known"
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ELF_DATA ELFDATA2LSB
#else
#define HOST_ELF_DATA ELFDATA2MSB
#endif

#define MIB ((uint64_t)1 << 20)

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

/* Copied, not formatted: every WASI program that calls proc_exit ends in
 * a trap, so this is on the path of nearly every call that returns. */
int rt_fail_trap(struct rt_error *err, enum rt_error_kind kind,
                 enum awsm_trap trap)
{
    const char *msg = rt_trap_message(trap);
    size_t n = strnlen(msg, sizeof err->msg - 1);
    memcpy(err->msg, msg, n);
    err->msg[n] = '\0';
    err->kind = kind;
    err->trap = trap;
    err->nframes = 0;
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
    if (d->mem_reach > AWSM_GUARD_RESERVATION || d->mem_reach % WM_PAGE_SIZE)
        return rt_fail(err, RT_ERR_LOAD, "%s: bad mem_reach %llu in %s", name,
                       (unsigned long long)d->mem_reach, AWSM_MODULE_SYMBOL);
    if (d->callconv != AWSM_CALLCONV_C &&
        (d->callconv != AWSM_CALLCONV_TAIL || d->import_adapters == NULL))
        return rt_fail(err, RT_ERR_LOAD, "%s: bad calling convention %u in %s",
                       name, d->callconv, AWSM_MODULE_SYMBOL);
    return 0;
}

/* Nettle: no set-up (libcrypto's EVP_MD_fetch alone was 37% of a cached
 * `awsm run`'s instructions, and loading libcrypto most of the rest of
 * its dynamic linking); SHA-NI where the CPU has it. */
int rt_sha256(const void *p, size_t n, uint8_t out[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, n, p);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
    return 0;
}

/* The embedded metadata is what the compiler wrote (a few kilobytes
 * whatever the size of the code: hashing it is cheap), and, given the
 * hash of the module the caller expects, was taken from that module. */
static int check_hash(const char *path, const struct awsm_module_desc *d,
                      const uint8_t *module_hash, struct rt_error *err)
{
    uint8_t md[32];
    if (rt_sha256(d->wasm, d->wasm_size, md) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: cannot compute SHA-256",
                       file_name(path));
    if (memcmp(md, d->meta_hash, sizeof d->meta_hash) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: hash mismatch: the embedded wasm "
                       "metadata does not match the hash recorded by the "
                       "compiler", file_name(path));
    if (module_hash != NULL && memcmp(module_hash, d->hash, sizeof d->hash) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: the embedded wasm is not the "
                       "module it was compiled from", file_name(path));
    return 0;
}

/* The compiler validated this wasm, and check_hash has just shown its
 * metadata is what the compiler wrote: decode what instances need (the
 * native code is the .so's own). */
static int decode_wasm(const char *path, struct rt_module *m,
                       struct rt_error *err)
{
    struct wm_error we;
    const struct awsm_module_desc *d = m->desc;
    if (dec_module_trusted(d->wasm, d->wasm_size, &m->wasm, &we) != 0)
        return rt_fail(err, we.kind == WM_ERR_NOMEM ? RT_ERR_NOMEM : RT_ERR_LOAD,
                       "%s: embedded wasm: %s", file_name(path), we.msg);
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
        if (m->desc->callconv == AWSM_CALLCONV_TAIL)
            m->type_ids[i] |= AWSM_TYPE_ID_TAILCC;
        if (m->desc->flags & AWSM_DESC_EXCEPTIONS)
            m->type_ids[i] |= AWSM_TYPE_ID_EXN;
    }
    return 0;
}

/* ===== The file ========================================================= */

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "of an unknown kind";
}

/* O_NONBLOCK: opening a FIFO without a writer would wait for one. The
 * descriptor's own fstat, not the path's, so that what is checked is
 * what was opened. */
int rt_module_file_open(const char *path, uint64_t *size, struct rt_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rt_fail(err, RT_ERR_LOAD, "cannot open %s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rt_fail(err, RT_ERR_LOAD, "cannot open %s: %s", path,
                       strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rt_fail(err, RT_ERR_LOAD, "%s: not a regular file (%s)", path,
                       file_kind(st.st_mode));
    }
    if ((uint64_t)st.st_size > RT_MODULE_FILE_MAX) {
        close(fd);
        return rt_fail(err, RT_ERR_LOAD, "%s: %llu MiB is larger than the "
                       "%llu MiB limit for a module", path,
                       (unsigned long long)((st.st_size + MIB - 1) / MIB),
                       (unsigned long long)(RT_MODULE_FILE_MAX / MIB));
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* ===== ELF checks before dlopen ========================================= */

/* n bytes at off, which the caller has checked to lie inside the file. */
static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;            /* the file shrank */
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

static int truncated(struct rt_error *err, const char *name, const char *what,
                     uint64_t end, uint64_t size)
{
    return rt_fail(err, RT_ERR_LOAD, "%s: truncated shared object: %s ends at "
                   "byte %llu but the file has %llu bytes (recompile it with "
                   "awsmc)", name, what, (unsigned long long)end,
                   (unsigned long long)size);
}

/* [off, off + n*entsize) as an end offset, or UINT64_MAX on overflow. */
static uint64_t table_end(uint64_t off, uint64_t n, uint64_t entsize)
{
    if (entsize != 0 && n > (UINT64_MAX - off) / entsize)
        return UINT64_MAX;
    return off + n * entsize;
}

static int check_elf_header(const Elf64_Ehdr *eh, const char *name,
                            struct rt_error *err)
{
    const unsigned char *id = eh->e_ident;
    if (id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != HOST_ELF_DATA)
        return rt_fail(err, RT_ERR_LOAD, "%s: not a 64-bit ELF object of this "
                       "host's byte order (recompile it with awsmc)", name);
    if (eh->e_machine != HOST_ELF_MACHINE)
        return rt_fail(err, RT_ERR_LOAD, "%s: ELF object for machine %u but "
                       "this host is %u (recompile it with awsmc here)", name,
                       eh->e_machine, HOST_ELF_MACHINE);
    if (eh->e_type != ET_DYN)
        return rt_fail(err, RT_ERR_LOAD, "%s: an ELF file of type %u, not a "
                       "shared object", name, eh->e_type);
    if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM ||
        eh->e_phentsize != sizeof(Elf64_Phdr))
        return rt_fail(err, RT_ERR_LOAD, "%s: ELF shared object with %u program "
                       "headers of %u bytes: not built by awsmc", name,
                       eh->e_phnum, eh->e_phentsize);
    return 0;
}

/* Every segment's bytes in the file (PT_LOAD ones are what dlopen maps;
 * the others lie inside those in a sane object), and the program header
 * table itself. */
static int check_elf_segments(int fd, const Elf64_Ehdr *eh, uint64_t size,
                              const char *name, struct rt_error *err)
{
    uint64_t end = table_end(eh->e_phoff, eh->e_phnum, sizeof(Elf64_Phdr));
    if (end > size)
        return truncated(err, name, "the program header table", end, size);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, eh->e_phoff + i * sizeof ph) != 0)
            return rt_fail(err, RT_ERR_LOAD, "%s: cannot read program header "
                           "%u: %s", name, i, strerror(errno));
        if (ph.p_filesz == 0)
            continue;
        end = table_end(ph.p_offset, 1, ph.p_filesz);
        if (end > size) {
            char what[32];
            snprintf(what, sizeof what, "segment %u", i);
            return truncated(err, name, what, end, size);
        }
    }
    return 0;
}

/* dlopen never reads the section headers, but a truncated file loses
 * them first (the linker puts them last): a clear sign worth a message. */
static int check_elf_sections(const Elf64_Ehdr *eh, uint64_t size,
                              const char *name, struct rt_error *err)
{
    if (eh->e_shoff == 0)
        return 0;
    if (eh->e_shentsize != sizeof(Elf64_Shdr))
        return rt_fail(err, RT_ERR_LOAD, "%s: ELF section headers of %u bytes: "
                       "not built by awsmc", name, eh->e_shentsize);
    /* e_shnum 0 with a table: the count is in entry 0, which must exist. */
    uint64_t n = eh->e_shnum != 0 ? eh->e_shnum : 1;
    uint64_t end = table_end(eh->e_shoff, n, sizeof(Elf64_Shdr));
    if (end > size)
        return truncated(err, name, "the section header table", end, size);
    return 0;
}

static int check_elf(int fd, uint64_t size, const char *name,
                     struct rt_error *err)
{
    Elf64_Ehdr eh;
    size_t head = size < sizeof eh ? (size_t)size : sizeof eh;
    memset(&eh, 0, sizeof eh);
    if (read_at(fd, &eh, head, 0) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: cannot read: %s", name,
                       strerror(errno));
    if (head < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return rt_fail(err, RT_ERR_LOAD, "%s: not an ELF shared object", name);
    if (head < sizeof eh)
        return truncated(err, name, "the ELF header", sizeof eh, size);
    if (check_elf_header(&eh, name, err) != 0 ||
        check_elf_segments(fd, &eh, size, name, err) != 0)
        return -1;
    return check_elf_sections(&eh, size, name, err);
}

static int check_so_file(const char *path, struct rt_error *err)
{
    uint64_t size;
    int fd = rt_module_file_open(path, &size, err);
    if (fd < 0)
        return -1;
    int rc = check_elf(fd, size, file_name(path), err);
    close(fd);
    return rc;
}

/* ===== Loading ========================================================== */

/* dlopen searches the library path for a name without a slash: "app.so"
 * must mean the file just checked, ./app.so. */
static void *dlopen_file(const char *path)
{
    char local[4096];
    if (strchr(path, '/') == NULL &&
        snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
        path = local;
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static int open_so(const char *path, struct rt_module *m, struct rt_error *err)
{
    if (check_so_file(path, err) != 0)
        return -1;
    m->dl = dlopen_file(path);
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

static int load(const char *so_path, const uint8_t *module_hash,
                struct rt_module **out, struct rt_error *err)
{
    *out = NULL;
    struct rt_module *m = calloc(1, sizeof *m);
    if (m == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->shell_lock, NULL);
    if (open_so(so_path, m, err) != 0 || check_desc(so_path, m->desc, err) != 0 ||
        check_hash(so_path, m->desc, module_hash, err) != 0 ||
        decode_wasm(so_path, m, err) != 0 || canonical_types(m, err) != 0 ||
        ((rt_code_map_build(m) != 0 || rt_module_prepare(m) != 0) &&
         rt_fail(err, RT_ERR_NOMEM, "out of memory") != 0)) {
        rt_module_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int rt_module_load(const char *so_path, struct rt_module **out,
                   struct rt_error *err)
{
    return load(so_path, NULL, out, err);
}

int rt_module_load_from(const char *so_path, const uint8_t hash[32],
                        struct rt_module **out, struct rt_error *err)
{
    return load(so_path, hash, out, err);
}

void rt_module_free(struct rt_module *m)
{
    if (m == NULL)
        return;
    rt_module_release(m);
    pthread_mutex_destroy(&m->shell_lock);
    if (m->wasm != NULL)
        wm_module_free(m->wasm);
    free(m->type_ids);
    free(atomic_load(&m->link_cache));
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

bool rt_module_interruptible(const struct rt_module *m)
{
    return (m->desc->flags & AWSM_DESC_POLLS) != 0;
}
