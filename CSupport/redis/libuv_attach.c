/* hiredis async contexts on libuv: the adapter of hiredis' adapters/libuv.h, compiled once
 * (see include/switchyard_redis.h). */
#include "switchyard_redis.h"

#include <errno.h>
#include <stdlib.h>

typedef struct sy__redis_events {
    redisAsyncContext *context; /* NULL once hiredis has released the context */
    uv_poll_t handle;
    int events;
    int in_command;    /* inside sy_redis_command: a write request may wait for sy_redis_flush */
    int write_wanted;  /* output queued, to be written by sy_redis_flush */
} sy__redis_events;

static void sy__redis_poll(uv_poll_t *handle, int status, int events) {
    sy__redis_events *p = handle->data;
    /* An error on the socket is seen by the read or write that follows; hiredis reports it. */
    if (status != 0) events = UV_READABLE | UV_WRITABLE;
    /* The read can free the context (a disconnect): check again before the write. */
    if (p->context != NULL && (events & UV_READABLE)) redisAsyncHandleRead(p->context);
    if (p->context != NULL && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

/* Only on a change: libuv's uv_poll_start removes the fd from epoll and adds it back, two
 * system calls that hiredis would otherwise cost every command (it asks for reads and writes
 * again after each one). */
static void sy__redis_set_events(sy__redis_events *p, int events) {
    if (events == p->events) return;
    p->events = events;
    if (events) uv_poll_start(&p->handle, events, sy__redis_poll);
    else uv_poll_stop(&p->handle);
}

static void sy__redis_add_read(void *data) {
    sy__redis_events *p = data;
    sy__redis_set_events(p, p->events | UV_READABLE);
}

static void sy__redis_del_read(void *data) {
    sy__redis_events *p = data;
    sy__redis_set_events(p, p->events & ~UV_READABLE);
}

static void sy__redis_add_write(void *data) {
    sy__redis_events *p = data;
    /* A command on a connected context: written once per loop turn by sy_redis_flush, with
     * every other command of the turn, without asking epoll whether the socket is writable.
     * Before the connection is up, only the writable event tells hiredis it is. */
    if (p->in_command && p->context != NULL && (p->context->c.flags & REDIS_CONNECTED)) {
        p->write_wanted = 1;
        return;
    }
    sy__redis_set_events(p, p->events | UV_WRITABLE);
}

static void sy__redis_del_write(void *data) {
    sy__redis_events *p = data;
    sy__redis_set_events(p, p->events & ~UV_WRITABLE);
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

int sy_redis_command(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, const char *cmd, size_t len,
                     int *flush) {
    sy__redis_events *p = ac->ev.data;
    int had = p->write_wanted;
    p->in_command = 1;
    int rc = redisAsyncFormattedCommand(ac, fn, privdata, cmd, len);
    p->in_command = 0;
    *flush = p->write_wanted && !had;
    return rc;
}

void sy_redis_flush(redisAsyncContext *ac) {
    sy__redis_events *p = ac->ev.data;
    if (!p->write_wanted) return;
    p->write_wanted = 0;
    /* What does not fit in the socket now asks for the writable event (in_command is 0). */
    redisAsyncHandleWrite(ac);
}
