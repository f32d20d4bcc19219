/*
 * tests/wasi/escape.c - attempts to leave the preopened directory, each of
 * which must fail with ENOTCAPABLE (and change nothing outside: run.sh
 * checks the host tree afterwards).
 *
 * run.sh's tree:  ROOT/outside.txt        "SECRET"   (never reachable)
 *                 ROOT/outdir/            a directory outside
 *                 ROOT/sandbox/           preopened as /sandbox (fd 3)
 *                 ROOT/sandbox/sub/inner.txt
 *                 ROOT/sandbox/hostlink -> /etc           (made by the host)
 *                 ROOT/sandbox/hostup -> ../outside.txt   (made by the host)
 *                 ROOT/sandbox/hostproc -> /proc/self/root
 *                 ROOT/sandbox/dangle -> ../created_outside.txt (missing)
 *                 ROOT/sandbox/dangleabs -> ROOT/created_abs.txt (missing)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define NOTCAP __WASI_ERRNO_NOTCAPABLE

static int32_t open_rel(int dirfd, const char *path, int32_t lookup)
{
    int fd;
    int32_t e = open_at(dirfd, path, 0, RIGHTS_RO, lookup, &fd);
    if (e == 0)
        close(fd);
    return e;
}

static int32_t open_trunc(const char *path)
{
    int fd;
    int32_t e = open_at(SANDBOX_FD, path, __WASI_OFLAGS_TRUNC,
                        RIGHTS_RW, 1, &fd);
    if (e == 0)
        close(fd);
    return e;
}

#define P(s) PTR(s), (uint32_t)strlen(s)

static void test_open(void)
{
    CHECK_ERR("open ../outside.txt", NOTCAP,
              open_rel(SANDBOX_FD, "../outside.txt", 1));
    CHECK_ERR("open /etc/passwd (absolute)", NOTCAP,
              open_rel(SANDBOX_FD, "/etc/passwd", 1));
    CHECK_ERR("open sub/../../outside.txt", NOTCAP,
              open_rel(SANDBOX_FD, "sub/../../outside.txt", 1));
    CHECK_ERR("open sub/../sub/inner.txt stays inside", 0,
              open_rel(SANDBOX_FD, "sub/../sub/inner.txt", 1));
    CHECK_ERR("open ..", NOTCAP, open_rel(SANDBOX_FD, "..", 1));
    CHECK_ERR("open host symlink to /etc", NOTCAP,
              open_rel(SANDBOX_FD, "hostlink/passwd", 1));
    CHECK_ERR("open host symlink to /etc itself", NOTCAP,
              open_rel(SANDBOX_FD, "hostlink", 1));
    CHECK_ERR("open host symlink ../outside.txt", NOTCAP,
              open_rel(SANDBOX_FD, "hostup", 1));
    CHECK_ERR("truncate through host symlink", NOTCAP, open_trunc("hostup"));
    CHECK_ERR("open through /proc/self/root", NOTCAP,
              open_rel(SANDBOX_FD, "hostproc/etc/passwd", 1));
    char deep[400] = "sub/";
    for (int i = 0; i < 60; i++)
        strcat(deep, "../");
    strcat(deep, "etc/passwd");
    CHECK_ERR("open many ..", NOTCAP, open_rel(SANDBOX_FD, deep, 1));
    static char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    CHECK_ERR("open too long a path", __WASI_ERRNO_NAMETOOLONG,
              open_rel(SANDBOX_FD, longpath, 1));
    CHECK_ERR("open from stdin as a dir", __WASI_ERRNO_NOTDIR,
              open_rel(0, "etc/passwd", 1));
    CHECK_ERR("open from a closed fd", __WASI_ERRNO_BADF,
              open_rel(1000, "etc/passwd", 1));

    CHECK("libc open /sandbox/../outside.txt",
          open("/sandbox/../outside.txt", O_RDONLY) < 0 &&
          errno == ENOTCAPABLE);
    CHECK("libc open /etc/passwd", open("/etc/passwd", O_RDONLY) < 0 &&
          errno == ENOTCAPABLE);
    CHECK("libc fopen ../outside.txt (relative to /sandbox)",
          fopen("../outside.txt", "r") == NULL);
}

/* A directory fd is a capability of its own: ".." from it is refused even
 * where it would still be inside the preopen. */
