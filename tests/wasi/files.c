/*
 * tests/wasi/files.c - file I/O in the preopened directory /sandbox:
 * create, write, seek, read, positioned I/O, stat, truncate, allocate,
 * times, flags, readdir (with cookies), rename, unlink, mkdir/rmdir,
 * symlinks, hard links, and the errors each of them owes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define W "/sandbox/w"

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_create_read_write(void)
{
    char buf[32] = {0};
    int fd = open(W "/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK("open O_CREAT", fd >= 0);
    CHECK("write", write(fd, "hello world", 11) == 11);
    CHECK("seek to start", lseek(fd, 0, SEEK_SET) == 0);
    CHECK("read", read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("seek cur", lseek(fd, 0, SEEK_CUR) == 5);
    __wasi_filesize_t pos = 0;
    CHECK_ERR("fd_tell", 0, __wasi_fd_tell(fd, &pos));
    CHECK("fd_tell value", pos == 5);
    CHECK("seek end", lseek(fd, 0, SEEK_END) == 11);
    CHECK("seek before start fails", lseek(fd, -100, SEEK_SET) < 0 &&
          errno == EINVAL);
    __wasi_filesize_t np;
    CHECK_ERR("fd_seek bad whence", __WASI_ERRNO_INVAL,
              __wasi_fd_seek(fd, 0, 3, &np));
    CHECK("read at EOF", read(fd, buf, 5) == 0);
    CHECK("pread", pread(fd, buf, 5, 6) == 5 && memcmp(buf, "world", 5) == 0);
    CHECK("pwrite", pwrite(fd, "W", 1, 6) == 1);
    CHECK("pread after pwrite", pread(fd, buf, 5, 6) == 5 &&
          memcmp(buf, "World", 5) == 0);
    CHECK("pwrite leaves the offset", lseek(fd, 0, SEEK_CUR) == 11);
    struct stat st;
    CHECK("fstat", fstat(fd, &st) == 0 && st.st_size == 11 &&
          S_ISREG(st.st_mode));
    struct stat st2;
    CHECK("stat by path, same inode", stat(W "/a.txt", &st2) == 0 &&
          st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
    CHECK("ftruncate shrink", ftruncate(fd, 4) == 0 &&
          fstat(fd, &st) == 0 && st.st_size == 4);
    CHECK("ftruncate grow", ftruncate(fd, 100) == 0 &&
          fstat(fd, &st) == 0 && st.st_size == 100);
    CHECK_ERR("fd_allocate", 0, __wasi_fd_allocate(fd, 0, 200));
    CHECK("allocate grew the file", fstat(fd, &st) == 0 && st.st_size == 200);
    CHECK_ERR("fd_allocate zero length", __WASI_ERRNO_INVAL,
              __wasi_fd_allocate(fd, 0, 0));
    CHECK_ERR("fd_advise", 0, __wasi_fd_advise(fd, 0, 0,
              __WASI_ADVICE_SEQUENTIAL));
    CHECK_ERR("fd_advise bad advice", __WASI_ERRNO_INVAL,
              __wasi_fd_advise(fd, 0, 0, 99));
    CHECK_ERR("fd_sync", 0, __wasi_fd_sync(fd));
    CHECK_ERR("fd_datasync", 0, __wasi_fd_datasync(fd));
    CHECK("close", close(fd) == 0);
    CHECK_ERR("close twice", __WASI_ERRNO_BADF, __wasi_fd_close(fd));
    CHECK("read closed fd", read(fd, buf, 1) < 0 && errno == EBADF);
}

static void test_times_and_flags(void)
{
    struct stat st;
    int fd = open(W "/t.txt", O_CREAT | O_RDWR, 0644);
    __wasi_timestamp_t at = 1000000000ull * 1000000 + 5;
    __wasi_timestamp_t mt = 1000000000ull * 2000000 + 7;
    CHECK_ERR("fd_filestat_set_times", 0, __wasi_fd_filestat_set_times(
              fd, at, mt, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    CHECK("times set", fstat(fd, &st) == 0 &&
          st.st_mtim.tv_sec == 2000000 && st.st_mtim.tv_nsec == 7 &&
          st.st_atim.tv_sec == 1000000);
    CHECK_ERR("set_times value and now", __WASI_ERRNO_INVAL,
              __wasi_fd_filestat_set_times(fd, at, mt, __WASI_FSTFLAGS_ATIM |
                                           __WASI_FSTFLAGS_ATIM_NOW));
    const char *p = "w/t.txt";
    CHECK_ERR("path_filestat_set_times", 0, raw_path_filestat_set_times(
              SANDBOX_FD, 1, PTR(p), 7, 0, 1000000000ull * 3000000,
              __WASI_FSTFLAGS_MTIM));
    CHECK("path times set", stat(W "/t.txt", &st) == 0 &&
          st.st_mtim.tv_sec == 3000000 && st.st_atim.tv_sec == 1000000);
    CHECK_ERR("set_times now", 0, __wasi_fd_filestat_set_times(fd, 0, 0,
              __WASI_FSTFLAGS_MTIM_NOW));
    CHECK("now is recent", fstat(fd, &st) == 0 &&
          st.st_mtim.tv_sec > 1577836800);

    __wasi_fdstat_t fs;
    CHECK_ERR("fdstat_get", 0, __wasi_fd_fdstat_get(fd, &fs));
    CHECK("fdstat regular file", fs.fs_filetype ==
          __WASI_FILETYPE_REGULAR_FILE && fs.fs_flags == 0);
    CHECK("fdstat rights", (fs.fs_rights_base & __WASI_RIGHTS_FD_READ) &&
          (fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
    write(fd, "0123456789", 10);
    CHECK_ERR("set_flags append", 0,
              __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
    CHECK_ERR("fdstat_get after", 0, __wasi_fd_fdstat_get(fd, &fs));
    CHECK("append flag shows", fs.fs_flags == __WASI_FDFLAGS_APPEND);
    lseek(fd, 0, SEEK_SET);
    write(fd, "AB", 2);
    char buf[16] = {0};
    CHECK("append wrote at the end", pread(fd, buf, 12, 0) == 12 &&
          memcmp(buf, "0123456789AB", 12) == 0);
    CHECK_ERR("set_flags unknown bit", __WASI_ERRNO_INVAL,
              __wasi_fd_fdstat_set_flags(fd, 0x100));
    CHECK_ERR("set_flags sync", __WASI_ERRNO_NOTSUP,
              __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_SYNC));

    CHECK_ERR("drop write right", 0, __wasi_fd_fdstat_set_rights(fd,
              fs.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE,
              fs.fs_rights_inheriting));
    uint32_t iov[2] = {PTR("x"), 1}, n;
    CHECK_ERR("write without the right", __WASI_ERRNO_NOTCAPABLE,
              raw_fd_write(fd, PTR(iov), 1, PTR(&n)));
    CHECK("libc write without the right", write(fd, "x", 1) < 0 &&
          errno == EBADF);          /* wasi-libc's mapping of NOTCAPABLE */
    CHECK_ERR("rights cannot grow", __WASI_ERRNO_NOTCAPABLE,
              __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base,
                                          fs.fs_rights_inheriting));
    close(fd);
    fd = open(W "/t.txt", O_RDONLY);
    CHECK("write to O_RDONLY fd fails", write(fd, "x", 1) < 0 &&
          (errno == ENOTCAPABLE || errno == EBADF));
    close(fd);
    fd = open(W "/t.txt", O_WRONLY);
    CHECK("read from O_WRONLY fd fails", read(fd, buf, 1) < 0 &&
          (errno == ENOTCAPABLE || errno == EBADF));
    close(fd);
}

