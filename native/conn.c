/*
 * One connection's byte moving: recv into the loop's buffer, send to the
 * other side; what the destination cannot take now is kept (at most one
 * read per direction) and the source is not read again until it is sent,
 * so memory stays bounded whatever the peers do. Edge-triggered: a side is
 * read until EAGAIN, and a blocked direction resumes on EPOLLOUT.
 *
 * Endings follow docs/errors.md: a FIN is forwarded (shutdown SHUT_WR) only
 * after the bytes before it; a reset or error on one side resets the other
 * (SO_LINGER 0); timers and kills reset both. Same shape as HAProxy's
 * raw_sock_to_buf/raw_sock_from_buf loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pump.h"

/* Close `fd` with a reset: SO_LINGER 0 drops queued bytes and sends RST. */
static void close_reset(int fd) {
  struct linger lg = {1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  (void)close(fd);
}

static int ending_for_error(int side) {
  return side == SIDE_CLIENT ? END_CLIENT_RESET : END_SERVER_RESET;
}

/** Keep a copy of bytes buf[0..n) to send later: 0, or -1 when memory is short. */
int pump_dir_keep(struct pump_dir *x, const char *buf, size_t n) {
  x->buf = malloc(n);
  if (x->buf == NULL) return -1;
  memcpy(x->buf, buf, n);
  x->off = 0;
  x->len = (uint32_t)n;
  pump_held_add((int64_t)n);
  return 0;
}

/* Move bytes from side d to side 1-d until one side would block: -1 or an ending. */
static int pump_dir(struct pump_conn *c, int d, char *buf, size_t bufsz, int64_t now) {
  const int from = d, to = 1 - d;
  struct pump_dir *x = &c->dir[d];
  for (;;) {
    if (x->len > 0) {
      if (!c->wr[to]) return -1;
      ssize_t n = send(c->fd[to], x->buf + x->off, x->len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) { c->wr[to] = 0; return -1; }
        if (errno == EINTR) continue;
        return ending_for_error(to);
      }
      x->off += (uint32_t)n;
      x->len -= (uint32_t)n;
      pump_held_add(-(int64_t)n);
      if (x->len > 0) { c->wr[to] = 0; return -1; }
      free(x->buf);
      x->buf = NULL;
      x->off = 0;
    }
    if (x->eof) {
      if (!x->shut) {
        (void)shutdown(c->fd[to], SHUT_WR);
        x->shut = 1;
      }
      return -1;
    }
    if (!c->rd[from]) return -1;
    size_t want = bufsz;
    if (want > PUMP_READ_SMALL && (!c->wr[to] || pump_held_bytes() >= pump_held_budget())) want = PUMP_READ_SMALL;
    ssize_t n = recv(c->fd[from], buf, want, 0);
    if (n > 0) {
      c->bytes[from] += (double)n;
      c->last_ms = now;
      ssize_t m = -1;
      if (c->wr[to]) {
        m = send(c->fd[to], buf, (size_t)n, MSG_NOSIGNAL);
        if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return ending_for_error(to);
      }
      if (m < n) {
        if (m < 0) m = 0;
        c->wr[to] = 0;
        if (pump_dir_keep(x, buf + m, (size_t)(n - m)) < 0) return END_NO_MEMORY;
      }
      continue;
    }
    if (n == 0) {
      x->eof = 1;
      c->last_ms = now;
      if (c->first_fin < 0) c->first_fin = (int8_t)from;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) { c->rd[from] = 0; return -1; }
    if (errno == EINTR) continue;
    return ending_for_error(from);
  }
}

/**
 * Move what can move both ways. Returns -1 while the connection goes on,
 * else its ending: both FINs forwarded (closed), or a side's error (reset).
 */
int pump_conn_io(struct pump_conn *c, char *buf, size_t bufsz, int64_t now) {
  for (int d = 0; d < 2; d++) {
    int e = pump_dir(c, d, buf, bufsz, now);
    if (e >= 0) return e;
  }
  if (c->dir[0].shut && c->dir[1].shut) {
    return c->first_fin == SIDE_SERVER ? END_SERVER_CLOSED : END_CLIENT_CLOSED;
  }
  return -1;
}

/** An epoll event on `side`: note readiness, surface a pending socket error, move bytes. */
int pump_conn_event(struct pump_conn *c, int side, uint32_t events, char *buf, size_t bufsz, int64_t now) {
  if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      return ending_for_error(side);
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rd[side] = 1;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c->wr[side] = 1;
  return pump_conn_io(c, buf, bufsz, now);
}

/**
 * The inactivity timers (values from TypeScript, ms, 0 = off), counted from
 * the last byte or FIN either way as the JavaScript engine does: -1, or
 * END_HALF_CLOSED once either side sent its FIN, END_IDLE otherwise.
 */
int pump_conn_timers(const struct pump_conn *c, int64_t now) {
  const int64_t quiet = now - c->last_ms;
  if (c->half_ms > 0 && (c->dir[0].eof || c->dir[1].eof) && quiet >= (int64_t)c->half_ms) return END_HALF_CLOSED;
  if (c->idle_ms > 0 && quiet >= (int64_t)c->idle_ms) return END_IDLE;
  return -1;
}

/**
 * Close both descriptors as `ending` requires: a clean end closes both; an
 * error on one side resets the other; timers, kills and no memory reset both.
 */
void pump_conn_close(struct pump_conn *c, int ending) {
  if (c->fd[SIDE_SERVER] < 0) { /* parked after a failed connect: the client is reset (or gone) */
    close_reset(c->fd[SIDE_CLIENT]);
    c->fd[0] = -1;
    return;
  }
  switch (ending) {
  case END_CLIENT_CLOSED:
  case END_SERVER_CLOSED:
    (void)close(c->fd[0]);
    (void)close(c->fd[1]);
    break;
  case END_CLIENT_RESET:
    (void)close(c->fd[SIDE_CLIENT]);
    close_reset(c->fd[SIDE_SERVER]);
    break;
  case END_SERVER_RESET:
    (void)close(c->fd[SIDE_SERVER]);
    close_reset(c->fd[SIDE_CLIENT]);
    break;
  default:
    close_reset(c->fd[0]);
    close_reset(c->fd[1]);
    break;
  }
  c->fd[0] = c->fd[1] = -1;
}

/** Free a closed connection's held bytes and itself. */
void pump_conn_free(struct pump_conn *c) {
  pump_held_add(-(int64_t)(c->dir[0].len + c->dir[1].len));
  free(c->dir[0].buf);
  free(c->dir[1].buf);
  free(c);
}
