/* switchyard_redis: hiredis' async contexts on a libuv loop (Sources/Redis).
 *
 * hiredis 0.14 ships its libuv adapter as header-only static functions (adapters/libuv.h);
 * this is the same adapter compiled once, with a failure path that leaves the context as it
 * was (the header's version sets the hooks before it can fail, so a later redisAsyncFree
 * would call its cleanup hook on NULL). Kept apart from CSupport so that only what talks to
 * Redis links hiredis. */
#ifndef SWITCHYARD_REDIS_H
#define SWITCHYARD_REDIS_H

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <uv.h>

/* Attaches `ac` to `loop` (a uv_poll_t on its socket). Returns 0, or a negative errno with the
 * context untouched (the caller then frees it with redisAsyncFree).
 * Ownership: the poll handle and its memory belong to the context from here on; hiredis calls
 * the cleanup hook exactly once when the context is freed (redisAsyncFree, or a disconnect),
 * which closes the handle, and the close callback frees the memory. */
int sy_redis_attach(redisAsyncContext *ac, uv_loop_t *loop);

/* redisAsyncFormattedCommand (cmd: one RESP command of len bytes, copied, followed by a NUL
 * byte: hiredis looks for the command's arguments with strchr), for a context attached by
 * sy_redis_attach. When the context is connected its output is not written at once: *flush
 * is set to 1 when this command is the first since the last write, and the caller then calls
 * sy_redis_flush once, later in the same loop turn (every command of a turn in one write). */
int sy_redis_command(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, const char *cmd, size_t len,
                     int *flush);

/* Writes what sy_redis_command queued (nothing if that was written already). The context
 * may be freed inside (a write error disconnects it): the caller checks before using it. */
void sy_redis_flush(redisAsyncContext *ac);

/* The REDIS_CONNECTED flag of the context: hiredis calls the disconnect callback while freeing
 * a context only when it is set. */
int sy_redis_is_connected(const redisAsyncContext *ac);

/* The context's error text ("" when none): valid until the context is freed. */
const char *sy_redis_errstr(const redisAsyncContext *ac);

#endif
