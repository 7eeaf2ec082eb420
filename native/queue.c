/*
 * The crossings between JavaScript's thread and the loop thread (loop.c):
 * the commands JavaScript sends (add, connect, park, retry, kill, retime, sample,
 * listen, unlisten, stop;
 * queued under one mutex, the loop woken by an eventfd), the completions
 * and connect outcomes the loop sends back (drained in batches by the
 * Node-API glue), and the table of slots and generations that gives each
 * connection its id: slot + generation * 2^20 (generations wrap at 2^11, so
 * an id fits 31 bits), so a command for a connection that already ended (and
 * whose slot was reused) matches nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pump.h"

struct vec { void *items; size_t len, cap; };

static struct {
  pthread_mutex_t mu; /* guards cmds, done, free slots, gens, owned */
  int evfd;
  int open;           /* the loop thread runs: commands are accepted */
  struct vec cmds, done;
  uint32_t *free_slots;
  size_t nfree;
  uint32_t *gens;
  uint32_t owned;
  pump_notify_fn notify;
  void *notify_arg;
  int hold_wake, wake_held; /* JavaScript's thread only: pump_hold_wake */
  int notified;             /* JavaScript was woken for the waiting completions (cleared when it drained them) */
  int loop_asleep;          /* the loop waits with no tick (pump_queue_sleep): a command queued without a wake must wake it */
} Q = {.mu = PTHREAD_MUTEX_INITIALIZER, .evfd = -1};

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

/**
 * Set up the queues and a table of `max_conns` slots; `notify` runs on the
 * loop thread when completions start waiting. The eventfd the loop must
 * watch, or -errno.
 */
int pump_queue_init(uint32_t max_conns, pump_notify_fn notify, void *arg) {
  Q.notify = notify;
  Q.notify_arg = arg;
  Q.gens = calloc(max_conns, sizeof *Q.gens);
  Q.free_slots = malloc(max_conns * sizeof *Q.free_slots);
  if (!Q.gens || !Q.free_slots) return -ENOMEM;
  for (uint32_t i = 0; i < max_conns; i++) Q.free_slots[i] = max_conns - 1 - i;
  Q.nfree = max_conns;
  Q.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return Q.evfd < 0 ? -errno : Q.evfd;
}

/** Accept commands (the loop thread runs) or refuse them with -EINVAL (it stopped). */
void pump_queue_open(int open) { Q.open = open; }

