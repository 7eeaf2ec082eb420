/*
 * The loop thread: one epoll set for every connection this process hands to
 * the native side, a queue of commands from JavaScript (add, kill, retime,
 * connect, retry, stop) woken by an eventfd, a sweep of the inactivity and
 * connect timers every tick, and a queue of completions (and connect
 * outcomes) that the Node-API glue drains in batches.
 *
 * Ids: slot + generation * 2^20, so a kill for a connection that already
 * ended (and whose slot was reused) finds no match and does nothing. Epoll
 * events are tagged with the id, the side and the connect attempt, so an
 * event still in a batch for a descriptor that was closed earlier in it (a
 * finished connection, a failed attempt) is recognised and dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "pump.h"

#define BUF_SIZE (64 * 1024) /* the per-thread receive buffer, bytes */
#define TICK_MS 50           /* timer sweep period, as the JavaScript clock's */
#define GEN_UNIT 1048576.0   /* 2^20: slots per generation */
#define MAX_SLOTS 1048576u

enum cmd_kind { CMD_ADD, CMD_CONNECT, CMD_RETRY, CMD_KILL, CMD_RETIME, CMD_STOP };

struct cmd {
  enum cmd_kind kind;
  double id;
  struct pump_conn *conn;
  uint32_t idle_ms, half_ms;
  int fd;                    /* CMD_RETRY: the fresh backend socket */
  struct pump_dir to_server; /* CMD_RETRY: what to send first once connected */
  struct pump_target target; /* CMD_CONNECT, CMD_RETRY */
};

struct vec { void *items; size_t len, cap; };

static struct {
  pthread_t thread;
  int running;
  int epfd, evfd;
  pthread_mutex_t mu; /* guards cmds, done, free slots, gens, owned */
  struct vec cmds, done;
  uint32_t *free_slots;
  size_t nfree;
  uint32_t *gens;
  uint32_t max_conns;
  uint32_t owned;
  struct pump_conn **slots; /* loop thread only */
  struct pump_conn *head;   /* loop thread only: every live connection, for the sweep */
  pump_notify_fn notify;
  void *notify_arg;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .epfd = -1, .evfd = -1};

/** Monotonic clock, ms. */
int64_t pump_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int push(struct vec *v, const void *item, size_t size) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void *p = realloc(v->items, cap * size);
    if (p == NULL) return -1;
    v->items = p;
    v->cap = cap;
  }
  memcpy((char *)v->items + v->len * size, item, size);
  v->len++;
  return 0;
}

static void wake(void) {
  uint64_t one = 1;
  ssize_t r = write(P.evfd, &one, sizeof one);
  (void)r; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

static int submit(const struct cmd *c) {
  pthread_mutex_lock(&P.mu);
  int r = push(&P.cmds, c, sizeof *c);
  pthread_mutex_unlock(&P.mu);
  if (r == 0) wake();
  return r;
}

/* Loop thread: queue a completion or connect outcome for JavaScript (caller holds P.mu); 1 if the queue was empty. */
static int queue_locked(const struct pump_done *d) {
  int was_empty = P.done.len == 0;
  (void)push(&P.done, d, sizeof *d); /* out of memory: JavaScript never hears of it (nothing else to do) */
  return was_empty;
}

/* Loop thread: a connection ended; close it, free its slot, queue its completion. */
static void finish(struct pump_conn *c, int ending) {
  for (int side = 0; side < 2; side++)
    if (c->fd[side] >= 0) epoll_ctl(P.epfd, EPOLL_CTL_DEL, c->fd[side], NULL);
  pump_conn_close(c, ending);
  if (c->prev) c->prev->next = c->next; else P.head = c->next;
  if (c->next) c->next->prev = c->prev;
  P.slots[c->slot] = NULL;
  struct pump_done d = {c->id, ending, c->first_fin, c->bytes[0], c->bytes[1]};
  pthread_mutex_lock(&P.mu);
  int was_empty = queue_locked(&d);
  P.gens[c->slot]++;
  P.free_slots[P.nfree++] = c->slot;
  P.owned--;
  pthread_mutex_unlock(&P.mu);
  pump_conn_free(c);
  if (was_empty) P.notify(P.notify_arg);
}

/* Loop thread: tell JavaScript how a connect attempt went (`value`: the connect time for EV_CONNECTED). */
static void report(const struct pump_conn *c, int event, double value) {
  struct pump_done d = {c->id, event, -1, value, 0};
  pthread_mutex_lock(&P.mu);
  int was_empty = queue_locked(&d);
  pthread_mutex_unlock(&P.mu);
  if (was_empty) P.notify(P.notify_arg);
}

/* The epoll tag of one side of `c`: id + 1 (0 is the eventfd), connect attempt, side. */
static uint64_t tag_of(const struct pump_conn *c, int side) {
  return ((uint64_t)c->id + 1) << 9 | (uint64_t)(side == SIDE_SERVER ? c->attempt : 0) << 1 | (uint64_t)side;
}

static int watch(struct pump_conn *c, int side) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag_of(c, side)};
  return epoll_ctl(P.epfd, EPOLL_CTL_ADD, c->fd[side], &ev);
}