/* Entries read with raw fd_readdir and a small buffer, resuming from the
 * d_next of the last complete entry each time. */
static int readdir_count(int dirfd, size_t bufsize)
{
    static char buf[4096];
    __wasi_dircookie_t cookie = 0;
    int count = 0;
    for (int rounds = 0; rounds < 1000; rounds++) {
        uint32_t used = 0;
        if (raw_fd_readdir(dirfd, PTR(buf), (uint32_t)bufsize, cookie,
                           PTR(&used)) != 0)
            return -1;
        size_t at = 0;
        int got = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            if (at + sizeof d + d.d_namlen > used)
                break;
            at += sizeof d + d.d_namlen;
            cookie = d.d_next;
            count++;
            got++;
        }
        if (used < bufsize)
            return count;
        if (got == 0)
            return -2;          /* buffer too small for one entry */
    }
    return -3;
}

static void test_readdir(void)
{
    write_file(W "/r/b.txt", "b");
    write_file(W "/r/c.txt", "c");
    mkdir(W "/r/d", 0755);
    DIR *dir = opendir(W "/r");
    CHECK("opendir", dir != NULL);
    int seen = 0, n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        n++;
        if (strcmp(e->d_name, "b.txt") == 0 && e->d_type == DT_REG)
            seen |= 1;
        if (strcmp(e->d_name, "c.txt") == 0)
            seen |= 2;
        if (strcmp(e->d_name, "d") == 0 && e->d_type == DT_DIR)
            seen |= 4;
        if (strcmp(e->d_name, ".") == 0)
            seen |= 8;
    }
    CHECK("readdir sees every entry", seen == 15 && n == 5);
    if (dir)
        closedir(dir);
    int fd = open(W "/r", O_RDONLY | O_DIRECTORY);
    CHECK("readdir by cookies, 40-byte buffer", readdir_count(fd, 40) == 5);
    CHECK("readdir by cookies, big buffer", readdir_count(fd, 4096) == 5);
    uint32_t used = 1;
    char small[8];
    CHECK_ERR("readdir zero-length buffer", 0,
              raw_fd_readdir(fd, PTR(small), 0, 0, PTR(&used)));
    CHECK("nothing written", used == 0);
    CHECK_ERR("readdir bad buffer", __WASI_ERRNO_FAULT,
              raw_fd_readdir(fd, BAD_PTR, 64, 0, PTR(&used)));
    close(fd);
    fd = open(W "/r/b.txt", O_RDONLY);
    CHECK_ERR("readdir on a file", __WASI_ERRNO_NOTDIR,
              raw_fd_readdir(fd, PTR(small), 8, 0, PTR(&used)));
    close(fd);
}

