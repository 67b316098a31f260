/* hiredis async contexts on libuv: the adapter of hiredis' adapters/libuv.h, compiled once
 * (see include/switchyard_redis.h). */
#include "switchyard_redis.h"

#include <errno.h>
#include <stdlib.h>

typedef struct sy__redis_events {
    redisAsyncContext *context; /* NULL once hiredis has released the context */
    uv_poll_t handle;
    int events;
} sy__redis_events;

static void sy__redis_poll(uv_poll_t *handle, int status, int events) {
    sy__redis_events *p = handle->data;
    /* An error on the socket is seen by the read or write that follows; hiredis reports it. */
    if (status != 0) events = UV_READABLE | UV_WRITABLE;
    /* The read can free the context (a disconnect): check again before the write. */
    if (p->context != NULL && (events & UV_READABLE)) redisAsyncHandleRead(p->context);
    if (p->context != NULL && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

static void sy__redis_update(sy__redis_events *p) {
    if (p->events) uv_poll_start(&p->handle, p->events, sy__redis_poll);
    else uv_poll_stop(&p->handle);
}

static void sy__redis_add_read(void *data) {
    sy__redis_events *p = data;
    p->events |= UV_READABLE;
    sy__redis_update(p);
}

static void sy__redis_del_read(void *data) {
    sy__redis_events *p = data;
    p->events &= ~UV_READABLE;
    sy__redis_update(p);
}

static void sy__redis_add_write(void *data) {
    sy__redis_events *p = data;
    p->events |= UV_WRITABLE;
    sy__redis_update(p);
}

static void sy__redis_del_write(void *data) {
    sy__redis_events *p = data;
    p->events &= ~UV_WRITABLE;
    sy__redis_update(p);
}

static void sy__redis_closed(uv_handle_t *handle) {
    free(handle->data);
}

/* hiredis calls this once, from the free of the context; the context is gone after it. */
static void sy__redis_cleanup(void *data) {
    sy__redis_events *p = data;
    p->context = NULL;
    uv_close((uv_handle_t *)&p->handle, sy__redis_closed);
}

int sy_redis_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    if (ac->ev.data != NULL) return -EEXIST;
    sy__redis_events *p = calloc(1, sizeof(*p));
    if (p == NULL) return -ENOMEM;
    int rc = uv_poll_init(loop, &p->handle, ac->c.fd);
    if (rc != 0) {
        /* Not registered with the loop: freed here, never closed. */
        free(p);
        return rc;
    }
    p->handle.data = p;
    p->context = ac;
    ac->ev.data = p;
    ac->ev.addRead = sy__redis_add_read;
    ac->ev.delRead = sy__redis_del_read;
    ac->ev.addWrite = sy__redis_add_write;
    ac->ev.delWrite = sy__redis_del_write;
    ac->ev.cleanup = sy__redis_cleanup;
    return 0;
}

int sy_redis_is_connected(const redisAsyncContext *ac) {
    return (ac->c.flags & REDIS_CONNECTED) != 0;
}

const char *sy_redis_errstr(const redisAsyncContext *ac) {
    if (ac->errstr != NULL) return ac->errstr;
    return ac->c.err != 0 ? ac->c.errstr : "";
}
