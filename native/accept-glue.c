/*
 * Node-API glue of stage 3 (native accept): JavaScript gives the loop a
 * listening socket (listen), takes it back or has it closed (unlisten), and
 * answers a batch of accepted clients in one call (decide). The clients
 * arrive as EV_ACCEPTED records in addon.c's completion batches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <sys/socket.h>
#include <unistd.h>

#include "glue.h"
#include "pump.h"

/* Close `fd` with a reset (SO_LINGER 0): a client refused by JavaScript's policy. */
static void reset_fd(int fd) {
  struct linger lg = {1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  (void)close(fd);
}

/* One decision of decide(): [fd, kind, port, connectMs, idleMs, halfClosedMs]. */
#define DECIDE_FIELDS 6
enum { DECIDE_CONNECT = 0, DECIDE_PARK = 1, DECIDE_RESET = 2 };

/*
 * decide(records, hosts, toServer): JavaScript's answer for a batch of
 * natively accepted clients, in one call. records: a Float64Array of
 * DECIDE_FIELDS per client: its fd, what to do (0 connect hosts[i]:port
 * within connectMs, sending toServer[i] first; 1 park it with no backend
 * yet (queued); 2 reset it (refused)), then the timer values. Returns a
 * Float64Array: per client its id (connect, park), 0 (reset), or -errno when
 * the pump cannot take it (its fd untouched: JavaScript serves it instead).
 * The loop is woken once for the whole batch.
 */
napi_value js_decide(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], ab, out;
  napi_typedarray_type type;
  size_t len, off;
  void *data;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return NULL;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &len, &data, &ab, &off));
  if (type != napi_float64_array || len % DECIDE_FIELDS != 0) {
    napi_throw_type_error(env, NULL, "l4lb native: decide expects a Float64Array of records");
    return NULL;
  }
  const double *r = data;
  size_t n = len / DECIDE_FIELDS;
  double *res;
  CHECK(napi_create_arraybuffer(env, n * sizeof(double), (void **)&res, &ab));
  CHECK(napi_create_typedarray(env, napi_float64_array, n, ab, 0, &out));
  pump_hold_wake(1);
  for (size_t i = 0; i < n; i++, r += DECIDE_FIELDS) {
    const int fd = (int)r[0], kind = (int)r[1];
    const uint32_t idle = (uint32_t)r[4], half = (uint32_t)r[5];
    if (kind == DECIDE_RESET) {
      reset_fd(fd);
      res[i] = 0;
      continue;
    }
    if (kind == DECIDE_PARK) {
      res[i] = pump_park(fd, idle, half);
      continue;
    }
    napi_value host, port, ms, buf;
    char *ts;
    size_t tsl;
    struct pump_target t;
    if (napi_get_element(env, argv[1], (uint32_t)i, &host) != napi_ok ||
        napi_get_element(env, argv[2], (uint32_t)i, &buf) != napi_ok ||
        napi_create_uint32(env, (uint32_t)r[2], &port) != napi_ok ||
        napi_create_uint32(env, (uint32_t)r[3], &ms) != napi_ok || get_bytes(env, buf, &ts, &tsl) < 0) {
      res[i] = -EINVAL;
      continue;
    }
    double id = get_target(env, host, port, ms, &t);
    if (id == 0) {
      int s = pump_socket(t.addr.ss_family);
      id = s < 0 ? s : pump_connect_here(fd, s, &t, idle, half, ts, tsl);
      if (id < 0 && s >= 0) close(s);
    }
    res[i] = id;
  }
  pump_hold_wake(0);
  return out;
}

/*
 * listen(fd, tag): accept on a dup of listening socket `fd` (JavaScript then
 * closes its own handle), reporting its clients under `tag`. Returns the
 * dup's descriptor (to hand back to Node later, see unlisten), or -errno.
 */
napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  uint32_t fd;
  double tag;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_u32(env, argv[0], &fd)) return NULL;
  CHECK(napi_get_value_double(env, argv[1], &tag));
  int d = dup_fd((int)fd);
  int r = d < 0 ? -errno : pump_listen(d, tag);
  if (r < 0 && d >= 0) close(d);
  CHECK(napi_create_int32(env, r < 0 ? r : d, &out));
  return out;
}

/*
 * unlisten(tag, fd, close): stop accepting on `tag` (its descriptor `fd`).
 * close: the socket stops listening now (shutdown: new clients are refused,
 * as when Node closes a server) and the loop closes it; else the loop lets
 * go of it and JavaScript may listen on `fd` again. EV_UNLISTENED follows.
 */
napi_value js_unlisten(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  double tag;
  uint32_t fd;
  bool close_it;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_u32(env, argv[1], &fd)) return NULL;
  CHECK(napi_get_value_double(env, argv[0], &tag));
  CHECK(napi_get_value_bool(env, argv[2], &close_it));
  if (close_it) (void)shutdown((int)fd, SHUT_RD);
  CHECK(napi_create_int32(env, pump_unlisten(tag, close_it), &out));
  return out;
}
