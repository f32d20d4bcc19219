/*
 * tests/unit/test_cache.c - cache_module_load: each kind of failure comes
 * back as its own kind (a missing file, a file that is not wasm, an
 * invalid module, a .so that does not load), with a message naming the
 * file; a good module compiles once and is a hit the second time, and an
 * entry that holds another module's code is compiled again. The
 * compiler is the plugin next to the test binary (../lib).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "test.h"

static char dir[] = "/tmp/awsm-cache-test-XXXXXX";

static const char *write_file(const char *name, const void *bytes, size_t n)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, bytes, n) != (ssize_t)n)
        p[0] = '\0';
    if (fd >= 0)
        close(fd);
    return p;
}

/* Load and expect failure of `kind` with the file's name in the message. */
static int load_fails(const char *path, enum cache_error_kind kind)
{
    struct cache_options opt = CACHE_OPTIONS_DEFAULT;
    struct rt_module *m = NULL;
    struct cache_error err = { CACHE_ERR_NONE, "" };
    opt.dir = dir;
    if (cache_module_load(path, &opt, &m, NULL, &err) == 0) {
        rt_module_free(m);
        test_fail(__FILE__, __LINE__, "%s loaded", path);
        return -1;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (err.kind != kind || strstr(err.msg, base) == NULL) {
        test_fail(__FILE__, __LINE__, "%s: kind %d (want %d), \"%s\"", path,
                  err.kind, kind, err.msg);
        return -1;
    }
    return 0;
}

TEST(missing_file)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nothing-here.wasm", dir);
    ASSERT(load_fails(path, CACHE_ERR_FILE) == 0);
}

TEST(not_wasm)
{
    ASSERT(load_fails(write_file("text.wasm", "hello\n", 6), CACHE_ERR_MODULE) == 0);
}

TEST(invalid_module)
{
    /* A function section that declares one function, and no code. */
    static const uint8_t bad[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
                                   1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0 };
    ASSERT(load_fails(write_file("bad.wasm", bad, sizeof bad), CACHE_ERR_MODULE) == 0);
}

TEST(so_that_does_not_load)
{
    ASSERT(load_fails(write_file("junk.so", "not an ELF file", 15), CACHE_ERR_SO) == 0);
}

TEST(compiled_then_hit)
{
    /* (module (func (export "_start"))) */
    static const uint8_t good[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
                                    1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
                                    7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0,
                                    10, 4, 1, 2, 0, 0x0b };
    const char *path = write_file("good.wasm", good, sizeof good);
    struct cache_options opt = CACHE_OPTIONS_DEFAULT;
    struct cache_error err;
    enum cache_result how;
    struct rt_module *m;
    opt.dir = dir;
    for (int i = 0; i < 2; i++) {
        if (cache_module_load(path, &opt, &m, &how, &err) != 0) {
            test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
            return;
        }
        rt_module_free(m);
        ASSERT_EQ_INT(i == 0 ? CACHE_COMPILED : CACHE_HIT, how);
    }
}

/* The one .so in the cache directory that is not `other`, in path. */
static int find_entry(const char *other, char *path, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 3 && strcmp(e->d_name + l - 3, ".so") == 0 &&
            (!other || strstr(other, e->d_name) == NULL)) {
            snprintf(path, len, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n == 1 ? 0 : -1;
}

static int load_how(const char *path, enum cache_result *how)
{
    struct cache_options opt = CACHE_OPTIONS_DEFAULT;
    struct cache_error err;
    struct rt_module *m;
    opt.dir = dir;
    if (cache_module_load(path, &opt, &m, how, &err) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
        return -1;
    }
    rt_module_free(m);
    return 0;
}

TEST(entry_of_another_module_is_compiled_again)
{
    /* Two modules that differ in one byte of their function's body: an
     * entry that holds the other's code (its wasm embedded) must not be
     * a hit. */
    static const uint8_t a[] = { 0, 'a', 's', 'm', 1, 0, 0, 0,
                                 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
                                 7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0,
                                 10, 5, 1, 3, 0, 0x01, 0x0b };
    uint8_t b[sizeof a];
    memcpy(b, a, sizeof a);
    b[sizeof b - 2] = 0x00;             /* nop -> unreachable */
    char cmd[700], so_a[300], so_b[300];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.so", dir);
    ASSERT(system(cmd) == 0);
    enum cache_result how;
    const char *pa = write_file("a.wasm", a, sizeof a);
    ASSERT(load_how(pa, &how) == 0 && how == CACHE_COMPILED);
    ASSERT(find_entry(NULL, so_a, sizeof so_a) == 0);
    const char *pb = write_file("b.wasm", b, sizeof b);
    ASSERT(load_how(pb, &how) == 0 && how == CACHE_COMPILED);
    ASSERT(find_entry(so_a, so_b, sizeof so_b) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", so_b, so_a);
    ASSERT(system(cmd) == 0);
    ASSERT(load_how(pa, &how) == 0);
    ASSERT_EQ_INT(CACHE_COMPILED, how);
    ASSERT(load_how(pa, &how) == 0);
    ASSERT_EQ_INT(CACHE_HIT, how);
}

int main(int argc, char **argv)
{
    if (!mkdtemp(dir))
        return 1;
    int rc = test_main(argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
