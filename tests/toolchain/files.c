/*
 * tests/toolchain/files.c - file I/O in preopened directories from an
 * emscripten program. Emscripten 3.1.6's standalone libc has no file
 * system of its own (open() of a path is EPERM, stat and mkdir are
 * JavaScript imports), so paths go through the WASI calls its <wasi/api.h>
 * declares; the descriptors they give are then used with the libc:
 * read, write, writev, lseek, close, and fdopen + fgets / fputs.
 *
 * Prints what it sees, one fact a line, for run.sh to compare exactly;
 * errors as "errno N (name)". run.sh's tree:
 *
 *   ROOT/sandbox/input.txt   "first line\nsecond line\n", preopened as
 *                            /sandbox
 *   ROOT/other/              preopened as /other
 *
 * and what the program leaves: sandbox/made/kept.txt holding
 * "hello, EMSCRIPTEN\n", other/note.txt holding "a note\n"; nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wasi/api.h>

#define R(x) __WASI_RIGHTS_##x
#define FILE_RIGHTS                                                        \
    (R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL) |                  \
     R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_SIZE) | R(FD_DATASYNC) |       \
     R(FD_SYNC) | R(FD_FDSTAT_SET_FLAGS))
#define DIR_RIGHTS                                                         \
    (R(FD_READDIR) | R(PATH_OPEN) | R(PATH_CREATE_FILE) |                  \
     R(PATH_CREATE_DIRECTORY) | R(PATH_FILESTAT_GET) |                     \
     R(PATH_UNLINK_FILE) | R(PATH_REMOVE_DIRECTORY) |                      \
     R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) | R(FD_FILESTAT_GET))

static __wasi_fd_t sandbox = (__wasi_fd_t)-1, other = (__wasi_fd_t)-1;

static const char *errname(int e)
{
    switch (e) {
    case __WASI_ERRNO_SUCCESS: return "success";
    case __WASI_ERRNO_BADF: return "badf";
    case __WASI_ERRNO_EXIST: return "exist";
    case __WASI_ERRNO_INVAL: return "inval";
    case __WASI_ERRNO_ISDIR: return "isdir";
    case __WASI_ERRNO_NOENT: return "noent";
    case __WASI_ERRNO_NOTDIR: return "notdir";
    case __WASI_ERRNO_NOTEMPTY: return "notempty";
    case __WASI_ERRNO_NOTCAPABLE: return "notcapable";
    case __WASI_ERRNO_PERM: return "perm";
    default: return "?";
    }
}

/* "what: 0" or "what: errno N (name)". */
static void said(const char *what, int e)
{
    if (e == 0)
        printf("%s: 0\n", what);
    else
        printf("%s: errno %d (%s)\n", what, e, errname(e));
}

static const char *ftype(__wasi_filetype_t t)
{
    switch (t) {
    case __WASI_FILETYPE_DIRECTORY: return "directory";
    case __WASI_FILETYPE_REGULAR_FILE: return "regular file";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symlink";
    case __WASI_FILETYPE_CHARACTER_DEVICE: return "character device";
    default: return "other";
    }
}

static int open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                   __wasi_fd_t *fd)
{
    __wasi_rights_t base =
        (oflags & __WASI_OFLAGS_DIRECTORY) ? DIR_RIGHTS : FILE_RIGHTS;
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                            strlen(path), oflags, base, base | FILE_RIGHTS,
                            0, fd);
}

/* The preopens, from fd 3 up to the first EBADF. */
static void preopens(void)
{
    for (__wasi_fd_t fd = 3;; fd++) {
        __wasi_prestat_t ps;
        int e = __wasi_fd_prestat_get(fd, &ps);
        if (e == __WASI_ERRNO_BADF)
            break;
        if (e != 0 || ps.pr_type != __WASI_PREOPENTYPE_DIR) {
            said("fd_prestat_get", e);
            break;
        }
        char name[256] = {0};
        size_t len = ps.u.dir.pr_name_len;
        if (len >= sizeof name ||
            (e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len)) != 0) {
            said("fd_prestat_dir_name", e ? e : __WASI_ERRNO_NAMETOOLONG);
            break;
        }
        __wasi_fdstat_t st;
        e = __wasi_fd_fdstat_get(fd, &st);
        printf("preopen %u: %s, %s\n", (unsigned)fd, name,
               e ? "fdstat failed" : ftype(st.fs_filetype));
        if (strcmp(name, "/sandbox") == 0)
            sandbox = fd;
        if (strcmp(name, "/other") == 0)
            other = fd;
    }
}