static void test_dir_fd(void)
{
    int sub;
    CHECK_ERR("open sub", 0, open_at(SANDBOX_FD, "sub",
              __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 1, &sub));
    CHECK_ERR("open inner from sub", 0, open_rel(sub, "inner.txt", 1));
    CHECK_ERR("open .. from sub", NOTCAP, open_rel(sub, "..", 1));
    CHECK_ERR("open ../sub/inner.txt from sub", NOTCAP,
              open_rel(sub, "../sub/inner.txt", 1));
    close(sub);
}

static void test_symlinks(void)
{
    struct stat st;
    CHECK("lstat host symlink", lstat("/sandbox/hostlink", &st) == 0 &&
          S_ISLNK(st.st_mode));
    CHECK("stat through host symlink", stat("/sandbox/hostlink", &st) < 0 &&
          errno == ENOTCAPABLE);
    CHECK("symlink to /etc refused", symlink("/etc", "/sandbox/abs") < 0 &&
          errno == ENOTCAPABLE);
    CHECK("nothing was created", lstat("/sandbox/abs", &st) < 0 &&
          errno == ENOENT);
    CHECK("symlink to .. is made", symlink("..", "/sandbox/up") == 0);
    CHECK("open up/outside.txt", open("/sandbox/up/outside.txt", O_RDONLY) < 0
          && errno == ENOTCAPABLE);
    CHECK("opendir up", opendir("/sandbox/up") == NULL &&
          errno == ENOTCAPABLE);
    CHECK("deep relative symlink is made",
          symlink("../../../../etc/passwd", "/sandbox/deep") == 0);
    CHECK("open deep", open("/sandbox/deep", O_RDONLY) < 0 &&
          errno == ENOTCAPABLE);
    symlink("c2", "/sandbox/c1");
    symlink("sub/../../outside.txt", "/sandbox/c2");
    CHECK("open a chain of symlinks out", open("/sandbox/c1", O_RDONLY) < 0 &&
          errno == ENOTCAPABLE);
    CHECK("write through a chain", open("/sandbox/c1", O_WRONLY | O_TRUNC) < 0
          && errno == ENOTCAPABLE);
    CHECK("create through up/", open("/sandbox/up/created.txt",
          O_CREAT | O_WRONLY, 0644) < 0 && errno == ENOTCAPABLE);
    CHECK("create through a dangling symlink", open("/sandbox/dangle",
          O_CREAT | O_WRONLY, 0644) < 0 && errno == ENOTCAPABLE);
    CHECK("create through a dangling absolute symlink",
          open("/sandbox/dangleabs", O_CREAT | O_WRONLY, 0644) < 0 &&
          errno == ENOTCAPABLE);
    CHECK("mkdir over a symlink does not follow it",
          mkdir("/sandbox/dangle", 0755) < 0 && errno == EEXIST);
    CHECK_ERR("symlink new name outside", NOTCAP, raw_path_symlink(
              P("sub"), SANDBOX_FD, P("../newlink")));
    CHECK_ERR("symlink absolute target, raw", NOTCAP, raw_path_symlink(
              P("/etc/passwd"), SANDBOX_FD, P("abs2")));
    char buf[64];
    uint32_t used;
    CHECK_ERR("readlink outside", NOTCAP, raw_path_readlink(SANDBOX_FD,
              P("../outdir"), PTR(buf), sizeof buf, PTR(&used)));
    CHECK_ERR("readlink host symlink (reading is fine)", 0,
              raw_path_readlink(SANDBOX_FD, P("hostlink"), PTR(buf),
                                sizeof buf, PTR(&used)));
    CHECK("it says /etc", used == 4 && memcmp(buf, "/etc", 4) == 0);
}

