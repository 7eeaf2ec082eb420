/*
 * Stage 3: accepting on plain listening sockets, on the loop thread.
 * JavaScript binds each listening socket (bind errors, SO_REUSEPORT and
 * reload holding stay its own), then gives the loop a dup; the loop accepts
 * (accept4, non-blocking) at most ACCEPT_BURST clients per listener per
 * wake, so one busy listener cannot starve the others or the connections,
 * and reports each client as an EV_ACCEPTED record: its descriptor, address
 * and port. JavaScript decides what becomes of it (pick, queue, refuse); no
 * choice is made here. Edge-triggered: a listener stays "ready" until
 * accept4 says EAGAIN. Out of descriptors (EMFILE, ENFILE), the waiting
 * clients are accepted and reset at once with a reserve descriptor (libuv's
 * uv__emfile_trick, so both engines behave alike: a client is refused, not
 * left hanging); out of memory, the listener is tried again every
 * ACCEPT_RETRY_MS. JavaScript hears of it once per run of failures
 * (EV_ACCEPT_ERROR).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pump.h"

#define MAX_LISTENERS 256
#define ACCEPT_BURST 64    /* clients accepted per listener per wake */
#define ACCEPT_RETRY_MS 50 /* after EMFILE/ENFILE/ENOBUFS/ENOMEM */

struct pump_listener {
  int fd;          /* -1: a free entry */
  double tag;      /* JavaScript's name for it */
  uint8_t ready;   /* accept4 may have more */
  uint8_t wildcard; /* bound to 0.0.0.0 or ::: the local address is asked per client */
  uint8_t failing;  /* accept4 failed and has not succeeded since: reported once per run of failures */
  int64_t retry_at; /* 0, or when to try again after running out of descriptors */
  char local[PUMP_ADDR_LEN];
  uint32_t local_port;
};

static struct pump_listener L[MAX_LISTENERS];
static int reserve_fd = -1; /* kept open to be given up when out of descriptors (refuse_waiting) */
static int nlisteners; /* entries in use at the front of L (free ones have fd -1) */

/* `sa` as text (inet_ntop) and its port; "" and 0 for another family. */
static void addr_text(const struct sockaddr_storage *sa, char *out, uint32_t *port) {
  out[0] = 0;
  *port = 0;
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    (void)inet_ntop(AF_INET, &v4->sin_addr, out, PUMP_ADDR_LEN);
    *port = ntohs(v4->sin_port);
  } else if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    (void)inet_ntop(AF_INET6, &v6->sin6_addr, out, PUMP_ADDR_LEN);
    *port = ntohs(v6->sin6_port);
  }
}

static int is_wildcard(const struct sockaddr_storage *sa) {
  if (sa->ss_family == AF_INET) return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (sa->ss_family == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return 0;
}

static struct pump_listener *find(double tag) {
  for (int i = 0; i < nlisteners; i++)
    if (L[i].fd >= 0 && L[i].tag == tag) return &L[i];
  return NULL;
}

/** Loop thread: watch listening socket `fd` under `tag`. 0, or -errno (fd left open: JavaScript's again). */
int pump_listen_add(int epfd, int fd, double tag) {
  int i = 0;
  while (i < nlisteners && L[i].fd >= 0) i++;
  if (i == MAX_LISTENERS) return -ENOSPC;
  struct pump_listener *l = &L[i];
  memset(l, 0, sizeof *l);
  if (reserve_fd < 0) reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
  addr_text(&ss, l->local, &l->local_port);
  l->wildcard = (uint8_t)is_wildcard(&ss);
  l->tag = tag;
  l->ready = 1; /* clients may be queued already: accept them on this wake */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = PUMP_LISTEN_BIT | (uint64_t)i};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    l->fd = -1;
    return -errno;
  }
  l->fd = fd;
  if (i == nlisteners) nlisteners++;
  return 0;
}

/**
 * Loop thread: stop watching `tag`; `close_it`: close it too (else the
 * descriptor is JavaScript's again). 0, or -ENOENT.
 */
