/* inbuf.c: a stream's read buffer over one pooled chunk. Bytes are received straight into the
 * chunk and parsed where they lie; they move only when a message outgrows its chunk. */
#include "switchyard_c.h"
#include <errno.h>
#include <string.h>

/* Moves the unconsumed bytes into a fresh chunk of at least `cap` bytes. */
static int sy__inbuf_regrow(sy_inbuf_t *in, sy_pool_t *pool, size_t cap) {
    size_t have = in->chunk ? in->end - in->start : 0;
    sy_chunk_t *c = sy_chunk_get(pool, cap);
    if (!c) return -ENOMEM;
    if (have) memcpy(c->data, in->chunk->data + in->start, have);
    if (in->chunk) sy_chunk_release(in->chunk);
    in->chunk = c;
    in->start = 0;
    in->end = (uint32_t)have;
    return 0;
}

int sy_inbuf_alloc(sy_inbuf_t *in, sy_pool_t *pool, size_t min_free, uv_buf_t *buf) {
    if (min_free == 0) min_free = 1;
    if (!in->chunk || in->chunk->cap - in->end < min_free) {
        size_t have = in->chunk ? in->end - in->start : 0;
        /* Reuse the chunk in place when nobody else holds it and sliding down makes room. */
        if (in->chunk && in->chunk->refs == 1 && in->chunk->cap - have >= min_free) {
            memmove(in->chunk->data, in->chunk->data + in->start, have);
            in->start = 0;
            in->end = (uint32_t)have;
        } else {
            size_t want = have + min_free;
            if (want < SY_CHUNK_MIN) want = SY_CHUNK_MIN;
            int rc = sy__inbuf_regrow(in, pool, want);
            if (rc) return rc;
        }
    }
    buf->base = (char *)in->chunk->data + in->end;
    buf->len = in->chunk->cap - in->end;
    return 0;
}

int sy_inbuf_reserve(sy_inbuf_t *in, sy_pool_t *pool, size_t total) {
    if (in->chunk && in->chunk->cap - in->start >= total) {
        return 0;
    }
    return sy__inbuf_regrow(in, pool, total);
}

int sy_inbuf_take(sy_inbuf_t *in, sy_pool_t *pool, size_t n, sy_chunk_t **out, uint32_t *offset) {
    sy_chunk_t *c = in->chunk;
    if (!c || n == 0 || n > (size_t)(in->end - in->start)) return -EINVAL;
    if (c->refs != 1) return -EBUSY;
    size_t rest = in->end - in->start - n;
    sy_chunk_t *next = NULL;
    if (rest) {
        next = sy_chunk_get(pool, rest < SY_CHUNK_MIN ? SY_CHUNK_MIN : rest);
        if (!next) return -ENOMEM;
        memcpy(next->data, c->data + in->start + n, rest);
    }
    *offset = in->start;
    sy_chunk_detach(c); /* refs == 1: cannot fail */
    *out = c;
    in->chunk = next;
    in->start = 0;
    in->end = (uint32_t)rest;
    return 0;
}

void sy_inbuf_consume(sy_inbuf_t *in, size_t n) {
    in->start += (uint32_t)n;
    if (in->start >= in->end) sy_inbuf_reset(in);
}

void sy_inbuf_reset(sy_inbuf_t *in) {
    if (in->chunk) sy_chunk_release(in->chunk);
    in->chunk = NULL;
    in->start = in->end = 0;
}