/* The host's file, with stdio over the WASI descriptor. */
static void read_input(void)
{
    __wasi_fd_t fd;
    int e = open_at(sandbox, "input.txt", 0, &fd);
    said("open input.txt", e);
    if (e)
        return;
    FILE *f = fdopen((int)fd, "r");
    if (!f) {
        printf("fdopen failed\n");
        return;
    }
    char line[64];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        printf("input: %s\n", line);
    }
    printf("input at eof: %s\n", feof(f) ? "yes" : "no");
    printf("fclose: %d\n", fclose(f));
}

/* Write, seek, read back, pwrite/pread, truncate, stat: made/out.txt. */
static void write_file(void)
{
    __wasi_fd_t wfd;
    int e = open_at(sandbox, "made/out.txt",
                    __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, &wfd);
    said("create made/out.txt", e);
    if (e)
        return;
    int fd = (int)wfd;
    struct iovec iov[3] = {
        {(void *)"hello, ", 7}, {(void *)"emscripten", 10}, {(void *)"\n", 1}};
    printf("writev: %zd\n", writev(fd, iov, 3));
    printf("lseek 0: %lld\n", (long long)lseek(fd, 0, SEEK_SET));
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("read: %zd \"%.*s\"\n", n, (int)(n > 0 ? n - 1 : 0), buf);
    printf("read at eof: %zd\n", read(fd, buf, sizeof buf));

    __wasi_ciovec_t up = {(const uint8_t *)"EMSCRIPTEN", 10};
    __wasi_size_t done = 0;
    e = __wasi_fd_pwrite(wfd, &up, 1, 7, &done);
    printf("pwrite at 7: %d, %u bytes\n", e, (unsigned)done);
    __wasi_filesize_t pos = 99;
    e = __wasi_fd_tell(wfd, &pos);
    printf("tell after pwrite: %d, %llu\n", e, (unsigned long long)pos);
    printf("write tail: %zd\n", write(fd, "bye\n", 4));

    memset(buf, 0, sizeof buf);
    __wasi_iovec_t in = {(uint8_t *)buf, sizeof buf - 1};
    e = __wasi_fd_pread(wfd, &in, 1, 0, &done);
    printf("pread at 0: %d, %u bytes\n", e, (unsigned)done);
    fputs(buf, stdout);

    __wasi_filestat_t st;
    e = __wasi_fd_filestat_get(wfd, &st);
    printf("fd_filestat_get: %d, %s, size %llu\n", e, ftype(st.filetype),
           (unsigned long long)st.size);
    said("fd_filestat_set_size 18", __wasi_fd_filestat_set_size(wfd, 18));
    e = __wasi_fd_filestat_get(wfd, &st);
    printf("size now %llu\n", (unsigned long long)st.size);
    printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
    printf("close: %d\n", close(fd));

    /* A closed descriptor is gone. */
    __wasi_ciovec_t x = {(const uint8_t *)"x", 1};
    said("fd_write on the closed fd", __wasi_fd_write(wfd, &x, 1, &done));
}

/* A file larger than any buffer: 1 MiB in 4 KiB writes, read back. */
static void big_file(void)
{
    static unsigned char chunk[4096], back[65536];
    __wasi_fd_t fd;
    int e = open_at(sandbox, "made/big.bin", __WASI_OFLAGS_CREAT, &fd);
    said("create made/big.bin", e);
    if (e)
        return;
    unsigned long sum = 0, sum_back = 0;
    long total = 0;
    for (int i = 0; i < 256; i++) {
        for (int j = 0; j < 4096; j++) {
            chunk[j] = (unsigned char)(i * 31 + j * 7);
            sum = sum * 31 + chunk[j];
        }
        if (write((int)fd, chunk, sizeof chunk) != sizeof chunk)
            break;
        total += sizeof chunk;
    }
    printf("big.bin written: %ld bytes\n", total);
    lseek((int)fd, 0, SEEK_SET);
    long got = 0;
    ssize_t n;
    while ((n = read((int)fd, back, sizeof back)) > 0) {
        for (ssize_t k = 0; k < n; k++)
            sum_back = sum_back * 31 + back[k];
        got += n;
    }
    printf("big.bin read: %ld bytes, %s\n", got,
           sum == sum_back ? "same bytes" : "DIFFERENT bytes");
    close((int)fd);
}

/* Names in a directory, without . and .., through fd_readdir with a small
 * buffer (so that entries are split across calls and cookies matter). */
