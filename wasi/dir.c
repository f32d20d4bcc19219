/*
 * wasi/dir.c - fd_readdir: directory entries as a stream of dirent
 * headers (24 bytes) each followed by its name (no NUL).
 *
 * The cookie is the kernel's own directory offset (getdents64's d_off,
 * which lseek accepts back), so each call is stateless: seek to the
 * cookie, read entries, write as many as fit. The last entry is cut off
 * when the buffer ends; a full buffer tells the guest to call again with
 * the last complete entry's d_next, and bufused < buf_len means the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/internal.h"

#define READDIR_CHUNK 16384     /* host getdents64 buffer, on the heap */

struct readdir_out {
    uint8_t *p;                 /* the guest buffer */
    uint32_t len, used;
};

static uint8_t type_of(int dirfd, const struct dirent64 *d)
{
    struct stat st;
    switch (d->d_type) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN:            /* some file systems leave it to stat */
        if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return wasi__filetype(st.st_mode);
        return WASI_FILETYPE_UNKNOWN;
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

/* Append bytes, cut at the end of the buffer; false once it is full. */
static bool out_put(struct readdir_out *o, const void *src, size_t n)
{
    size_t room = o->len - o->used;
    size_t k = n < room ? n : room;
    memcpy(o->p + o->used, src, k);
    o->used += (uint32_t)k;
    return k == n && o->used < o->len;
}

static bool entry_put(struct readdir_out *o, int dirfd,
                      const struct dirent64 *d)
{
    uint8_t head[WASI_DIRENT_SIZE] = {0};
    size_t namlen = strlen(d->d_name);
    wasi__put_u64(head, (uint64_t)d->d_off);
    wasi__put_u64(head + 8, d->d_ino);
    wasi__put_u32(head + 16, (uint32_t)namlen);
    head[20] = type_of(dirfd, d);
    return out_put(o, head, sizeof head) && out_put(o, d->d_name, namlen);
}

/* Entries from the host fd's current offset until the buffer is full or
 * the directory ends. */
static uint32_t entries_put(int dirfd, struct readdir_out *o, char *chunk)
{
    for (;;) {
        ssize_t n = getdents64(dirfd, chunk, READDIR_CHUNK);
        if (n < 0)
            return wasi__errno();
        if (n == 0)
            return WASI_ESUCCESS;
        for (ssize_t at = 0; at < n;) {
            const struct dirent64 *d = (const struct dirent64 *)(chunk + at);
            if (!entry_put(o, dirfd, d))
                return WASI_ESUCCESS;
            at += d->d_reclen;
        }
    }
}

uint32_t wasi_fd_readdir(wasi_vm *vm, uint32_t fd, uint32_t buf,
                         uint32_t len, uint64_t cookie, uint32_t bufused)
{
    struct wasi_fd *f;
    uint32_t e = wasi__dir_get(wasi__ctx(vm), fd, WASI_RIGHT_FD_READDIR, &f);
    if (e != WASI_ESUCCESS)
        return e;
    struct readdir_out o = {wasi__mem(vm, buf, len), len, 0};
    if (o.p == NULL || wasi__mem(vm, bufused, 4) == NULL)
        return WASI_EFAULT;
    if (cookie > INT64_MAX)
        return WASI_EINVAL;
    if (len == 0)
        return wasi__store_u32(vm, bufused, 0);
    if (lseek(f->host, (off_t)cookie, SEEK_SET) < 0)
        return wasi__errno();
    char *chunk = malloc(READDIR_CHUNK);
    if (chunk == NULL)
        return WASI_ENOMEM;
    e = entries_put(f->host, &o, chunk);
    free(chunk);
    return e ? e : wasi__store_u32(vm, bufused, o.used);
}