/* Wake the loop for queued commands (now, or once pump_hold_wake ends). */
static void wake(void) {
  if (Q.hold_wake) {
    Q.wake_held = 1;
    return;
  }
  uint64_t one = 1;
  ssize_t w = write(Q.evfd, &one, sizeof one);
  (void)w; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

/** Queue a command for the loop thread and wake it: 0, or -1 when memory is short. */
int pump_submit(const struct pump_cmd *k) {
  pthread_mutex_lock(&Q.mu);
  int r = push(&Q.cmds, k, sizeof *k);
  pthread_mutex_unlock(&Q.mu);
  if (r == 0) wake();
  return r;
}

/** Queue without waking while `on` (a batch of decisions); off: one wake for all of them. */
void pump_hold_wake(int on) {
  Q.hold_wake = on;
  if (!on && Q.wake_held) {
    Q.wake_held = 0;
    uint64_t one = 1;
    ssize_t w = write(Q.evfd, &one, sizeof one);
    (void)w;
  }
}

/**
 * Loop thread: 1 when commands wait. Under the mutex, so a connect that
 * JavaScript's thread put in the epoll set (pump_connect_here) is queued by
 * the time the loop, woken by its event, asks (the ADD and the push are one
 * critical section there).
 */
int pump_cmds_waiting(void) {
  pthread_mutex_lock(&Q.mu);
  int any = Q.cmds.len > 0;
  pthread_mutex_unlock(&Q.mu);
  return any;
}

/**
 * Loop thread, with no connection linked, before waiting: 1 when nothing
 * needs a tick (no queued command, no completion JavaScript was not woken
 * for), and from then on a command queued without a wake (pump_connect_here)
 * wakes the loop instead; 0: wait with a tick. Checked and set under the
 * mutex that pump_connect_here holds to queue, so no wake is lost.
 */
int pump_queue_sleep(void) {
  pthread_mutex_lock(&Q.mu);
  Q.loop_asleep = Q.cmds.len == 0 && (Q.done.len == 0 || Q.notified);
  int asleep = Q.loop_asleep;
  pthread_mutex_unlock(&Q.mu);
  return asleep;
}

/** Loop thread, back from a wait that pump_queue_sleep allowed untimed. */
void pump_queue_awake(void) {
  pthread_mutex_lock(&Q.mu);
  Q.loop_asleep = 0;
  pthread_mutex_unlock(&Q.mu);
}

/** Loop thread, on the eventfd's event: every queued command (free() them), how many in *n. */
struct pump_cmd *pump_take_cmds(size_t *n) {
  uint64_t cnt;
  ssize_t r = read(Q.evfd, &cnt, sizeof cnt);
  (void)r;
  pthread_mutex_lock(&Q.mu);
  struct vec v = Q.cmds;
  Q.cmds = (struct vec){0};
  pthread_mutex_unlock(&Q.mu);
  *n = v.len;
  return v.items;
}

/*
 * Give `k->conn` (filled in by the caller) a slot and an id and queue `k`
 * for the loop thread: the id, or -errno (the connection is freed; its
 * descriptors are the caller's to close).
 */
static double admit(struct pump_cmd *k) {
  struct pump_conn *c = k->conn;
  pthread_mutex_lock(&Q.mu);
  if (Q.nfree == 0) {
    pthread_mutex_unlock(&Q.mu);
    pump_conn_free(c);
    return -EMFILE;
  }
  c->slot = Q.free_slots[--Q.nfree];
  c->id = (double)c->slot + (double)Q.gens[c->slot] * PUMP_GEN_UNIT;
  Q.owned++;
  pthread_mutex_unlock(&Q.mu);
  double id = c->id;
  if (pump_submit(k) < 0) {
    pthread_mutex_lock(&Q.mu);
    Q.free_slots[Q.nfree++] = c->slot;
    Q.owned--;
    pthread_mutex_unlock(&Q.mu);
    pump_conn_free(c);
    return -ENOMEM;
  }
  return id;
}

/**
 * Loop thread: queue `d` for JavaScript and, `release` (a completion), give
 * its slot back under a new generation. Out of memory: JavaScript never
 * hears of it (nothing else to do).
 */
void pump_done(const struct pump_done *d, uint32_t slot, int release) {
  pthread_mutex_lock(&Q.mu);
  (void)push(&Q.done, d, sizeof *d);
  if (release) {
    Q.gens[slot] = (Q.gens[slot] + 1) & PUMP_GEN_MASK;
    Q.free_slots[Q.nfree++] = slot;
    Q.owned--;
  }
  /* EV_CONNECTED does not wake JavaScript: it rides with the next record, or the loop's next tick (pump_done_flush). */
  int wake_js = !Q.notified && d->ending != EV_CONNECTED;
  if (wake_js) Q.notified = 1;
  pthread_mutex_unlock(&Q.mu);
  if (wake_js) Q.notify(Q.notify_arg);
}

/** Loop thread, each tick: wake JavaScript for records that did not (EV_CONNECTED). */
void pump_done_flush(void) {
  pthread_mutex_lock(&Q.mu);
  int wake_js = !Q.notified && Q.done.len > 0;
  if (wake_js) Q.notified = 1;
  pthread_mutex_unlock(&Q.mu);
  if (wake_js) Q.notify(Q.notify_arg);
}

/*
 * A connection record for JavaScript's thread to queue: both descriptors, no
 * FIN seen, active now, its timers, and the client's bytes held for the
 * server (copied). NULL when memory is short (nothing kept, no descriptor
 * closed).
 */
static struct pump_conn *conn_new(int cfd, int sfd, uint32_t idle_ms, uint32_t half_ms, const char *to_server, size_t to_server_len) {
  struct pump_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->fd[SIDE_CLIENT] = cfd;
  c->fd[SIDE_SERVER] = sfd;
  c->first_fin = -1;
  c->last_ms = pump_now_ms();
  c->idle_ms = idle_ms;
  c->half_ms = half_ms;
  if (to_server_len > 0 && pump_dir_keep(&c->dir[0], to_server, to_server_len) < 0) {
    pump_conn_free(c);
    return NULL;
  }
  return c;
}

double pump_add(int cfd, int sfd, uint32_t idle_ms, uint32_t half_ms, uint32_t quiet_ms, uint32_t ended,
                const char *to_server, size_t to_server_len,
                const char *to_client, size_t to_client_len) {
  if (!Q.open) return -EINVAL;
  struct pump_conn *c = conn_new(cfd, sfd, idle_ms, half_ms, to_server, to_server_len);
  if (c == NULL) return -ENOMEM;
  c->rd[0] = c->rd[1] = c->wr[0] = c->wr[1] = 1;
  for (int d = 1; d >= 0; d--) {
    if (ended & (1u << d)) {
      c->dir[d].eof = c->dir[d].shut = 1;
      c->first_fin = (int8_t)d; /* one side at most: JavaScript keeps sessions whose both sides ended */
    }
  }
  c->last_ms -= (int64_t)quiet_ms;
  if (to_client_len > 0 && pump_dir_keep(&c->dir[1], to_client, to_client_len) < 0) {
    pump_conn_free(c);
    return -ENOMEM;
  }
  struct pump_cmd k = {.kind = CMD_ADD, .conn = c};
  return admit(&k);
}

double pump_connect(int cfd, int sfd, const struct pump_target *t, uint32_t idle_ms, uint32_t half_ms,
                    const char *to_server, size_t to_server_len) {
  if (!Q.open) return -EINVAL;
  struct pump_conn *c = conn_new(cfd, sfd, idle_ms, half_ms, to_server, to_server_len);
  if (c == NULL) return -ENOMEM;
  c->state = ST_CONNECTING;
  struct pump_cmd k = {.kind = CMD_CONNECT, .conn = c, .target = *t};
  return admit(&k);
}

/* pump.h says what it does; -EMFILE / -ENOMEM leave both descriptors the caller's (pump_conn_free closes none). */
double pump_connect_here(int cfd, int sfd, const struct pump_target *t, uint32_t idle_ms, uint32_t half_ms,
                         const char *to_server, size_t to_server_len) {
  if (!Q.open) return -EINVAL;
  /*
   * No slot, no connect: the backend must not see a SYN for a client that
   * JavaScript then serves with a connect of its own. Only this thread takes
   * slots, so one free now is still free below.
   */
  pthread_mutex_lock(&Q.mu);
  int full = Q.nfree == 0;
  pthread_mutex_unlock(&Q.mu);
  if (full) return -EMFILE;
  struct pump_conn *c = conn_new(cfd, sfd, idle_ms, half_ms, to_server, to_server_len);
  if (c == NULL) return -ENOMEM;
  c->attempt = 1; /* as connect_begin would count it: tags the server socket's events */
  c->sole = 1;    /* the natively accepted client (never JavaScript's) and a fresh socket */
  /* Sets ST_CONNECTING, the start time and the deadline: -1 in progress, else its outcome at once. */
  int r = pump_connect_start(c, t, c->last_ms);
  struct pump_cmd k = {.kind = CMD_CONNECT, .conn = c, .target = *t, .started = 1, .fd = r};
  /*
   * Under the queue's mutex from the slot to the push, with the epoll ADD in
   * between: the loop, seeing an event for an id it has not linked, takes the
   * commands (that mutex) and so finds this one queued; and it cannot link,
   * end and close this connection (and its descriptor number be reused)
   * before the ADD is done.
   */
  pthread_mutex_lock(&Q.mu);
  if (Q.nfree == 0) {
    pthread_mutex_unlock(&Q.mu);
    pump_conn_free(c);
    return -EMFILE;
  }
  c->slot = Q.free_slots[--Q.nfree];
  c->id = (double)c->slot + (double)Q.gens[c->slot] * PUMP_GEN_UNIT;
  double id = c->id;
  int added = 0;
  if (r == -1) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = pump_tag_of(c, SIDE_SERVER)};
    if (epoll_ctl(pump_epfd(), EPOLL_CTL_ADD, sfd, &ev) == 0) added = 1;
    else k.fd = EV_CONNECT_ERROR;
  }
  if (push(&Q.cmds, &k, sizeof k) < 0) {
    if (added) (void)epoll_ctl(pump_epfd(), EPOLL_CTL_DEL, sfd, NULL);
    Q.free_slots[Q.nfree++] = c->slot;
    pthread_mutex_unlock(&Q.mu);
    pump_conn_free(c);
    return -ENOMEM;
  }
  Q.owned++;
  /* An outcome at once: the loop acts on it now. In progress: its event wakes the loop, or its tick, unless it waits with none. */
  int wake_loop = !added || Q.loop_asleep;
  Q.loop_asleep = 0;
  pthread_mutex_unlock(&Q.mu);
  if (wake_loop) wake();
  return id;
}