static void list(const char *path)
{
    __wasi_fd_t dfd;
    int e = open_at(sandbox, path, __WASI_OFLAGS_DIRECTORY, &dfd);
    if (e) {
        said("open directory", e);
        return;
    }
    char names[64][64];
    int count = 0, calls = 0;
    __wasi_dircookie_t cookie = __WASI_DIRCOOKIE_START;
    uint8_t buf[80];
    for (;;) {
        __wasi_size_t used = 0;
        e = __wasi_fd_readdir(dfd, buf, sizeof buf, cookie, &used);
        calls++;
        if (e || calls > 1000)
            break;
        size_t off = 0;
        int whole = 0;
        while (off + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof d);
            if (off + sizeof d + d.d_namlen > used)
                break;                     /* cut off: ask again from here */
            char name[64];
            size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
            memcpy(name, buf + off + sizeof d, len);
            name[len] = '\0';
            if (strcmp(name, ".") && strcmp(name, "..") && count < 64)
                snprintf(names[count++], sizeof names[0], "%s%s", name,
                         d.d_type == __WASI_FILETYPE_DIRECTORY ? "/" : "");
            off += sizeof d + d.d_namlen;
            cookie = d.d_next;
            whole++;
        }
        if (used < sizeof buf)
            break;                         /* the end of the directory */
        if (!whole) {
            printf("readdir: an entry larger than the buffer\n");
            break;
        }
    }
    qsort(names, count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    printf("ls %s:", path);
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("%s\n", e ? " (readdir failed)" : "");
    close((int)dfd);
}

static void stat_path(const char *path)
{
    __wasi_filestat_t st;
    int e = __wasi_path_filestat_get(sandbox, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                     path, strlen(path), &st);
    char what[128];
    snprintf(what, sizeof what, "stat %s", path);
    if (e)
        said(what, e);
    else if (st.filetype == __WASI_FILETYPE_DIRECTORY)
        printf("%s: directory\n", what);
    else
        printf("%s: %s, size %llu\n", what, ftype(st.filetype),
               (unsigned long long)st.size);
}

static int mkdir_at(const char *path)
{
    return __wasi_path_create_directory(sandbox, path, strlen(path));
}

static int unlink_at(const char *path)
{
    return __wasi_path_unlink_file(sandbox, path, strlen(path));
}

static int rmdir_at(const char *path)
{
    return __wasi_path_remove_directory(sandbox, path, strlen(path));
}

int main(void)
{
    preopens();
    if (sandbox == (__wasi_fd_t)-1 || other == (__wasi_fd_t)-1) {
        printf("no /sandbox or /other preopen\n");
        return 1;
    }
    read_input();

    said("mkdir made", mkdir_at("made"));
    said("mkdir made again", mkdir_at("made"));
    write_file();
    stat_path("made/out.txt");
    stat_path("made");
    big_file();
    stat_path("made/big.bin");

    /* Many entries, listed through the small buffer, then removed. */
    said("mkdir made/many", mkdir_at("made/many"));
    int made = 0;
    for (int i = 0; i < 20; i++) {
        char name[32];
        __wasi_fd_t fd;
        snprintf(name, sizeof name, "made/many/file-%02d.txt", i);
        if (open_at(sandbox, name, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
                    &fd) == 0) {
            made++;
            close((int)fd);
        }
    }
    printf("created %d files in made/many\n", made);
    list("made/many");
    list("made");
    said("rmdir made/many (not empty)", rmdir_at("made/many"));
    int removed = 0;
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "made/many/file-%02d.txt", i);
        removed += unlink_at(name) == 0;
    }
    printf("removed %d files\n", removed);
    said("rmdir made/many", rmdir_at("made/many"));

    /* Rename, exclusive create, unlink, missing files. */
    said("rename made/out.txt made/kept.txt",
         __wasi_path_rename(sandbox, "made/out.txt", 12, sandbox,
                            "made/kept.txt", 13));
    stat_path("made/out.txt");
    stat_path("made/kept.txt");
    __wasi_fd_t fd;
    said("create made/kept.txt exclusively",
         open_at(sandbox, "made/kept.txt",
                 __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, &fd));
    said("unlink made/big.bin", unlink_at("made/big.bin"));
    said("unlink made/big.bin again", unlink_at("made/big.bin"));
    said("open missing.txt", open_at(sandbox, "missing.txt", 0, &fd));
    said("open made/kept.txt as a directory",
         open_at(sandbox, "made/kept.txt", __WASI_OFLAGS_DIRECTORY, &fd));
    said("open ../escape.txt",
         open_at(sandbox, "../escape.txt", __WASI_OFLAGS_CREAT, &fd));
    said("rmdir made (not empty)", rmdir_at("made"));
    list("made");
    list(".");

    /* The second preopen, with stdio writing. */
    int e = __wasi_path_open(other, 0, "note.txt", 8,
                             __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                             FILE_RIGHTS, 0, 0, &fd);
    said("create /other/note.txt", e);
    if (e == 0) {
        FILE *f = fdopen((int)fd, "w");
        if (f) {
            fputs("a note\n", f);
            printf("fclose note: %d\n", fclose(f));
        }
    }
    return 0;
}