static void test_names(void)
{
    struct stat st;
    CHECK("mkdir", mkdir(W "/m", 0755) == 0);
    CHECK("mkdir existing", mkdir(W "/m", 0755) < 0 && errno == EEXIST);
    write_file(W "/m/f", "f");
    CHECK("rmdir non-empty", rmdir(W "/m") < 0 && errno == ENOTEMPTY);
    CHECK("rmdir a file", rmdir(W "/m/f") < 0 && errno == ENOTDIR);
    CHECK("unlink a dir", unlink(W "/m") < 0 &&
          (errno == EISDIR || errno == EPERM));
    CHECK("rename file", rename(W "/m/f", W "/g") == 0);
    CHECK("old name gone", stat(W "/m/f", &st) < 0 && errno == ENOENT);
    CHECK("new name there", stat(W "/g", &st) == 0 && st.st_size == 1);
    write_file(W "/h", "hh");
    CHECK("rename over a file", rename(W "/h", W "/g") == 0 &&
          stat(W "/g", &st) == 0 && st.st_size == 2);
    CHECK("rename missing", rename(W "/nope", W "/x") < 0 &&
          errno == ENOENT);
    CHECK("rmdir empty", rmdir(W "/m") == 0);
    CHECK("rmdir missing", rmdir(W "/m") < 0 && errno == ENOENT);
    CHECK("unlink", unlink(W "/g") == 0);
    CHECK("unlink missing", unlink(W "/g") < 0 && errno == ENOENT);
    const char *p = "w/x/";
    write_file(W "/x", "x");
    CHECK_ERR("unlink with trailing slash", __WASI_ERRNO_NOTDIR,
              raw_path_unlink_file(SANDBOX_FD, PTR(p), 4));
    mkdir(W "/n", 0755);
    CHECK("rename dir with trailing slashes", rename(W "/n/", W "/n2/") == 0 &&
          stat(W "/n2", &st) == 0 && S_ISDIR(st.st_mode));
}