static struct pump_conn *lookup(double id) {
  uint32_t slot = (uint32_t)(id - (double)(uint64_t)(id / GEN_UNIT) * GEN_UNIT);
  if (slot >= P.max_conns) return NULL;
  struct pump_conn *c = P.slots[slot];
  return c != NULL && c->id == id ? c : NULL;
}

static void link_conn(struct pump_conn *c) {
  P.slots[c->slot] = c;
  c->next = P.head;
  if (P.head) P.head->prev = c;
  P.head = c;
}

static void add(struct pump_conn *c, char *buf, int64_t now) {
  link_conn(c);
  for (int side = 0; side < 2; side++) {
    if (watch(c, side) < 0) {
      finish(c, END_NO_MEMORY);
      return;
    }
  }
  int e = pump_conn_io(c, buf, BUF_SIZE, now);
  if (e >= 0) finish(c, e);
}

/*
 * Loop thread: act on `r`, an outcome of connect.c (-1: nothing yet). A
 * failed attempt closes its socket and parks the connection until
 * JavaScript retries or kills it; a connected one starts pumping, sending
 * what JavaScript gave first.
 */
static void connect_outcome(struct pump_conn *c, int r, char *buf, int64_t now) {
  if (r < 0) return;
  if (r < EV_CONNECT_ERROR) return finish(c, r);
  if (r != EV_CONNECTED) {
    (void)epoll_ctl(P.epfd, EPOLL_CTL_DEL, c->fd[SIDE_SERVER], NULL);
    (void)close(c->fd[SIDE_SERVER]);
    c->fd[SIDE_SERVER] = -1;
    c->state = ST_PARKED;
    return report(c, r, 0);
  }
  c->state = ST_PUMPING;
  c->last_ms = now;
  c->rd[0] = c->rd[1] = c->wr[0] = c->wr[1] = 1;
  report(c, EV_CONNECTED, pump_now_ms_f() - c->connect_start);
  int e = pump_conn_io(c, buf, BUF_SIZE, now);
  if (e >= 0) finish(c, e);
}

/* Loop thread: start one connect attempt of `c` (its fresh socket in fd[SIDE_SERVER]). */
static void connect_begin(struct pump_conn *c, const struct pump_target *t, char *buf, int64_t now) {
  c->attempt++;
  int r = pump_connect_start(c, t, now);
  /* Watched only once connect() started: an unconnected socket reports EPOLLHUP. */
  if (r != EV_CONNECT_ERROR && watch(c, SIDE_SERVER) < 0) r = EV_CONNECT_ERROR;
  connect_outcome(c, r, buf, now);
}

static void add_connecting(struct pump_conn *c, const struct pump_target *t, char *buf, int64_t now) {
  link_conn(c);
  if (watch(c, SIDE_CLIENT) < 0) {
    (void)close(c->fd[SIDE_SERVER]);
    c->fd[SIDE_SERVER] = -1;
    return finish(c, END_NO_MEMORY);
  }
  connect_begin(c, t, buf, now);
}

static void retry(struct cmd *k, char *buf, int64_t now) {
  struct pump_conn *c = lookup(k->id);
  if (c == NULL || c->state != ST_PARKED) { /* ended meanwhile (its completion is on its way) */
    (void)close(k->fd);
    pump_held_add(-(int64_t)k->to_server.len);
    free(k->to_server.buf);
    return;
  }
  pump_held_add(-(int64_t)c->dir[0].len);
  free(c->dir[0].buf);
  c->dir[0] = k->to_server;
  c->fd[SIDE_SERVER] = k->fd;
  connect_begin(c, &k->target, buf, now);
}

/* Loop thread: run the queued commands; 1 when told to stop. */
static int run_commands(char *buf) {
  pthread_mutex_lock(&P.mu);
  struct vec v = P.cmds;
  P.cmds = (struct vec){0};
  pthread_mutex_unlock(&P.mu);
  int stop = 0;
  int64_t now = pump_now_ms();
  struct cmd *cs = v.items;
  for (size_t i = 0; i < v.len; i++) {
    struct cmd *k = &cs[i];
    struct pump_conn *c;
    switch (k->kind) {
    case CMD_ADD: add(k->conn, buf, now); break;
    case CMD_CONNECT: add_connecting(k->conn, &k->target, buf, now); break;
    case CMD_RETRY: retry(k, buf, now); break;
    case CMD_KILL:
      if ((c = lookup(k->id)) != NULL) finish(c, END_KILLED);
      break;
    case CMD_RETIME:
      if ((c = lookup(k->id)) != NULL) { c->idle_ms = k->idle_ms; c->half_ms = k->half_ms; }
      break;
    case CMD_STOP: stop = 1; break;
    }
  }
  free(v.items);
  return stop;
}