double pump_park(int cfd, uint32_t idle_ms, uint32_t half_ms) {
  if (!Q.open) return -EINVAL;
  struct pump_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return -ENOMEM;
  c->fd[SIDE_CLIENT] = cfd;
  c->fd[SIDE_SERVER] = -1;
  c->first_fin = -1;
  c->state = ST_PARKED;
  c->last_ms = pump_now_ms();
  c->idle_ms = idle_ms;
  c->half_ms = half_ms;
  struct pump_cmd k = {.kind = CMD_PARK, .conn = c};
  return admit(&k);
}

int pump_listen(int fd, double tag) {
  if (!Q.open) return -EINVAL;
  struct pump_cmd k = {.kind = CMD_LISTEN, .id = tag, .fd = fd};
  return pump_submit(&k) < 0 ? -ENOMEM : 0;
}

int pump_unlisten(double tag, int close_it) {
  if (!Q.open) return -EINVAL;
  struct pump_cmd k = {.kind = CMD_UNLISTEN, .id = tag, .fd = close_it};
  return pump_submit(&k) < 0 ? -ENOMEM : 0;
}

int pump_retry(double id, int sfd, const struct pump_target *t, const char *to_server, size_t to_server_len) {
  if (!Q.open) return -EINVAL;
  struct pump_cmd k = {.kind = CMD_RETRY, .id = id, .fd = sfd, .target = *t};
  if (to_server_len > 0 && pump_dir_keep(&k.to_server, to_server, to_server_len) < 0) return -ENOMEM;
  if (pump_submit(&k) < 0) {
    pump_held_add(-(int64_t)k.to_server.len);
    free(k.to_server.buf);
    return -ENOMEM;
  }
  return 0;
}

