/* outq.c: output queues. Small bytes are copied into a scratch chunk, large ones referenced
 * in place; everything queued in one loop turn leaves in one writev. */
#include "switchyard_c.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One uv_write in flight. Ownership: holds the chunk references of the bytes it writes
 * (the iovec array is copied by libuv) and releases them in sy__outq_written. */
typedef struct sy__outq_write {
    uv_write_t req;
    sy_outq_t *q;
    size_t bytes;
    uint32_t nholds;
    sy_chunk_t *holds[];
} sy__outq_write_t;

void sy_outq_init(sy_outq_t *q, sy_outq_done_cb done_cb) {
    memset(q, 0, sizeof(*q));
    q->done_cb = done_cb;
}

/* Gives the table back to the pool: nothing is queued. */
static void sy__outq_drop_table(sy_outq_t *q) {
    if (q->table_chunk) sy_chunk_release(q->table_chunk);
    q->table_chunk = NULL;
    q->t = NULL;
}

/* A table for this turn's output, from the pool; 0 or -ENOMEM. */
static int sy__outq_table(sy_outq_t *q, sy_pool_t *pool) {
    if (q->t) return 0;
    sy_chunk_t *c = sy_chunk_get(pool, sizeof(sy_outq_table_t));
    if (!c) return -ENOMEM;
    q->table_chunk = c;
    q->t = (sy_outq_table_t *)(void *)c->data;
    return 0;
}

static void sy__outq_release_holds(sy_outq_t *q) {
    for (uint32_t i = 0; i < q->nholds; i++) sy_chunk_release(q->t->holds[i]);
    q->nholds = 0;
    q->nbufs = 0;
    q->scratch = NULL;
    q->scratch_used = 0;
    q->pending_bytes = 0;
    sy__outq_drop_table(q);
}

void sy_outq_discard(sy_outq_t *q) { sy__outq_release_holds(q); }

static void sy__outq_written(uv_write_t *req, int status) {
    sy__outq_write_t *w = (sy__outq_write_t *)req;
    sy_outq_t *q = w->q;
    for (uint32_t i = 0; i < w->nholds; i++) sy_chunk_release(w->holds[i]);
    q->inflight_bytes -= w->bytes;
    q->inflight_writes--;
    uv_stream_t *stream = req->handle;
    free(w);
    if (q->done_cb) q->done_cb(stream, q, status);
}

int sy_outq_flush(sy_outq_t *q, uv_stream_t *stream) {
    if (q->nbufs == 0) { sy__outq_release_holds(q); return 0; }
    uv_buf_t *bufs = q->t->bufs;
    uint32_t nbufs = q->nbufs;
    size_t total = q->pending_bytes;
    int n = 0;
    if (q->inflight_writes == 0) {
        n = uv_try_write(stream, bufs, nbufs);
        if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
        if (n < 0) { sy__outq_release_holds(q); return n; }
        if ((size_t)n == total) { sy__outq_release_holds(q); return 0; }
    }
    /* Skip what uv_try_write took. */
    size_t skip = (size_t)n;
    while (skip > 0 && skip >= bufs->len) { skip -= bufs->len; bufs++; nbufs--; }
    if (skip) { bufs->base += skip; bufs->len -= skip; }
    sy__outq_write_t *w = malloc(sizeof(*w) + q->nholds * sizeof(sy_chunk_t *));
    if (!w) { sy__outq_release_holds(q); return -ENOMEM; }
    w->q = q;
    w->bytes = total - (size_t)n;
    w->nholds = q->nholds;
    memcpy(w->holds, q->t->holds, q->nholds * sizeof(sy_chunk_t *));
    int rc = uv_write(&w->req, stream, bufs, nbufs, sy__outq_written);
    if (rc < 0) {
        free(w);
        sy__outq_release_holds(q);
        return rc;
    }
    q->inflight_bytes += w->bytes;
    q->inflight_writes++;
    /* The references now belong to the write request (libuv copied the iovecs). */
    q->nholds = 0;
    q->nbufs = 0;
    q->scratch = NULL;
    q->scratch_used = 0;
    q->pending_bytes = 0;
    sy__outq_drop_table(q);
    return 0;
}

static int sy__outq_room(sy_outq_t *q, uv_stream_t *stream) {
    if (q->nbufs < SY_OUTQ_MAX_BUFS && q->nholds < SY_OUTQ_MAX_BUFS) return 0;
    return sy_outq_flush(q, stream);
}

int sy_outq_copy(sy_outq_t *q, sy_pool_t *pool, uv_stream_t *stream, const void *data, size_t len) {
    if (len == 0) return 0;
    if (sy__outq_table(q, pool)) return -ENOMEM;
    sy_chunk_t *s = q->scratch;
    if (s && s->cap - q->scratch_used >= len) {
        uint8_t *dst = s->data + q->scratch_used;
        memcpy(dst, data, len);
        /* Extend the last iovec when it ends exactly here. */
        uv_buf_t *last = q->nbufs ? &q->t->bufs[q->nbufs - 1] : NULL;
        if (last && (uint8_t *)last->base + last->len == dst) {
            last->len += len;
        } else {
            int rc = sy__outq_room(q, stream);
            if (rc) return rc;
            if (q->scratch != s) return sy_outq_copy(q, pool, stream, data, len);
            q->t->bufs[q->nbufs++] = uv_buf_init((char *)dst, (unsigned)len);
        }
        q->scratch_used += (uint32_t)len;
        q->pending_bytes += len;
        return 0;
    }
    int rc = sy__outq_room(q, stream);
    if (rc) return rc;
    if (sy__outq_table(q, pool)) return -ENOMEM;   /* a flush gave the table back */
    s = sy_chunk_get(pool, len < SY_CHUNK_MIN ? SY_CHUNK_MIN : len);
    if (!s) return -ENOMEM;
    q->t->holds[q->nholds++] = s;
    q->scratch = s;
    q->scratch_used = 0;
    return sy_outq_copy(q, pool, stream, data, len);
}

int sy_outq_ref(sy_outq_t *q, sy_pool_t *pool, uv_stream_t *stream, sy_chunk_t *chunk,
                const void *data, size_t len) {
    if (len == 0) return 0;
    if (sy__outq_table(q, pool)) return -ENOMEM;
    int rc = sy__outq_room(q, stream);
    if (rc) return rc;
    if (sy__outq_table(q, pool)) return -ENOMEM;   /* a flush gave the table back */
    sy_chunk_retain(chunk);
    q->t->holds[q->nholds++] = chunk;
    q->t->bufs[q->nbufs++] = uv_buf_init((char *)data, (unsigned)len);
    q->pending_bytes += len;
    return 0;
}