static void test_links(void)
{
    struct stat st;
    char buf[64] = {0};
    write_file(W "/target.txt", "target!");
    CHECK("symlink", symlink("target.txt", W "/sl") == 0);
    CHECK("symlink existing", symlink("x", W "/sl") < 0 && errno == EEXIST);
    ssize_t n = readlink(W "/sl", buf, sizeof buf);
    CHECK("readlink", n == 10 && memcmp(buf, "target.txt", 10) == 0);
    CHECK("readlink truncates", readlink(W "/sl", buf, 4) == 4 &&
          memcmp(buf, "targ", 4) == 0);
    CHECK("readlink non-link", readlink(W "/target.txt", buf, 64) < 0 &&
          errno == EINVAL);
    CHECK("stat follows", stat(W "/sl", &st) == 0 && S_ISREG(st.st_mode) &&
          st.st_size == 7);
    CHECK("lstat does not", lstat(W "/sl", &st) == 0 && S_ISLNK(st.st_mode));
    int fd = open(W "/sl", O_RDONLY);
    CHECK("open through symlink", fd >= 0 && read(fd, buf, 7) == 7 &&
          memcmp(buf, "target!", 7) == 0);
    close(fd);
    CHECK_ERR("open symlink nofollow", __WASI_ERRNO_LOOP,
              open_at(SANDBOX_FD, "w/sl", 0, RIGHTS_RO, 0, &fd));
    symlink("loop2", W "/loop1");
    symlink("loop1", W "/loop2");
    CHECK("symlink loop", open(W "/loop1", O_RDONLY) < 0 && errno == ELOOP);
    CHECK("hard link", link(W "/target.txt", W "/hard") == 0);
    CHECK("nlink is 2", stat(W "/hard", &st) == 0 && st.st_nlink == 2);
    CHECK("hard link existing", link(W "/target.txt", W "/hard") < 0 &&
          errno == EEXIST);
    const char *o = "w/sl", *nw = "w/hard2";
    CHECK_ERR("link following a symlink", 0, raw_path_link(SANDBOX_FD,
              __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, PTR(o), 4, SANDBOX_FD,
              PTR(nw), 7));
    CHECK("followed link is the file", lstat(W "/hard2", &st) == 0 &&
          S_ISREG(st.st_mode) && st.st_nlink == 3);
    CHECK("unlink a symlink", unlink(W "/sl") == 0 &&
          stat(W "/target.txt", &st) == 0);
    mkdir(W "/sd", 0755);
    CHECK("symlink to a dir", symlink("sd", W "/sdl") == 0);
    CHECK("create through a dir symlink",
          write_file(W "/sdl/inner", "i") == 0 &&
          stat(W "/sd/inner", &st) == 0);
}

static void test_open_errors(void)
{
    int fd;
    CHECK("open missing", open(W "/missing", O_RDONLY) < 0 && errno == ENOENT);
    write_file(W "/e", "e");
    CHECK("O_EXCL on existing", open(W "/e", O_CREAT | O_EXCL | O_WRONLY,
                                     0644) < 0 && errno == EEXIST);
    CHECK("O_DIRECTORY on a file", open(W "/e", O_RDONLY | O_DIRECTORY) < 0 &&
          errno == ENOTDIR);
    CHECK("open a dir for writing", open(W, O_WRONLY) < 0 &&
          errno == EISDIR);
    CHECK("missing parent", open(W "/no/such", O_CREAT | O_WRONLY, 0644) < 0 &&
          errno == ENOENT);
    CHECK("file as a dir", open(W "/e/x", O_RDONLY) < 0 && errno == ENOTDIR);
    const char *p = "w/e";
    CHECK_ERR("path_open bad path pointer", __WASI_ERRNO_FAULT,
              raw_path_open(SANDBOX_FD, 0, BAD_PTR, 3, 0, RIGHTS_RO, 0, 0,
                            PTR(&fd)));
    CHECK_ERR("path_open bad result pointer", __WASI_ERRNO_FAULT,
              raw_path_open(SANDBOX_FD, 0, PTR(p), 3, 0, RIGHTS_RO, 0, 0,
                            BAD_PTR));
    CHECK_ERR("path_open NUL in path", __WASI_ERRNO_INVAL,
              raw_path_open(SANDBOX_FD, 0, PTR("w/e\0x"), 5, 0, RIGHTS_RO, 0,
                            0, PTR(&fd)));
    CHECK_ERR("path_open empty path", __WASI_ERRNO_NOENT,
              raw_path_open(SANDBOX_FD, 0, PTR(p), 0, 0, RIGHTS_RO, 0, 0,
                            PTR(&fd)));
    CHECK_ERR("path_open bad oflags", __WASI_ERRNO_INVAL,
              raw_path_open(SANDBOX_FD, 0, PTR(p), 3, 0x40, RIGHTS_RO, 0, 0,
                            PTR(&fd)));
    CHECK_ERR("path_open from a bad fd", __WASI_ERRNO_BADF,
              raw_path_open(77, 0, PTR(p), 3, 0, RIGHTS_RO, 0, 0, PTR(&fd)));
    int file = open(W "/e", O_RDONLY);
    CHECK_ERR("path_open from a file fd", __WASI_ERRNO_NOTDIR,
              raw_path_open(file, 0, PTR(p), 3, 0, RIGHTS_RO, 0, 0, PTR(&fd)));
    close(file);
    const char *sub = "w";
    CHECK_ERR("path_open a relative dir", 0, open_at(SANDBOX_FD, sub,
              __WASI_OFLAGS_DIRECTORY, RIGHTS_RO | __WASI_RIGHTS_PATH_OPEN,
              0, &fd));
    int inner;
    CHECK_ERR("path_open beneath an opened dir", 0,
              open_at(fd, "e", 0, RIGHTS_RO, 0, &inner));
    close(inner);
    close(fd);
    __wasi_fdstat_t pre;
    CHECK_ERR("fdstat of the preopen", 0, __wasi_fd_fdstat_get(SANDBOX_FD, &pre));
    CHECK_ERR("path_open of the preopen itself (\".\") with its own rights", 0,
              raw_path_open(SANDBOX_FD, 0, PTR("."), 1, 0, pre.fs_rights_base,
                            pre.fs_rights_inheriting, 0, PTR(&fd)));
    __wasi_fdstat_t st;
    CHECK("... is a directory",
          __wasi_fd_fdstat_get(fd, &st) == 0 &&
          st.fs_filetype == __WASI_FILETYPE_DIRECTORY);
    close(fd);
    CHECK("O_DIRECTORY with write access is EISDIR, as POSIX has it",
          open(W, O_RDWR | O_DIRECTORY) < 0 && errno == EISDIR);
    CHECK("... and ENOTDIR on a file",
          open(W "/e", O_RDWR | O_DIRECTORY) < 0 && errno == ENOTDIR);
}

