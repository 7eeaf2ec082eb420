/*
 * The native pump: moves bytes between two connected, non-blocking TCP
 * sockets until both directions are closed, then reports how it ended. The
 * client socket is one JavaScript accepted; the backend socket is one
 * JavaScript connected (stage 1) or one this side connects to the backend
 * JavaScript picked (stage 2, connect.c), reporting each attempt's outcome.
 * No policy lives here: which backend, which retry, which timeout values,
 * what to log and count are decided in TypeScript.
 *
 * Stage 3 (accept.c): the loop also accepts on plain listening sockets
 * JavaScript bound and gave it (a dup), and reports each client (descriptor,
 * address, port) for JavaScript to pick a backend; the decisions of a whole
 * batch come back in one call (addon.c js_decide).
 *
 * Threads: one loop thread per process (loop.c) owns every connection;
 * JavaScript talks to it only through the command queue (queue.c) and
 * hears back through completion batches (the callback given to pump_start).
 *
 * A batch, as JavaScript sees it (addon.c call_js): a Float64Array of
 * records of 5 numbers [id, code, first_fin, a, b], and, when the batch has
 * EV_ACCEPTED records, a Buffer of PUMP_ADDR_LEN * 2 bytes per such record
 * (in their order): the client's address then the local address, each
 * NUL-terminated text (inet_ntop, as Node's remoteAddress spells it; an
 * IPv6 address does not fit in a double). Records:
 *   endings and EV_CONNECT_*: [conn id, code, first_fin or -1, bytes/ms, bytes]
 *   EV_ACCEPTED:     [listener tag, EV_ACCEPTED, client fd, client port, local port]
 *   EV_UNLISTENED:   [listener tag, EV_UNLISTENED, -1 or errno, 0, 0] (the loop let go of it; errno: it could not watch it)
 *   EV_ACCEPT_ERROR: [listener tag, EV_ACCEPT_ERROR, errno, 0, 0] (EMFILE...: retried each tick)
 */
#ifndef L4LB_PUMP_H
#define L4LB_PUMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Sides of a connection, also the index of its descriptor. */
enum { SIDE_CLIENT = 0, SIDE_SERVER = 1 };

/*
 * How a connection ended (mirrored by ENDINGS in src/proxy/native-engine.ts;
 * docs/errors.md "endings" says what each peer sees).
 */
enum pump_ending {
  END_CLIENT_CLOSED = 0, /* both FINs forwarded, the client's came first */
  END_SERVER_CLOSED = 1, /* both FINs forwarded, the backend's came first */
  END_CLIENT_RESET = 2,  /* the client reset or errored: backend reset */
  END_SERVER_RESET = 3,  /* the backend reset or errored: client reset */
  END_IDLE = 4,          /* idle timer: both reset */
  END_HALF_CLOSED = 5,   /* half-closed timer: both reset */
  END_KILLED = 6,        /* a kill command from JavaScript: both reset */
  END_NO_MEMORY = 7,     /* could not hold unsent bytes: both reset */
  END_CLIENT_EARLY = 8,  /* the client reset or closed while its backend was being connected */
  /* Not endings: a connect attempt's outcome; the connection goes on. */
  EV_CONNECT_ERROR = 9,   /* refused, unreachable, ...: parked until JavaScript retries or kills */
  EV_CONNECT_TIMEOUT = 10, /* no answer within the connect timeout: parked likewise */
  EV_CONNECTED = 11,      /* connected: now pumping (value: the connect time, ms) */
  EV_BYTES = 12,          /* a sample of a connection still pumping: bytes from each side since the last sample */
  /* Stage 3, listener events (the id is the listener's tag, not a connection's). */
  EV_ACCEPTED = 13,     /* a client accepted: its descriptor is JavaScript's until it decides (js_decide) */
  EV_UNLISTENED = 14,   /* the loop no longer watches the listener (CMD_UNLISTEN done) */
  EV_ACCEPT_ERROR = 15  /* accept4 failed (first_fin: errno) */
};

#define PUMP_ADDR_LEN 48 /* INET6_ADDRSTRLEN rounded up: one address as text, NUL-terminated */

/* What a connection is doing (struct pump_conn.state). */
enum { ST_PUMPING = 0, ST_CONNECTING = 1, ST_PARKED = 2 };

/* One direction's bytes that were received but not yet sent (at most one read). */
struct pump_dir {
  char *buf;
  uint32_t off, len;
  uint8_t eof;  /* the source sent its FIN (recv returned 0) */
  uint8_t shut; /* that FIN was forwarded (shutdown SHUT_WR on the destination) */
};