static void sweep(char *buf, int64_t now) {
  for (struct pump_conn *c = P.head; c != NULL;) {
    struct pump_conn *next = c->next;
    if (c->state == ST_PUMPING) {
      int e = pump_conn_timers(c, now);
      if (e >= 0) finish(c, e);
    } else {
      connect_outcome(c, pump_connect_timers(c, now), buf, now);
    }
    c = next;
  }
}

static void *loop_main(void *arg) {
  (void)arg;
  char *buf = malloc(BUF_SIZE);
  struct epoll_event evs[256];
  int64_t next_sweep = pump_now_ms() + TICK_MS;
  for (int stop = 0; !stop && buf != NULL;) {
    int timeout = P.head == NULL ? -1 : (int)(next_sweep - pump_now_ms());
    if (P.head != NULL && timeout < 0) timeout = 0;
    int n = epoll_wait(P.epfd, evs, 256, timeout);
    int64_t now = pump_now_ms();
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == 0) { /* the eventfd */
        uint64_t cnt;
        ssize_t r = read(P.evfd, &cnt, sizeof cnt);
        (void)r;
        stop = run_commands(buf);
        continue;
      }
      const int side = (int)(tag & 1);
      struct pump_conn *c = lookup((double)((tag >> 9) - 1));
      /* Ended earlier in this batch, or an event of a failed attempt's closed socket. */
      if (c == NULL || (side == SIDE_SERVER && ((tag >> 1) & 0xff) != c->attempt)) continue;
      if (c->state != ST_PUMPING) {
        connect_outcome(c, pump_connect_event(c, side, evs[i].events, now), buf, now);
        continue;
      }
      int e = pump_conn_event(c, side, evs[i].events, buf, BUF_SIZE, now);
      if (e >= 0) finish(c, e);
    }
    if (now >= next_sweep) {
      sweep(buf, now);
      next_sweep = now + TICK_MS;
    }
  }
  while (P.head != NULL) finish(P.head, END_KILLED);
  free(buf);
  return NULL;
}

/**
 * Start the loop thread. `notify` runs on that thread whenever completions
 * start waiting (pump_take_done collects them); `max_conns` caps how many
 * connections it owns at once. 0, or -errno.
 */
int pump_start(pump_notify_fn notify, void *arg, uint32_t max_conns) {
  if (P.running) return 0;
  if (max_conns == 0 || max_conns > MAX_SLOTS) max_conns = MAX_SLOTS;
  P.notify = notify;
  P.notify_arg = arg;
  P.max_conns = max_conns;
  P.slots = calloc(max_conns, sizeof *P.slots);
  P.gens = calloc(max_conns, sizeof *P.gens);
  P.free_slots = malloc(max_conns * sizeof *P.free_slots);
  if (!P.slots || !P.gens || !P.free_slots) return -ENOMEM;
  for (uint32_t i = 0; i < max_conns; i++) P.free_slots[i] = max_conns - 1 - i;
  P.nfree = max_conns;
  P.epfd = epoll_create1(EPOLL_CLOEXEC);
  P.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (P.epfd < 0 || P.evfd < 0) return -errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(P.epfd, EPOLL_CTL_ADD, P.evfd, &ev) < 0) return -errno;
  int r = pthread_create(&P.thread, NULL, loop_main, NULL);
  if (r != 0) return -r;
  P.running = 1;
  return 0;
}

/** Stop the loop thread (its connections are reset) and wait for it. */
void pump_stop(void) {
  if (!P.running) return;
  struct cmd k = {.kind = CMD_STOP};
  if (submit(&k) == 0) pthread_join(P.thread, NULL);
  P.running = 0;
}

static double enqueue_new(struct cmd *k);