static void test_bad_pointers(void)
{
    int fd = open(W "/a.txt", O_RDWR);
    char buf[8];
    uint32_t n;
    uint32_t iov[2] = {PTR(buf), sizeof buf};
    uint32_t bad_iov[2] = {BAD_PTR, 64};
    uint32_t wrap_iov[2] = {0xffffff00u, 0x200};
    CHECK_ERR("fd_read bad iovec array", __WASI_ERRNO_FAULT,
              raw_fd_read(fd, BAD_PTR, 1, PTR(&n)));
    CHECK_ERR("fd_read bad buffer", __WASI_ERRNO_FAULT,
              raw_fd_read(fd, PTR(bad_iov), 1, PTR(&n)));
    CHECK_ERR("fd_read bad nread", __WASI_ERRNO_FAULT,
              raw_fd_read(fd, PTR(iov), 1, BAD_PTR));
    CHECK_ERR("fd_write wrapping buffer", __WASI_ERRNO_FAULT,
              raw_fd_write(fd, PTR(wrap_iov), 1, PTR(&n)));
    CHECK_ERR("fd_write huge iovec count", __WASI_ERRNO_FAULT,
              raw_fd_write(fd, PTR(iov), 0x20000000u, PTR(&n)));
    CHECK_ERR("fd_read good", 0, raw_fd_read(fd, PTR(iov), 1, PTR(&n)));
    close(fd);
    /* A gathered write to stdout: run.sh looks for the line. */
    const char *a = "# gathered ", *b = "write ok\n";
    uint32_t two[4] = {PTR(a), (uint32_t)strlen(a),
                       PTR(b), (uint32_t)strlen(b)};
    fflush(stdout);
    CHECK_ERR("fd_write two iovecs", 0, raw_fd_write(1, PTR(two), 2, PTR(&n)));
    CHECK("wrote both", n == strlen(a) + strlen(b));
}

static void test_renumber(void)
{
    write_file(W "/ra", "AAA");
    write_file(W "/rb", "BBB");
    int a = open(W "/ra", O_RDONLY), b = open(W "/rb", O_RDONLY);
    char buf[4] = {0};
    CHECK_ERR("fd_renumber", 0, __wasi_fd_renumber(a, b));
    __wasi_fdstat_t fs;
    CHECK_ERR("old fd is closed", __WASI_ERRNO_BADF,
              __wasi_fd_fdstat_get(a, &fs));
    CHECK("new fd is the old file", read(b, buf, 3) == 3 &&
          memcmp(buf, "AAA", 3) == 0);
    CHECK_ERR("renumber onto itself", 0, __wasi_fd_renumber(b, b));
    CHECK_ERR("renumber a closed fd", __WASI_ERRNO_BADF,
              __wasi_fd_renumber(a, b));
    CHECK_ERR("renumber onto a closed fd", __WASI_ERRNO_BADF,
              __wasi_fd_renumber(b, 1000));
    close(b);
    int c = open(W "/rb", O_RDONLY);
    CHECK("lowest free fd is reused", c == a || c == b);
    close(c);
}

int main(void)
{
    CHECK("mkdir work dir", mkdir(W, 0755) == 0);
    mkdir(W "/r", 0755);
    test_create_read_write();
    test_times_and_flags();
    test_readdir();
    test_names();
    test_links();
    test_open_errors();
    test_bad_pointers();
    test_renumber();
    return DONE();
}