/* One proxied connection, owned by the loop thread once added. */
struct pump_conn {
  double id; /* slot + generation, as JavaScript knows it */
  uint32_t slot;
  int fd[2];
  uint8_t rd[2], wr[2]; /* edge-triggered readiness per side */
  int8_t first_fin;     /* side whose FIN came first, -1 none */
  struct pump_dir dir[2]; /* dir[d]: bytes from side d to side 1-d */
  double bytes[2];      /* bytes received from each side */
  double sampled[2];    /* bytes[] as the last EV_BYTES sample reported them */
  int64_t last_ms;      /* last byte or FIN either way (monotonic ms) */
  uint32_t idle_ms, half_ms; /* 0 = off */
  uint8_t attempt;      /* connect attempts so far (wraps): tags the backend socket's epoll events */
  uint8_t state;        /* ST_*: pumping, connecting its backend, or waiting for JavaScript after a failed connect */
  uint8_t sole;         /* both descriptors are the pump's alone (stage 3 decide): close() takes them out of the epoll set, no EPOLL_CTL_DEL */
  int64_t connect_deadline; /* ST_CONNECTING: monotonic ms */
  double connect_start;     /* ST_CONNECTING: monotonic ms, sub-ms precision */
  struct pump_conn *prev, *next;
};

/* A backend to connect to: its address and the connect timeout (ms) JavaScript chose. */
struct pump_target {
  struct sockaddr_storage addr;
  socklen_t addrlen;
  uint32_t connect_ms;
};

/* A finished connection (or, EV_*, a connect attempt's outcome), as sent back to JavaScript. */
struct pump_done {
  double id;
  int ending;
  int first_fin;
  /* From the client, from the backend, since the last EV_BYTES sample (all of them when none); EV_CONNECTED: the connect time (ms), 0 */
  double bytes_in, bytes_out;
  /* EV_ACCEPTED only: the client's address and the local address, as text */
  char addr[2][PUMP_ADDR_LEN];
};

int pump_dir_keep(struct pump_dir *x, const char *buf, size_t n);
/* conn.c: move bytes; each returns -1 while the connection goes on, else an ending. */
int pump_conn_io(struct pump_conn *c, char *buf, size_t bufsz, int64_t now);
int pump_conn_event(struct pump_conn *c, int side, uint32_t events, char *buf, size_t bufsz, int64_t now);
int pump_conn_timers(const struct pump_conn *c, int64_t now);
void pump_conn_close(struct pump_conn *c, int ending);
void pump_conn_free(struct pump_conn *c);

/* connect.c: a backend connect (no retry or choice here: JavaScript decides). */
int pump_target_parse(struct pump_target *t, const char *host, uint32_t port, uint32_t connect_ms);
int pump_socket(int family);
int pump_connect_start(struct pump_conn *c, const struct pump_target *t, int64_t now);
int pump_connect_event(struct pump_conn *c, int side, uint32_t events, int64_t now);
int pump_connect_timers(const struct pump_conn *c, int64_t now);
double pump_now_ms_f(void);

typedef void (*pump_notify_fn)(void *arg); /* called on the loop thread when completions wait */

/* queue.c: commands to the loop thread, completions back, slots and ids. */
#define PUMP_GEN_UNIT 1048576.0 /* 2^20: slots per generation in an id */
/*
 * Generations wrap at 2^11, so every id is below 2^31: a small integer to V8,
 * kept unboxed in JavaScript's Session and Map (16 bytes per connection
 * less than a boxed double). A stale command would need its slot reused
 * 2,048 times before it is carried out to hit a later connection; JavaScript
 * sends none for a connection after its ending.
 */
#define PUMP_GEN_MASK 2047u
enum pump_cmd_kind { CMD_ADD, CMD_CONNECT, CMD_RETRY, CMD_KILL, CMD_RETIME, CMD_SAMPLE, CMD_STOP, CMD_PARK, CMD_LISTEN, CMD_UNLISTEN };
struct pump_cmd {
  enum pump_cmd_kind kind;
  double id;
  struct pump_conn *conn;    /* CMD_ADD, CMD_CONNECT: the new connection */
  uint32_t idle_ms, half_ms; /* CMD_RETIME */
  int fd;                    /* CMD_RETRY: the fresh backend socket; CMD_LISTEN: the listening socket; CMD_UNLISTEN: 1 to close it */
  struct pump_dir to_server; /* CMD_RETRY: what to send first once connected */
  struct pump_target target; /* CMD_CONNECT, CMD_RETRY */
  int started;               /* CMD_CONNECT: JavaScript's thread already called connect() (pump_connect_here); fd: its outcome (-1 in progress, the server socket then already in the epoll set) */
};
int pump_queue_init(uint32_t max_conns, pump_notify_fn notify, void *arg);
void pump_queue_open(int open);
int pump_submit(const struct pump_cmd *k);
/* While on, pump_submit queues without waking the loop; turning it off wakes it once (a batch of decisions). */
void pump_hold_wake(int on);
struct pump_cmd *pump_take_cmds(size_t *n);
int pump_cmds_waiting(void);
/* Loop thread: may it wait with no tick (nothing queued for it)? 1 yes; pump_queue_awake when back. */
int pump_queue_sleep(void);
void pump_queue_awake(void);
void pump_done(const struct pump_done *d, uint32_t slot, int release);
void pump_done_flush(void);