void pump_kill(double id) {
  struct pump_cmd k = {.kind = CMD_KILL, .id = id};
  (void)pump_submit(&k);
}

void pump_retime(double id, uint32_t idle_ms, uint32_t half_ms) {
  struct pump_cmd k = {.kind = CMD_RETIME, .id = id, .idle_ms = idle_ms, .half_ms = half_ms};
  (void)pump_submit(&k);
}

void pump_sample(void) {
  struct pump_cmd k = {.kind = CMD_SAMPLE};
  (void)pump_submit(&k);
}

size_t pump_take_done(struct pump_done *out, size_t max) {
  pthread_mutex_lock(&Q.mu);
  size_t n = Q.done.len < max ? Q.done.len : max;
  if (n > 0) {
    memcpy(out, Q.done.items, n * sizeof *out);
    memmove(Q.done.items, (struct pump_done *)Q.done.items + n, (Q.done.len - n) * sizeof *out);
    Q.done.len -= n;
  }
  if (Q.done.len == 0) Q.notified = 0; /* the next record wakes JavaScript again */
  pthread_mutex_unlock(&Q.mu);
  return n;
}

static int64_t held_bytes;

int64_t pump_held_bytes(void) { return __atomic_load_n(&held_bytes, __ATOMIC_RELAXED); }

static int64_t held_budget = PUMP_HELD_BUDGET; /* set before the loop thread starts */

int64_t pump_held_budget(void) { return held_budget; }

void pump_set_held_budget(int64_t bytes) { held_budget = bytes < 0 ? 0 : bytes; }

void pump_held_add(int64_t delta) { __atomic_add_fetch(&held_bytes, delta, __ATOMIC_RELAXED); }

uint32_t pump_owned(void) {
  pthread_mutex_lock(&Q.mu);
  uint32_t n = Q.owned;
  pthread_mutex_unlock(&Q.mu);
  return n;
}