double pump_add(int cfd, int sfd, uint32_t idle_ms, uint32_t half_ms, uint32_t quiet_ms, uint32_t ended,
                const char *to_server, size_t to_server_len,
                const char *to_client, size_t to_client_len) {
  if (!P.running) return -EINVAL;
  struct pump_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return -ENOMEM;
  c->fd[0] = cfd;
  c->fd[1] = sfd;
  c->rd[0] = c->rd[1] = c->wr[0] = c->wr[1] = 1;
  c->first_fin = -1;
  for (int d = 1; d >= 0; d--) {
    if (ended & (1u << d)) {
      c->dir[d].eof = c->dir[d].shut = 1;
      c->first_fin = (int8_t)d; /* one side at most: JavaScript keeps sessions whose both sides ended */
    }
  }
  c->last_ms = pump_now_ms() - (int64_t)quiet_ms;
  c->idle_ms = idle_ms;
  c->half_ms = half_ms;
  if ((to_server_len > 0 && pump_dir_keep(&c->dir[0], to_server, to_server_len) < 0) ||
      (to_client_len > 0 && pump_dir_keep(&c->dir[1], to_client, to_client_len) < 0)) {
    pump_conn_free(c);
    return -ENOMEM;
  }
  struct cmd k = {.kind = CMD_ADD, .conn = c};
  return enqueue_new(&k);
}

/*
 * Give `k->conn` (filled in by the caller) a slot and an id and queue `k`
 * for the loop thread: the id, or -errno (the connection is freed; its
 * descriptors are the caller's to close).
 */
static double enqueue_new(struct cmd *k) {
  struct pump_conn *c = k->conn;
  pthread_mutex_lock(&P.mu);
  if (P.nfree == 0) {
    pthread_mutex_unlock(&P.mu);
    pump_conn_free(c);
    return -EMFILE;
  }
  c->slot = P.free_slots[--P.nfree];
  c->id = (double)c->slot + (double)P.gens[c->slot] * GEN_UNIT;
  P.owned++;
  pthread_mutex_unlock(&P.mu);
  double id = c->id;
  if (submit(k) < 0) {
    pthread_mutex_lock(&P.mu);
    P.free_slots[P.nfree++] = c->slot;
    P.owned--;
    pthread_mutex_unlock(&P.mu);
    pump_conn_free(c);
    return -ENOMEM;
  }
  return id;
}

double pump_connect(int cfd, int sfd, const struct pump_target *t, uint32_t idle_ms, uint32_t half_ms,
                    const char *to_server, size_t to_server_len) {
  if (!P.running) return -EINVAL;
  struct pump_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return -ENOMEM;
  c->fd[SIDE_CLIENT] = cfd;
  c->fd[SIDE_SERVER] = sfd;
  c->first_fin = -1;
  c->state = ST_CONNECTING;
  c->last_ms = pump_now_ms();
  c->idle_ms = idle_ms;
  c->half_ms = half_ms;
  if (to_server_len > 0 && pump_dir_keep(&c->dir[0], to_server, to_server_len) < 0) {
    pump_conn_free(c);
    return -ENOMEM;
  }
  struct cmd k = {.kind = CMD_CONNECT, .conn = c, .target = *t};
  return enqueue_new(&k);
}

int pump_retry(double id, int sfd, const struct pump_target *t, const char *to_server, size_t to_server_len) {
  if (!P.running) return -EINVAL;
  struct cmd k = {.kind = CMD_RETRY, .id = id, .fd = sfd, .target = *t};
  if (to_server_len > 0 && pump_dir_keep(&k.to_server, to_server, to_server_len) < 0) return -ENOMEM;
  if (submit(&k) < 0) {
    pump_held_add(-(int64_t)k.to_server.len);
    free(k.to_server.buf);
    return -ENOMEM;
  }
  return 0;
}

void pump_kill(double id) {
  struct cmd k = {.kind = CMD_KILL, .id = id};
  (void)submit(&k);
}

void pump_retime(double id, uint32_t idle_ms, uint32_t half_ms) {
  struct cmd k = {.kind = CMD_RETIME, .id = id, .idle_ms = idle_ms, .half_ms = half_ms};
  (void)submit(&k);
}

size_t pump_take_done(struct pump_done *out, size_t max) {
  pthread_mutex_lock(&P.mu);
  size_t n = P.done.len < max ? P.done.len : max;
  if (n > 0) {
    memcpy(out, P.done.items, n * sizeof *out);
    memmove(P.done.items, (struct pump_done *)P.done.items + n, (P.done.len - n) * sizeof *out);
    P.done.len -= n;
  }
  pthread_mutex_unlock(&P.mu);
  return n;
}

static int64_t held_bytes;

int64_t pump_held_bytes(void) { return __atomic_load_n(&held_bytes, __ATOMIC_RELAXED); }

void pump_held_add(int64_t delta) { __atomic_add_fetch(&held_bytes, delta, __ATOMIC_RELAXED); }

uint32_t pump_owned(void) {
  pthread_mutex_lock(&P.mu);
  uint32_t n = P.owned;
  pthread_mutex_unlock(&P.mu);
  return n;
}