/* queue.c, JavaScript's side (the Node-API glue calls these). */
/* Take ownership of a connection (descriptors already dup'ed): its id, or -errno. */
/*
 * `quiet_ms`: time since the last byte or FIN (JavaScript's view); `ended`:
 * bit 0 the client's FIN, bit 1 the backend's, already forwarded by JavaScript.
 */
double pump_add(int cfd, int sfd, uint32_t idle_ms, uint32_t half_ms, uint32_t quiet_ms, uint32_t ended,
                const char *to_server, size_t to_server_len,
                const char *to_client, size_t to_client_len);
/*
 * Stage 2: take the client `cfd` (dup'ed) and the fresh backend socket `sfd`
 * (pump_socket) and connect it to `t`; `to_server` (a PROXY header, held
 * client bytes) is sent first once connected. Its id, or -errno.
 */
double pump_connect(int cfd, int sfd, const struct pump_target *t, uint32_t idle_ms, uint32_t half_ms,
                    const char *to_server, size_t to_server_len);
/*
 * Stage 3: take the accepted client `cfd` (not dup'ed: JavaScript never had a
 * handle on it) with no backend yet: parked (watched for its hang-up) until
 * pump_retry connects it or pump_kill resets it. Its id, or -errno (cfd untouched).
 */
double pump_park(int cfd, uint32_t idle_ms, uint32_t half_ms);
/*
 * Stage 3, decide(): as pump_connect, but connect() is called here, on the
 * caller's thread, and a connect in progress goes straight into the loop's
 * epoll set without waking the loop: the loop links the connection when the
 * connect's completion (or its timer tick) wakes it; a loop waiting with no
 * tick (pump_queue_sleep) is woken at once. Its id, or -errno (cfd and sfd
 * untouched).
 */
double pump_connect_here(int cfd, int sfd, const struct pump_target *t, uint32_t idle_ms, uint32_t half_ms,
                         const char *to_server, size_t to_server_len);
/* Stage 3: accept on listening socket `fd` (the loop owns this descriptor from now on), reporting under `tag`. 0, or -errno. */
int pump_listen(int fd, double tag);
/* Stage 3: stop accepting on `tag`; `close_it`: close its descriptor, else it is JavaScript's again once EV_UNLISTENED comes. */
int pump_unlisten(double tag, int close_it);
/* Another attempt for a parked connection (a fresh `sfd`, a new `to_server`): 0, or -errno (sfd untouched). */
int pump_retry(double id, int sfd, const struct pump_target *t, const char *to_server, size_t to_server_len);
void pump_kill(double id);
void pump_retime(double id, uint32_t idle_ms, uint32_t half_ms);
/* Ask for an EV_BYTES completion for every pumping connection whose byte counts moved since its last one. */
void pump_sample(void);
/* Move waiting completions to `out` (up to max): how many. */
size_t pump_take_done(struct pump_done *out, size_t max);
uint32_t pump_owned(void);
/*
 * Bytes received but not yet sent are held per direction (at most one read).
 * A read is at most PUMP_READ_SMALL bytes when its destination is already
 * known to be full, or while the pump holds PUMP_HELD_BUDGET bytes or more in
 * all: a full-size read held by a stuck peer costs up to the whole buffer, so
 * past the budget every connection holds at most what a 64 KiB buffer did.
 */
#define PUMP_READ_SMALL (64 * 1024)
#define PUMP_HELD_BUDGET (8 * 1024 * 1024) /* the environment's L4LB_PUMP_HELD_BUDGET (bytes) replaces it at pump_start (tests) */
/* Bytes held unsent across every connection (at most one read per direction each). */
int64_t pump_held_bytes(void);
int64_t pump_held_budget(void);
void pump_set_held_budget(int64_t bytes);
void pump_held_add(int64_t delta);

/* accept.c (loop thread): the listening sockets the loop accepts on. */
#define PUMP_LISTEN_BIT (1ULL << 63) /* set in the epoll tag of a listener (connections' tags never reach it) */
int pump_listen_add(int epfd, int fd, double tag);
int pump_listen_remove(int epfd, double tag, int close_it);
void pump_listen_event(uint64_t tag);
int pump_accept_ready(int64_t now);
void pump_listen_close_all(int epfd);

/* loop.c */
int pump_start(pump_notify_fn notify, void *arg, uint32_t max_conns);
void pump_stop(void);
int64_t pump_now_ms(void);
/* The loop's epoll set and the epoll tag of one side of `c` (pump_connect_here). */
int pump_epfd(void);
uint64_t pump_tag_of(const struct pump_conn *c, int side);

#endif
