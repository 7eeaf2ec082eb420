/*
 * What the Node-API glue files (addon.c, accept-glue.c) share: argument
 * helpers and the functions accept-glue.c gives JavaScript.
 */
#ifndef L4LB_GLUE_H
#define L4LB_GLUE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "pump.h"

/* Throw a JavaScript error and return NULL when a Node-API call fails. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "l4lb native: " #call " failed");                                \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

/* `v` as a uint32 in *out: v, or NULL after throwing a TypeError. */
napi_value arg_u32(napi_env env, napi_value v, uint32_t *out);
/* A non-blocking, close-on-exec dup of `fd`, or -1 (errno set). */
int dup_fd(int fd);
/* A Buffer's bytes (none for null/undefined): 0, or -1 when `v` is a Buffer that cannot be read. */
int get_bytes(napi_env env, napi_value v, char **data, size_t *len);
/* host (an IP literal), port and connect ms into *t: 0, or -EINVAL. */
int get_target(napi_env env, napi_value host, napi_value port, napi_value ms, struct pump_target *t);

/* accept-glue.c: stage 3's functions (see there). */
napi_value js_decide(napi_env env, napi_callback_info info);
napi_value js_listen(napi_env env, napi_callback_info info);
napi_value js_unlisten(napi_env env, napi_callback_info info);

#endif
