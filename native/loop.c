/*
 * The loop thread: one epoll set for every connection this process hands to
 * the native side, the commands from JavaScript (queue.c) run as they come,
 * a sweep of the inactivity and connect timers every tick, and each
 * connection's life: adopted or connecting (connect.c), pumping (conn.c),
 * finished (its completion queued for JavaScript by queue.c). Stage 3: the
 * listening sockets JavaScript gave it are in the same epoll set (accept.c),
 * tagged with PUMP_LISTEN_BIT, accepted from after each wake's events.
 *
 * Ids (queue.c) are slot + generation * 2^20; the loop's slot table finds a
 * live connection by id, so a command for one that ended matches none. Epoll
 * events are tagged with the id, the side and the connect attempt, so an
 * event still in a batch for a descriptor that was closed earlier in it (a
 * finished connection, a failed attempt) is recognised and dropped.
 *
 * Stage 3's decide() starts each connect on JavaScript's thread
 * (queue.c pump_connect_here): the backend socket enters the epoll set
 * before the loop has linked its connection, whose command waits in the
 * queue without waking the loop. An event for an id not linked yet makes
 * the loop take the queued commands first, and each tick links what waits,
 * so such a connect's deadline is checked even if no event ever comes.
 *
 * The tick (timers, those links, completions that did not wake JavaScript)
 * runs only while something needs it: a linked connection, a queued
 * command, or an unannounced completion. Otherwise the loop waits with no
 * timeout, so an idle l4lb (listeners, no connection) does not wake 20 times
 * a second; a connect handed over while it so waits wakes it (queue.c
 * loop_asleep, checked and set under the queue's mutex, so the wake cannot
 * be lost). Not "tick while a listener is open": that is every stage 3
 * process, idle or not. Busy, a connection is linked nearly always and the
 * handed-over connects still cost no wake.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "pump.h"

/*
 * The per-thread receive buffer, bytes. 1 MiB, not 64 KiB: on one bulk stream
 * the pump's cost is per call (the peers' TCP receive work runs as softirq
 * inside its send, and each send wakes the reader), not per byte. Measured
 * here (iperf3 one stream, interleaved rounds): 64 KiB 0.41x a direct
 * connection, 1 MiB 0.65-0.71x; 4 MiB 0.78x. What a read can leave held is
 * bounded by PUMP_HELD_BUDGET (conn.c).
 */
#define BUF_SIZE (1024 * 1024)
#define TICK_MS 50           /* timer sweep period, as the JavaScript clock's */
#define MAX_SLOTS 1048576u

static struct {
  pthread_t thread;
  int running;
  int epfd, evfd;
  uint32_t max_conns;
  struct pump_conn **slots; /* every live connection by slot */
  struct pump_conn *head;   /* every live connection, for the sweep */
} P = {.epfd = -1, .evfd = -1};

/** Monotonic clock, ms. */
int64_t pump_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Loop thread: a connection ended; close it, free its slot, queue its completion. */
static void finish(struct pump_conn *c, int ending) {
  for (int side = 0; side < 2 && !c->sole; side++)
    if (c->fd[side] >= 0) epoll_ctl(P.epfd, EPOLL_CTL_DEL, c->fd[side], NULL);
  pump_conn_close(c, ending);
  if (c->prev) c->prev->next = c->next; else P.head = c->next;
  if (c->next) c->next->prev = c->prev;
  P.slots[c->slot] = NULL;
  /* The bytes no sample reported yet: JavaScript adds them to what the samples gave. */
  struct pump_done d = {.id = c->id, .ending = ending, .first_fin = c->first_fin, .bytes_in = c->bytes[0] - c->sampled[0], .bytes_out = c->bytes[1] - c->sampled[1]};
  pump_done(&d, c->slot, 1);
  pump_conn_free(c);
}

/* Loop thread: tell JavaScript how a connect attempt went (`value`: the connect time for EV_CONNECTED). */
static void report(const struct pump_conn *c, int event, double value) {
  struct pump_done d = {.id = c->id, .ending = event, .first_fin = -1, .bytes_in = value};
  pump_done(&d, c->slot, 0);
}

