/*
 * wasi/errno.c - host errno to WASI errno, by table. WASI's errno values
 * are POSIX's names in alphabetical order, so nothing but a table maps
 * them. A host errno WASI has no name for becomes EIO.
 */
#include <errno.h>

#include "wasi/internal.h"

static const uint8_t errno_table[] = {
    [E2BIG] = WASI_E2BIG,
    [EACCES] = WASI_EACCES,
    [EADDRINUSE] = WASI_EADDRINUSE,
    [EADDRNOTAVAIL] = WASI_EADDRNOTAVAIL,
    [EAFNOSUPPORT] = WASI_EAFNOSUPPORT,
    [EAGAIN] = WASI_EAGAIN,
    [EALREADY] = WASI_EALREADY,
    [EBADF] = WASI_EBADF,
    [EBADMSG] = WASI_EBADMSG,
    [EBUSY] = WASI_EBUSY,
    [ECANCELED] = WASI_ECANCELED,
    [ECHILD] = WASI_ECHILD,
    [ECONNABORTED] = WASI_ECONNABORTED,
    [ECONNREFUSED] = WASI_ECONNREFUSED,
    [ECONNRESET] = WASI_ECONNRESET,
    [EDEADLK] = WASI_EDEADLK,
    [EDESTADDRREQ] = WASI_EDESTADDRREQ,
    [EDOM] = WASI_EDOM,
    [EDQUOT] = WASI_EDQUOT,
    [EEXIST] = WASI_EEXIST,
    [EFAULT] = WASI_EFAULT,
    [EFBIG] = WASI_EFBIG,
    [EHOSTUNREACH] = WASI_EHOSTUNREACH,
    [EIDRM] = WASI_EIDRM,
    [EILSEQ] = WASI_EILSEQ,
    [EINPROGRESS] = WASI_EINPROGRESS,
    [EINTR] = WASI_EINTR,
    [EINVAL] = WASI_EINVAL,
    [EIO] = WASI_EIO,
    [EISCONN] = WASI_EISCONN,
    [EISDIR] = WASI_EISDIR,
    [ELOOP] = WASI_ELOOP,
    [EMFILE] = WASI_EMFILE,
    [EMLINK] = WASI_EMLINK,
    [EMSGSIZE] = WASI_EMSGSIZE,
    [EMULTIHOP] = WASI_EMULTIHOP,
    [ENAMETOOLONG] = WASI_ENAMETOOLONG,
    [ENETDOWN] = WASI_ENETDOWN,
    [ENETRESET] = WASI_ENETRESET,
    [ENETUNREACH] = WASI_ENETUNREACH,
    [ENFILE] = WASI_ENFILE,
    [ENOBUFS] = WASI_ENOBUFS,
    [ENODEV] = WASI_ENODEV,
    [ENOENT] = WASI_ENOENT,
    [ENOEXEC] = WASI_ENOEXEC,
    [ENOLCK] = WASI_ENOLCK,
    [ENOLINK] = WASI_ENOLINK,
    [ENOMEM] = WASI_ENOMEM,
    [ENOMSG] = WASI_ENOMSG,
    [ENOPROTOOPT] = WASI_ENOPROTOOPT,
    [ENOSPC] = WASI_ENOSPC,
    [ENOSYS] = WASI_ENOSYS,
    [ENOTCONN] = WASI_ENOTCONN,
    [ENOTDIR] = WASI_ENOTDIR,
    [ENOTEMPTY] = WASI_ENOTEMPTY,
    [ENOTRECOVERABLE] = WASI_ENOTRECOVERABLE,
    [ENOTSOCK] = WASI_ENOTSOCK,
    [ENOTSUP] = WASI_ENOTSUP,           /* == EOPNOTSUPP on Linux */
    [ENOTTY] = WASI_ENOTTY,
    [ENXIO] = WASI_ENXIO,
    [EOVERFLOW] = WASI_EOVERFLOW,
    [EOWNERDEAD] = WASI_EOWNERDEAD,
    [EPERM] = WASI_EPERM,
    [EPIPE] = WASI_EPIPE,
    [EPROTO] = WASI_EPROTO,
    [EPROTONOSUPPORT] = WASI_EPROTONOSUPPORT,
    [EPROTOTYPE] = WASI_EPROTOTYPE,
    [ERANGE] = WASI_ERANGE,
    [EROFS] = WASI_EROFS,
    [ESPIPE] = WASI_ESPIPE,
    [ESRCH] = WASI_ESRCH,
    [ESTALE] = WASI_ESTALE,
    [ETIMEDOUT] = WASI_ETIMEDOUT,
    [ETXTBSY] = WASI_ETXTBSY,
    [EXDEV] = WASI_EXDEV,
};

uint32_t wasi__errno_from(int e)
{
    if (e == 0)
        return WASI_EIO;        /* a failure that set no errno */
    if (e < 0 || (size_t)e >= sizeof errno_table || errno_table[e] == 0)
        return WASI_EIO;
    return errno_table[e];
}

uint32_t wasi__errno(void)
{
    return wasi__errno_from(errno);
}
