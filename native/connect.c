/*
 * Stage 2: connecting the backend socket of a connection whose backend
 * JavaScript picked. A non-blocking connect(2) watched by the loop's epoll
 * set (EPOLLOUT, then SO_ERROR says how it went), a deadline checked by the
 * loop's timer sweep, and the client watched meanwhile only for a reset or
 * a hang-up (its bytes wait in the kernel until the backend is connected).
 * Each attempt's outcome is reported to JavaScript, which chooses what comes
 * next (another backend, or giving up): no retry or choice is made here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pump.h"

/** Monotonic clock in ms with sub-ms precision (connect times). */
double pump_now_ms_f(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/**
 * Fill `t` from an IPv4 or IPv6 literal (no brackets, no zone) and a port:
 * 0, or -EINVAL (not a literal: JavaScript keeps such backends).
 */
int pump_target_parse(struct pump_target *t, const char *host, uint32_t port, uint32_t connect_ms) {
  memset(t, 0, sizeof *t);
  if (port == 0 || port > 65535) return -EINVAL;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    t->addrlen = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    t->addrlen = sizeof *v6;
  } else {
    return -EINVAL;
  }
  t->connect_ms = connect_ms;
  return 0;
}

/**
 * A fresh non-blocking, close-on-exec TCP socket with TCP_NODELAY (as the
 * JavaScript engine's sockets): its descriptor, or -errno (EMFILE when the
 * process is out of descriptors: the caller keeps the connection on JavaScript).
 */
int pump_socket(int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/**
 * Start connecting c->fd[SIDE_SERVER] to `t`: -1 while in progress (the
 * connection is ST_CONNECTING with its deadline), EV_CONNECTED when it
 * connected at once, EV_CONNECT_ERROR when it failed at once.
 */
int pump_connect_start(struct pump_conn *c, const struct pump_target *t, int64_t now) {
  c->state = ST_CONNECTING;
  c->connect_start = pump_now_ms_f();
  c->connect_deadline = t->connect_ms > 0 ? now + (int64_t)t->connect_ms : INT64_MAX;
  for (;;) {
    if (connect(c->fd[SIDE_SERVER], (const struct sockaddr *)&t->addr, t->addrlen) == 0) return EV_CONNECTED;
    if (errno == EINTR) continue;
    return errno == EINPROGRESS ? -1 : EV_CONNECT_ERROR;
  }
}

/**
 * An epoll event while the backend is being connected (or the connection is
 * parked, with no backend socket): -1 to wait on; END_CLIENT_EARLY when the
 * client reset or hung up; EV_CONNECTED or EV_CONNECT_ERROR when the connect
 * finished. A client's FIN is not an end: it is forwarded after its bytes
 * once connected, as the JavaScript engine does.
 */
int pump_connect_event(struct pump_conn *c, int side, uint32_t events, int64_t now) {
  (void)now;
  if (side == SIDE_CLIENT) {
    if (events & EPOLLIN) c->rd[SIDE_CLIENT] = 1;
    if (events & EPOLLOUT) c->wr[SIDE_CLIENT] = 1;
    return events & (EPOLLERR | EPOLLHUP) ? END_CLIENT_EARLY : -1;
  }
  if (c->state != ST_CONNECTING || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return -1;
  /* Writable with no error or hang-up: connected (Linux sets EPOLLERR on a failed connect), no getsockopt needed. */
  if (!(events & (EPOLLERR | EPOLLHUP))) return EV_CONNECTED;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd[SIDE_SERVER], SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  /* No error: it connected (a backend that hung up at once is then seen by the pump, as by JavaScript). */
  return err != 0 ? EV_CONNECT_ERROR : EV_CONNECTED;
}

/** The connect deadline: EV_CONNECT_TIMEOUT once passed while connecting, else -1. */
int pump_connect_timers(const struct pump_conn *c, int64_t now) {
  return c->state == ST_CONNECTING && now >= c->connect_deadline ? EV_CONNECT_TIMEOUT : -1;
}
