/*
 * tests/wasi/fds.c - the descriptor table: preopens and their names
 * (run.sh gives /sandbox as fd 3 and /second as fd 4), stdio, the socket
 * calls on descriptors that are not sockets, and closing stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

static void test_prestat(void)
{
    __wasi_prestat_t ps;
    char name[16] = {0};
    CHECK_ERR("prestat of fd 3", 0, __wasi_fd_prestat_get(3, &ps));
    CHECK("a directory named /sandbox", ps.tag == __WASI_PREOPENTYPE_DIR &&
          ps.u.dir.pr_name_len == 8);
    CHECK_ERR("prestat_dir_name", 0, __wasi_fd_prestat_dir_name(3,
              (uint8_t *)name, 8));
    CHECK("name", memcmp(name, "/sandbox", 8) == 0);
    CHECK_ERR("prestat_dir_name short buffer", __WASI_ERRNO_NAMETOOLONG,
              __wasi_fd_prestat_dir_name(3, (uint8_t *)name, 4));
    CHECK_ERR("prestat_dir_name bad buffer", __WASI_ERRNO_FAULT,
              raw_fd_prestat_dir_name(3, BAD_PTR, 8));
    CHECK_ERR("prestat of fd 4", 0, __wasi_fd_prestat_get(4, &ps));
    CHECK("named /second", ps.u.dir.pr_name_len == 7 &&
          __wasi_fd_prestat_dir_name(4, (uint8_t *)name, 7) == 0 &&
          memcmp(name, "/second", 7) == 0);
    CHECK_ERR("prestat after the preopens", __WASI_ERRNO_BADF,
              __wasi_fd_prestat_get(5, &ps));
    CHECK_ERR("prestat of stdout", __WASI_ERRNO_BADF,
              __wasi_fd_prestat_get(1, &ps));
    __wasi_fdstat_t fs;
    CHECK_ERR("preopen fdstat", 0, __wasi_fd_fdstat_get(3, &fs));
    CHECK("preopen is a directory", fs.fs_filetype ==
          __WASI_FILETYPE_DIRECTORY);
    int fd = open("/second/hello.txt", O_CREAT | O_WRONLY, 0644);
    CHECK("write in the second preopen", fd >= 0 &&
          write(fd, "hello second\n", 13) == 13);
    close(fd);
}

static void test_sockets(void)
{
    char buf[8];
    uint32_t iov[2] = {PTR(buf), sizeof buf};
    __wasi_size_t n;
    __wasi_roflags_t ro;
    __wasi_fd_t out;
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    __wasi_iovec_t riov = {(uint8_t *)buf, sizeof buf};
    int fd = open("/sandbox/notasocket", O_CREAT | O_RDWR, 0644);
    CHECK_ERR("sock_recv on a file", __WASI_ERRNO_NOTSOCK,
              __wasi_sock_recv(fd, &riov, 1, 0, &n, &ro));
    CHECK_ERR("sock_send on a file", __WASI_ERRNO_NOTSOCK,
              __wasi_sock_send(fd, &ciov, 1, 0, &n));
    CHECK_ERR("sock_accept on a dir", __WASI_ERRNO_NOTSOCK,
              __wasi_sock_accept(3, 0, &out));
    CHECK_ERR("sock_shutdown on stdout", __WASI_ERRNO_NOTSOCK,
              __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
    CHECK_ERR("sock_send on a closed fd", __WASI_ERRNO_BADF,
              __wasi_sock_send(77, &ciov, 1, 0, &n));
    CHECK_ERR("sock_accept on a closed fd", __WASI_ERRNO_BADF,
              __wasi_sock_accept(77, 0, &out));
    close(fd);
    (void)iov;
}

static void test_stdio(void)
{
    __wasi_fdstat_t fs;
    char c;
    CHECK_ERR("stdin fdstat", 0, __wasi_fd_fdstat_get(0, &fs));
    CHECK_ERR("stdout fdstat", 0, __wasi_fd_fdstat_get(1, &fs));
    CHECK_ERR("close stdin", 0, __wasi_fd_close(0));
    CHECK("read closed stdin", read(0, &c, 1) < 0 && errno == EBADF);
    int fd = open("/sandbox/newstdin", O_CREAT | O_RDWR, 0644);
    CHECK("lowest free fd is 0", fd == 0);
    close(fd);
}

int main(void)
{
    test_prestat();
    test_sockets();
    test_stdio();
    return DONE();
}