static void test_mutations(void)
{
    CHECK("mkdir ../newdir", mkdir("/sandbox/../newdir", 0755) < 0 &&
          errno == ENOTCAPABLE);
    CHECK_ERR("mkdir sub/../../newdir2", NOTCAP, raw_path_create_directory(
              SANDBOX_FD, P("sub/../../newdir2")));
    CHECK_ERR("mkdir up/newdir3", NOTCAP, raw_path_create_directory(
              SANDBOX_FD, P("up/newdir3")));
    CHECK("unlink ../outside.txt", unlink("/sandbox/../outside.txt") < 0 &&
          errno == ENOTCAPABLE);
    CHECK_ERR("unlink up/outside.txt", NOTCAP, raw_path_unlink_file(
              SANDBOX_FD, P("up/outside.txt")));
    CHECK_ERR("rmdir ../outdir", NOTCAP, raw_path_remove_directory(
              SANDBOX_FD, P("../outdir")));
    CHECK_ERR("rmdir ..", NOTCAP, raw_path_remove_directory(SANDBOX_FD,
              P("..")));
    CHECK_ERR("rmdir up/outdir", NOTCAP, raw_path_remove_directory(
              SANDBOX_FD, P("up/outdir")));
    CHECK("rmdir sub/.. fails", raw_path_remove_directory(SANDBOX_FD,
          P("sub/..")) != 0);
    CHECK_ERR("rename out", NOTCAP, raw_path_rename(SANDBOX_FD,
              P("sub/inner.txt"), SANDBOX_FD, P("../stolen.txt")));
    CHECK_ERR("rename in", NOTCAP, raw_path_rename(SANDBOX_FD,
              P("../outside.txt"), SANDBOX_FD, P("got.txt")));
    CHECK_ERR("rename in through up/", NOTCAP, raw_path_rename(SANDBOX_FD,
              P("up/outside.txt"), SANDBOX_FD, P("got.txt")));
    CHECK_ERR("rename ..", NOTCAP, raw_path_rename(SANDBOX_FD, P(".."),
              SANDBOX_FD, P("x")));
    CHECK_ERR("link in", NOTCAP, raw_path_link(SANDBOX_FD, 0,
              P("../outside.txt"), SANDBOX_FD, P("hl")));
    CHECK_ERR("link in through up/", NOTCAP, raw_path_link(SANDBOX_FD, 0,
              P("up/outside.txt"), SANDBOX_FD, P("hl")));
    CHECK_ERR("link following host symlink", NOTCAP, raw_path_link(
              SANDBOX_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, P("hostup"),
              SANDBOX_FD, P("hl")));
    CHECK_ERR("link out", NOTCAP, raw_path_link(SANDBOX_FD, 0,
              P("sub/inner.txt"), SANDBOX_FD, P("../hl")));
}

static void test_stat_and_times(void)
{
    char st[64];
    CHECK_ERR("filestat ..", NOTCAP, raw_path_filestat_get(SANDBOX_FD, 0,
              P(".."), PTR(st)));
    CHECK_ERR("filestat sub/../..", NOTCAP, raw_path_filestat_get(
              SANDBOX_FD, 1, P("sub/../.."), PTR(st)));
    CHECK_ERR("filestat up (following)", NOTCAP, raw_path_filestat_get(
              SANDBOX_FD, 1, P("up"), PTR(st)));
    CHECK_ERR("filestat up (the link itself)", 0, raw_path_filestat_get(
              SANDBOX_FD, 0, P("up"), PTR(st)));
    CHECK_ERR("filestat .", 0, raw_path_filestat_get(SANDBOX_FD, 0, P("."),
              PTR(st)));
    CHECK_ERR("filestat bad buffer", __WASI_ERRNO_FAULT,
              raw_path_filestat_get(SANDBOX_FD, 0, P("."), BAD_PTR));
    CHECK_ERR("set times ../outside.txt", NOTCAP, raw_path_filestat_set_times(
              SANDBOX_FD, 0, P("../outside.txt"), 0, 0,
              __WASI_FSTFLAGS_MTIM_NOW));
    CHECK_ERR("set times through hostup", NOTCAP,
              raw_path_filestat_set_times(SANDBOX_FD, 1, P("hostup"), 0, 0,
                                          __WASI_FSTFLAGS_MTIM_NOW));
    CHECK_ERR("set times ..", NOTCAP, raw_path_filestat_set_times(
              SANDBOX_FD, 0, P(".."), 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
}

int main(void)
{
    test_open();
    test_dir_fd();
    test_symlinks();
    test_mutations();
    test_stat_and_times();
    return DONE();
}
