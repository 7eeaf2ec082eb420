/*
 * Node-API glue: the functions JavaScript calls (src/proxy/native-engine.ts
 * wraps them) and the one thread-safe function that carries completions back
 * in batches: one call per wake-up, each a Float64Array of
 * [id, ending, firstFin, bytesIn, bytesOut] per finished connection, or
 * [id, EV_*, -1, connectMs, 0] per connect outcome (stage 2).
 * Descriptors are dup'ed here, so JavaScript can close its own handles; the
 * backend sockets of stage 2 are created here, on the caller's thread, so
 * running out of descriptors is known at once. Stage 3: a batch with
 * EV_ACCEPTED records comes with a second argument, their addresses (the
 * layout is in pump.h); the functions that answer them are in accept-glue.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glue.h"
#include "pump.h"

#define DONE_FIELDS 5
#define BATCH_MAX 1024

static napi_threadsafe_function tsfn;

/* Main thread: hand every waiting completion to the JavaScript callback. */
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  (void)data;
  if (env == NULL || cb == NULL) return;
  static struct pump_done done[BATCH_MAX];
  size_t n;
  while ((n = pump_take_done(done, BATCH_MAX)) > 0) {
    napi_value ab, args[2], undef;
    double *p;
    size_t accepted = 0;
    if (napi_create_arraybuffer(env, n * DONE_FIELDS * sizeof(double), (void **)&p, &ab) != napi_ok) return;
    for (size_t i = 0; i < n; i++) {
      p[i * DONE_FIELDS + 0] = done[i].id;
      p[i * DONE_FIELDS + 1] = done[i].ending;
      p[i * DONE_FIELDS + 2] = done[i].first_fin;
      p[i * DONE_FIELDS + 3] = done[i].bytes_in;
      p[i * DONE_FIELDS + 4] = done[i].bytes_out;
      if (done[i].ending == EV_ACCEPTED) accepted++;
    }
    if (napi_create_typedarray(env, napi_float64_array, n * DONE_FIELDS, ab, 0, &args[0]) != napi_ok) return;
    napi_get_undefined(env, &undef);
    args[1] = undef;
    if (accepted > 0) {
      char *a;
      if (napi_create_buffer(env, accepted * 2 * PUMP_ADDR_LEN, (void **)&a, &args[1]) != napi_ok) return;
      for (size_t i = 0; i < n; i++) {
        if (done[i].ending != EV_ACCEPTED) continue;
        memcpy(a, done[i].addr, 2 * PUMP_ADDR_LEN);
        a += 2 * PUMP_ADDR_LEN;
      }
    }
    if (napi_call_function(env, undef, cb, 2, args, NULL) != napi_ok) return;
  }
}

/* Loop thread: completions started waiting. */
static void notify(void *arg) {
  (void)arg;
  napi_call_threadsafe_function(tsfn, NULL, napi_tsfn_nonblocking);
}

static void cleanup(void *arg) {
  (void)arg;
  pump_stop();
}

napi_value arg_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "l4lb native: expected a number");
    return NULL;
  }
  return v;
}

/* start(onDone, maxConns): start the loop thread; throws on failure. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  uint32_t max_conns;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || arg_u32(env, argv[1], &max_conns) == NULL) return NULL;
  CHECK(napi_create_string_utf8(env, "l4lb-pump", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn));
  CHECK(napi_unref_threadsafe_function(env, tsfn));
  int r = pump_start(notify, NULL, max_conns);
  if (r < 0) {
    napi_throw_error(env, NULL, "l4lb native: the pump thread did not start");
    return NULL;
  }
  CHECK(napi_add_env_cleanup_hook(env, cleanup, NULL));
  return NULL;
}

int dup_fd(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d >= 0) (void)fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK);
  return d;
}

int get_bytes(napi_env env, napi_value v, char **data, size_t *len) {
  bool is_buf = false;
  *data = NULL;
  *len = 0;
  if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok ? 0 : -1;
}

/*
 * adopt(clientFd, serverFd, idleMs, halfClosedMs, quietMs, ended, toServer,
 * toClient): take over a connection (ended: bit 0 the client's FIN, bit 1
 * the backend's, already forwarded) (buffers: bytes JavaScript read and the pump sends
 * first, or null). Returns its id (>= 0), or -errno when it cannot take it
 * (the caller keeps it on the JavaScript engine; the descriptors are untouched).
 */
static napi_value js_adopt(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], out;
  uint32_t cfd, sfd, idle, half, quiet, ended;
  char *ts, *tc;
  size_t tsl, tcl;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !arg_u32(env, argv[0], &cfd) || !arg_u32(env, argv[1], &sfd) ||
      !arg_u32(env, argv[2], &idle) || !arg_u32(env, argv[3], &half) ||
      !arg_u32(env, argv[4], &quiet) || !arg_u32(env, argv[5], &ended))
    return NULL;
  if (get_bytes(env, argv[6], &ts, &tsl) < 0 || get_bytes(env, argv[7], &tc, &tcl) < 0) {
    napi_throw_type_error(env, NULL, "l4lb native: bad buffer");
    return NULL;
  }
  double id;
  int c = dup_fd((int)cfd), s = c < 0 ? -1 : dup_fd((int)sfd);
  if (c < 0 || s < 0) {
    id = -errno;
    if (c >= 0) close(c);
  } else {
    id = pump_add(c, s, idle, half, quiet, ended, ts, tsl, tc, tcl);
    if (id < 0) {
      close(c);
      close(s);
    }
  }
  CHECK(napi_create_double(env, id, &out));
  return out;
}