/** The epoll tag of one side of `c`: id + 1 (0 is the eventfd), connect attempt, side. */
uint64_t pump_tag_of(const struct pump_conn *c, int side) {
  return ((uint64_t)c->id + 1) << 9 | (uint64_t)(side == SIDE_SERVER ? c->attempt : 0) << 1 | (uint64_t)side;
}
#define tag_of pump_tag_of

/** The loop's epoll set (epoll_ctl is safe from any thread). */
int pump_epfd(void) { return P.epfd; }

static int watch(struct pump_conn *c, int side) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag_of(c, side)};
  return epoll_ctl(P.epfd, EPOLL_CTL_ADD, c->fd[side], &ev);
}

static struct pump_conn *lookup(double id) {
  uint32_t slot = (uint32_t)(id - (double)(uint64_t)(id / PUMP_GEN_UNIT) * PUMP_GEN_UNIT);
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

/*
 * A connect JavaScript's thread started (pump_connect_here): `r` its outcome
 * then, -1 in progress (the server socket is already watched, its event
 * brought the loop here or will come).
 */
static void add_started(struct pump_conn *c, int r, char *buf, int64_t now) {
  link_conn(c);
  if (watch(c, SIDE_CLIENT) < 0) return finish(c, END_NO_MEMORY);
  if (r == EV_CONNECTED && watch(c, SIDE_SERVER) < 0) r = EV_CONNECT_ERROR;
  connect_outcome(c, r, buf, now);
}

/* A client accepted natively with no backend yet (stage 3): watched for its hang-up until retried or killed. */
static void add_parked(struct pump_conn *c) {
  link_conn(c);
  if (watch(c, SIDE_CLIENT) < 0) finish(c, END_NO_MEMORY);
}

/* Stage 3: stop accepting on a listener; JavaScript hears EV_UNLISTENED once the loop let go of it. */
static void unlisten(const struct pump_cmd *k) {
  if (pump_listen_remove(P.epfd, k->id, k->fd) < 0) return;
  struct pump_done d = {.id = k->id, .ending = EV_UNLISTENED, .first_fin = -1};
  pump_done(&d, 0, 0);
}

/* Stage 3: accept on a listener; when it cannot be watched, JavaScript hears EV_UNLISTENED (first_fin: errno) and takes it back. */
static void listen_on(const struct pump_cmd *k) {
  int r = pump_listen_add(P.epfd, k->fd, k->id);
  if (r < 0) {
    struct pump_done d = {.id = k->id, .ending = EV_UNLISTENED, .first_fin = -r};
    pump_done(&d, 0, 0);
  }
}

static void retry(struct pump_cmd *k, char *buf, int64_t now) {
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

/*
 * Loop thread: a byte-count sample (EV_BYTES: the bytes received from each
 * side since the last sample) of every pumping connection that moved bytes
 * since then, so JavaScript's counters follow long-lived connections while
 * they last (HAProxy updates its byte counters as data moves, not only at
 * the end). The ending's record carries only what no sample reported.
 */
static void sample(void) {
  for (struct pump_conn *c = P.head; c != NULL; c = c->next) {
    if (c->state != ST_PUMPING || (c->bytes[0] == c->sampled[0] && c->bytes[1] == c->sampled[1])) continue;
    struct pump_done d = {.id = c->id, .ending = EV_BYTES, .first_fin = -1, .bytes_in = c->bytes[0] - c->sampled[0], .bytes_out = c->bytes[1] - c->sampled[1]};
    c->sampled[0] = c->bytes[0];
    c->sampled[1] = c->bytes[1];
    pump_done(&d, c->slot, 0);
  }
}

/* Loop thread: run the queued commands; 1 when told to stop. */
static int run_commands(char *buf) {
  size_t n;
  struct pump_cmd *cs = pump_take_cmds(&n);
  int stop = 0;
  int64_t now = pump_now_ms();
  for (size_t i = 0; i < n; i++) {
    struct pump_cmd *k = &cs[i];
    struct pump_conn *c;
    switch (k->kind) {
    case CMD_ADD: add(k->conn, buf, now); break;
    case CMD_CONNECT:
      if (k->started) add_started(k->conn, k->fd, buf, now);
      else add_connecting(k->conn, &k->target, buf, now);
      break;
    case CMD_RETRY: retry(k, buf, now); break;
    case CMD_KILL:
      if ((c = lookup(k->id)) != NULL) finish(c, END_KILLED);
      break;
    case CMD_RETIME:
      if ((c = lookup(k->id)) != NULL) { c->idle_ms = k->idle_ms; c->half_ms = k->half_ms; }
      break;
    case CMD_SAMPLE: sample(); break;
    case CMD_PARK: add_parked(k->conn); break;
    case CMD_LISTEN: listen_on(k); break;
    case CMD_UNLISTEN: unlisten(k); break;
    case CMD_STOP: stop = 1; break;
    }
  }
  free(cs);
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
  int accept_wait = -1; /* pump_accept_ready: -1 none ready, 0 more to accept, else ms to a retry */
  for (int stop = 0; !stop && buf != NULL;) {
    /* A tick only while something needs one (the head comment says why); asleep: no timeout. */
    const int asleep = P.head == NULL && pump_queue_sleep();
    int timeout = -1;
    if (!asleep) {
      timeout = (int)(next_sweep - pump_now_ms());
      if (timeout < 0) timeout = 0;
    }
    if (accept_wait >= 0 && (timeout < 0 || accept_wait < timeout)) timeout = accept_wait;
    int n = epoll_wait(P.epfd, evs, 256, timeout);
    if (asleep) pump_queue_awake();
    int64_t now = pump_now_ms();
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == 0) { /* the eventfd */
        stop |= run_commands(buf);
        continue;
      }
      if (tag & PUMP_LISTEN_BIT) {
        pump_listen_event(tag);
        continue;
      }
      const int side = (int)(tag & 1);
      struct pump_conn *c = lookup((double)((tag >> 9) - 1));
      /* A connect started on JavaScript's thread (pump_connect_here), queued but not linked yet. */
      if (c == NULL && pump_cmds_waiting()) {
        stop |= run_commands(buf);
        c = lookup((double)((tag >> 9) - 1));
      }
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
      if (pump_cmds_waiting()) stop |= run_commands(buf); /* connects started on JavaScript's thread: their deadlines */
      sweep(buf, now);
      pump_done_flush();
      next_sweep = now + TICK_MS;
    }
    if (!stop) accept_wait = pump_accept_ready(pump_now_ms());
  }
  pump_listen_close_all(P.epfd);
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
  const char *budget = getenv("L4LB_PUMP_HELD_BUDGET");
  if (budget != NULL && *budget != '\0') pump_set_held_budget(strtoll(budget, NULL, 10));
  if (max_conns == 0 || max_conns > MAX_SLOTS) max_conns = MAX_SLOTS;
  P.max_conns = max_conns;
  P.slots = calloc(max_conns, sizeof *P.slots);
  if (!P.slots) return -ENOMEM;
  P.evfd = pump_queue_init(max_conns, notify, arg);
  if (P.evfd < 0) return P.evfd;
  P.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (P.epfd < 0) return -errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(P.epfd, EPOLL_CTL_ADD, P.evfd, &ev) < 0) return -errno;
  int r = pthread_create(&P.thread, NULL, loop_main, NULL);
  if (r != 0) return -r;
  (void)pthread_setname_np(P.thread, "l4lb-pump"); /* top -H, /proc/<pid>/task/<tid>/comm (test/proxy/native-idle.test.ts) */
  P.running = 1;
  pump_queue_open(1);
  return 0;
}

/** Stop the loop thread (its connections are reset) and wait for it. */
void pump_stop(void) {
  if (!P.running) return;
  pump_queue_open(0);
  struct pump_cmd k = {.kind = CMD_STOP};
  if (pump_submit(&k) == 0) pthread_join(P.thread, NULL);
  P.running = 0;
}