int pump_listen_remove(int epfd, double tag, int close_it) {
  struct pump_listener *l = find(tag);
  if (l == NULL) return -ENOENT;
  (void)epoll_ctl(epfd, EPOLL_CTL_DEL, l->fd, NULL);
  if (close_it) (void)close(l->fd);
  l->fd = -1;
  while (nlisteners > 0 && L[nlisteners - 1].fd < 0) nlisteners--;
  return 0;
}

/** Loop thread: an epoll event with PUMP_LISTEN_BIT: that listener has clients to accept. */
void pump_listen_event(uint64_t tag) {
  uint64_t i = tag & ~PUMP_LISTEN_BIT;
  if (i < (uint64_t)nlisteners && L[i].fd >= 0) L[i].ready = 1;
}

static void report(const struct pump_listener *l, int code, int value) {
  struct pump_done d;
  memset(&d, 0, sizeof d);
  d.id = l->tag;
  d.ending = code;
  d.first_fin = value;
  pump_done(&d, 0, 0);
}

/*
 * Out of descriptors: free the reserve, accept and reset every waiting client
 * of `l` (a refusal is a reset, docs/errors.md), take the reserve again.
 */
static void refuse_waiting(struct pump_listener *l) {
  if (reserve_fd < 0) return;
  (void)close(reserve_fd);
  for (int n = 0; n < 4096; n++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    struct linger lg = {1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    (void)close(fd);
  }
  reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Accept up to ACCEPT_BURST clients of `l`, reporting each. */
static void accept_burst(struct pump_listener *l, int64_t now) {
  for (int n = 0; n < ACCEPT_BURST; n++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      l->ready = 0;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINVAL) return; /* EINVAL: shut down (unlisten) */
      const int e = errno;
      if (!l->failing) report(l, EV_ACCEPT_ERROR, e); /* once per run of failures */
      l->failing = 1;
      if (e == EMFILE || e == ENFILE) refuse_waiting(l); /* new clients bring a new edge */
      else if (e == ENOBUFS || e == ENOMEM) l->retry_at = now + ACCEPT_RETRY_MS;
      return;
    }
    l->failing = 0;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as JavaScript's accepted sockets (noDelay) */
    struct pump_done d;
    uint32_t port, local_port = l->local_port;
    d.id = l->tag;
    d.ending = EV_ACCEPTED;
    d.first_fin = fd;
    addr_text(&ss, d.addr[0], &port);
    memcpy(d.addr[1], l->local, PUMP_ADDR_LEN);
    if (l->wildcard) {
      struct sockaddr_storage me;
      socklen_t ml = sizeof me;
      if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0) addr_text(&me, d.addr[1], &local_port);
    }
    d.bytes_in = port;
    d.bytes_out = local_port;
    pump_done(&d, 0, 0);
  }
}

/**
 * Loop thread, after each wake's events: accept on every ready listener
 * (and those whose retry time came). Returns -1 when none is left ready, 0
 * when one still has clients (the loop polls again at once), else the ms
 * until the next retry after running out of descriptors.
 */
int pump_accept_ready(int64_t now) {
  int next = -1;
  for (int i = 0; i < nlisteners; i++) {
    struct pump_listener *l = &L[i];
    if (l->fd < 0) continue;
    if (l->retry_at != 0 && now >= l->retry_at) {
      l->retry_at = 0;
      l->ready = 1;
    }
    if (l->ready) accept_burst(l, now);
    if (l->ready) next = 0;
    else if (l->retry_at != 0) {
      int wait = (int)(l->retry_at - now);
      if (next < 0 || wait < next) next = wait < 0 ? 0 : wait;
    }
  }
  return next;
}

/** Loop thread, stopping: close every listener it still holds. */
void pump_listen_close_all(int epfd) {
  for (int i = 0; i < nlisteners; i++) {
    if (L[i].fd < 0) continue;
    (void)epoll_ctl(epfd, EPOLL_CTL_DEL, L[i].fd, NULL);
    (void)close(L[i].fd);
    L[i].fd = -1;
  }
  nlisteners = 0;
  if (reserve_fd >= 0) (void)close(reserve_fd);
  reserve_fd = -1;
}