int get_target(napi_env env, napi_value host, napi_value port, napi_value ms, struct pump_target *t) {
  char h[64];
  size_t hl;
  uint32_t p, m;
  if (napi_get_value_string_utf8(env, host, h, sizeof h, &hl) != napi_ok || !arg_u32(env, port, &p) ||
      !arg_u32(env, ms, &m))
    return -EINVAL;
  return pump_target_parse(t, h, p, m);
}

/*
 * connect(clientFd, host, port, connectMs, idleMs, halfClosedMs, toServer):
 * take the client and connect a new socket to host (an IP literal) and port
 * within connectMs; toServer (a PROXY header, held client bytes, or null) is
 * sent first. Returns its id (>= 0), or -errno when it cannot take the
 * connection (the caller keeps it on JavaScript; its descriptor is untouched).
 */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], out;
  uint32_t cfd, idle, half;
  struct pump_target t;
  char *ts;
  size_t tsl;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || !arg_u32(env, argv[0], &cfd) || !arg_u32(env, argv[4], &idle) || !arg_u32(env, argv[5], &half))
    return NULL;
  if (get_bytes(env, argv[6], &ts, &tsl) < 0) {
    napi_throw_type_error(env, NULL, "l4lb native: bad buffer");
    return NULL;
  }
  double id = get_target(env, argv[1], argv[2], argv[3], &t);
  if (id == 0) {
    int s = pump_socket(t.addr.ss_family);
    int c = s < 0 ? -1 : dup_fd((int)cfd);
    if (s < 0 || c < 0) {
      id = s < 0 ? s : -errno;
      if (s >= 0) close(s);
    } else {
      id = pump_connect(c, s, &t, idle, half, ts, tsl);
      if (id < 0) {
        close(c);
        close(s);
      }
    }
  }
  CHECK(napi_create_double(env, id, &out));
  return out;
}

/*
 * retry(id, host, port, connectMs, toServer): after a failed connect, try
 * another backend (JavaScript chose it) for a connection this side holds.
 * 0, or -errno when no socket could be made (JavaScript counts it as that
 * attempt's connect error). An id that has ended meanwhile is ignored.
 */
static napi_value js_retry(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  double id;
  struct pump_target t;
  char *ts;
  size_t tsl;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return NULL;
  CHECK(napi_get_value_double(env, argv[0], &id));
  if (get_bytes(env, argv[4], &ts, &tsl) < 0) {
    napi_throw_type_error(env, NULL, "l4lb native: bad buffer");
    return NULL;
  }
  int r = get_target(env, argv[1], argv[2], argv[3], &t);
  if (r == 0) {
    int s = pump_socket(t.addr.ss_family);
    r = s < 0 ? s : pump_retry(id, s, &t, ts, tsl);
    if (r < 0 && s >= 0) close(s);
  }
  CHECK(napi_create_int32(env, r, &out));
  return out;
}

/* kill(id): reset both sides now; the completion says END_KILLED. */
static napi_value js_kill(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_double(env, argv[0], &id));
  pump_kill(id);
  return NULL;
}

/* retime(id, idleMs, halfClosedMs): new timer values (a reload). */
static napi_value js_retime(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double id;
  uint32_t idle, half;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_double(env, argv[0], &id));
  if (!arg_u32(env, argv[1], &idle) || !arg_u32(env, argv[2], &half)) return NULL;
  pump_retime(id, idle, half);
  return NULL;
}

/* ref(on): keep the event loop alive while connections are owned natively. */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_bool(env, argv[0], &on));
  CHECK(on ? napi_ref_threadsafe_function(env, tsfn) : napi_unref_threadsafe_function(env, tsfn));
  return NULL;
}

/* held(): bytes the pump holds unsent, over every connection. */
static napi_value js_held(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_double(env, (double)pump_held_bytes(), &out));
  return out;
}

/* sample(): ask for a byte-count sample of every connection that moved bytes since its last (delivered with the completions). */
static napi_value js_sample(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  pump_sample();
  return NULL;
}

/* owned(): connections the pump owns now. */
static napi_value js_owned(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_uint32(env, pump_owned(), &out));
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
      {"start", js_start}, {"adopt", js_adopt}, {"connect", js_connect}, {"retry", js_retry}, {"kill", js_kill},
      {"retime", js_retime}, {"ref", js_ref}, {"owned", js_owned}, {"held", js_held},
      {"sample", js_sample}, {"decide", js_decide}, {"listen", js_listen}, {"unlisten", js_unlisten},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}
