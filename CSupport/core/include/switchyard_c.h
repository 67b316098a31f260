/*
 * switchyard_c.h: the C hot path of Switchyard, one public header.
 *
 *   sy_pool / sy_chunk   refcounted byte chunks in size classes, recycled per loop
 *   sy_inbuf             a stream's read buffer over one chunk (libuv alloc_cb/read_cb)
 *   sy_outq              a stream's output queue of copied bytes and chunk references,
 *                        flushed with one writev per loop turn
 *   sy_frame_*           executor-protocol frame header (proto/executor-protocol.md)
 *   sy_http_*            HTTP/1.1 request head parser and chunked-body decoder
 *   sy_json_*            JSON-RPC envelope scanner (validates the whole body, decodes nothing)
 *
 * Conventions (after libuv): `sy_` is public, `sy__` internal; functions return 0 or a
 * negative errno / SY_E* code and never print.
 * Thread: every object here belongs to the thread that created it (a libuv loop thread);
 * nothing is locked and refcounts are not atomic.
 */
#ifndef SWITCHYARD_C_H
#define SWITCHYARD_C_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ pool */

/* Size classes: 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, 4 MiB, 16 MiB; larger requests are
 * served by exact-size chunks that are never cached. */
#define SY_POOL_CLASSES 7
#define SY_CHUNK_MIN 4096u

typedef struct sy_pool sy_pool_t;

typedef struct sy_chunk {
    uint32_t refs;            /* owners; the chunk returns to its pool when this reaches 0 */
    uint32_t cap;             /* usable bytes in data[] */
    int32_t size_class;       /* index into the pool's free lists, -1 for oversize chunks */
    uint32_t _pad;
    sy_pool_t *pool;
    struct sy_chunk *next_free;
    uint8_t data[];
} sy_chunk_t;

/* Creates a pool. Ownership: the caller frees it with sy_pool_free once no chunk is outstanding. */
sy_pool_t *sy_pool_new(void);
/* Frees the cached chunks and the pool. Outstanding chunks must have been released. */
void sy_pool_free(sy_pool_t *pool);
/* Returns a chunk of at least min_cap bytes with refs = 1, or NULL when out of memory.
 * Ownership: the caller holds one reference and gives it up with sy_chunk_release. */
sy_chunk_t *sy_chunk_get(sy_pool_t *pool, size_t min_cap);
/* A pooled chunk's count is plain (its loop thread only); a detached one's is atomic, because
 * the bytes it holds may be shared across threads (a received frame a tool reads on a worker
 * thread while the loop sends slices of it). */
static inline void sy_chunk_retain(sy_chunk_t *c) {
    if (c->pool) c->refs++;
    else __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}
/* Drops one reference; the last one returns the chunk to its pool's free list (or frees it;
 * a detached chunk is always freed). */
void sy_chunk_release(sy_chunk_t *c);
/* A chunk of exactly `cap` bytes that belongs to no pool (refs = 1), or NULL. Thread: any; its
 * references may be taken and dropped on any threads (an atomic count; the last release
 * frees it with free(), it is never cached). Ownership: the caller's reference. */
sy_chunk_t *sy_chunk_new_detached(size_t cap);
/* Grows a detached chunk with refs == 1 to at least `cap` bytes (realloc: it may move; its
 * bytes are kept). Returns 0, -EINVAL (pooled or shared), or -ENOMEM (*c unchanged). */
int sy_chunk_grow_detached(sy_chunk_t **c, size_t cap);
/* Takes a pooled chunk with refs == 1 out of its pool (the pool stops counting it): from now
 * on it is a detached chunk, freed by its last release on whatever thread that runs.
 * Thread: the pool's. Returns 0, or -EBUSY when the chunk is shared (nothing changes). */
int sy_chunk_detach(sy_chunk_t *c);
/* Ends a period of the pool's demand: frees the free chunks beyond what each class needed at
 * its peak in the period now ended (never below the class's fixed minimum), and starts the
 * next period at the current use. Call it every second or so (each Loop does): a free list
 * then follows the load up at once and back down within two calls after it stops. Returns the
 * bytes freed. Thread: the pool's. */
size_t sy_pool_decay(sy_pool_t *pool);
/* Chunks handed out and not yet returned: a leak check for tests. */
size_t sy_pool_outstanding(const sy_pool_t *pool);
/* Bytes held in the pool's free lists. */
size_t sy_pool_cached_bytes(const sy_pool_t *pool);

/* ----------------------------------------------------------------- inbuf */

/* A stream's read buffer: bytes [start, end) of `chunk` are received and not yet consumed.
 * Ownership: the inbuf holds one reference on `chunk` while it is non-NULL. Code that keeps
 * a slice of the bytes (a request in flight) retains the chunk itself. */
typedef struct sy_inbuf {
    sy_chunk_t *chunk;
    uint32_t start;
    uint32_t end;
} sy_inbuf_t;

/* For libuv's alloc_cb: makes at least `min_free` bytes of tail room (moving the unconsumed
 * bytes into a bigger chunk when needed) and points buf at the tail.
 * Ownership: buf->base stays valid until the next sy_inbuf_* call on this inbuf. */
int sy_inbuf_alloc(sy_inbuf_t *in, sy_pool_t *pool, size_t min_free, uv_buf_t *buf);
/* Ensures the chunk can hold `total` unconsumed bytes contiguously (a large body). */
int sy_inbuf_reserve(sy_inbuf_t *in, sy_pool_t *pool, size_t total);
/* Records `n` bytes received into the tail handed out by sy_inbuf_alloc. */
static inline void sy_inbuf_commit(sy_inbuf_t *in, size_t n) { in->end += (uint32_t)n; }
/* Hands the chunk holding the first `n` unconsumed bytes to the caller, detached from the pool
 * (sy_chunk_detach), so that they can be kept where they were read, beyond this read and on
 * any thread: *out gets the chunk and *offset where the n bytes start in its data. The bytes
 * after them (the start of the next message) move to a fresh pooled chunk; the n bytes are
 * consumed. Ownership: the caller holds the chunk's one reference. Returns 0, -EBUSY (the
 * chunk is shared: nothing changes, copy instead), -EINVAL (n too large) or -ENOMEM. */
int sy_inbuf_take(sy_inbuf_t *in, sy_pool_t *pool, size_t n, sy_chunk_t **out, uint32_t *offset);
/* Marks `n` bytes consumed; an empty inbuf gives its chunk back so idle streams hold no buffer. */
void sy_inbuf_consume(sy_inbuf_t *in, size_t n);
/* Gives the chunk back whatever it holds (stream closing). */
void sy_inbuf_reset(sy_inbuf_t *in);
static inline const uint8_t *sy_inbuf_data(const sy_inbuf_t *in) {
    return in->chunk ? in->chunk->data + in->start : NULL;
}
static inline size_t sy_inbuf_length(const sy_inbuf_t *in) { return in->end - in->start; }

/* ------------------------------------------------------------------ outq */

#define SY_OUTQ_MAX_BUFS 64

typedef struct sy_outq sy_outq_t;
/* Called when a flushed write finishes; status is 0 or a negative errno. */
typedef void (*sy_outq_done_cb)(uv_stream_t *stream, sy_outq_t *q, int status);

/* The iovecs and chunk references of one loop turn's output. */
typedef struct sy_outq_table {
    uv_buf_t bufs[SY_OUTQ_MAX_BUFS];
    sy_chunk_t *holds[SY_OUTQ_MAX_BUFS + 1];
} sy_outq_table_t;

/* A stream's pending output: iovecs over copied bytes (in a scratch chunk) and over
 * referenced chunk slices. Ownership: the queue holds one reference per entry in holds[];
 * sy_outq_flush hands them to the write request, which releases them in its write_cb.
 * The table lives in a pooled chunk taken at the first byte queued in a loop turn and given
 * back when the queue empties, so an idle stream holds none (1.5 KiB less per connection). */
struct sy_outq {
    sy_chunk_t *table_chunk;  /* NULL while nothing is queued; its data is a sy_outq_table_t */
    sy_outq_table_t *t;
    uint32_t nbufs;
    uint32_t nholds;
    sy_chunk_t *scratch;      /* where copied bytes go; also listed in holds[] */
    uint32_t scratch_used;
    sy_outq_done_cb done_cb;  /* called when a flushed write completes */
    size_t pending_bytes;     /* queued, not yet flushed */
    size_t inflight_bytes;    /* handed to uv_write, not yet completed */
    uint32_t inflight_writes;
};

/* done_cb (may be NULL) runs after each write that did not complete at once. */
void sy_outq_init(sy_outq_t *q, sy_outq_done_cb done_cb);
/* Copies bytes into the queue. Returns 0, or -ENOMEM. May flush first when the iovec table is full. */
int sy_outq_copy(sy_outq_t *q, sy_pool_t *pool, uv_stream_t *stream, const void *data, size_t len);
/* Queues a slice of a chunk without copying; retains the chunk until the bytes are written. */
int sy_outq_ref(sy_outq_t *q, sy_pool_t *pool, uv_stream_t *stream, sy_chunk_t *chunk,
                const void *data, size_t len);
/* Writes everything queued: uv_try_write first, the rest through one uv_write whose request
 * owns the iovecs and chunk references until it completes (whatever the status).
 * Returns 0 or a negative errno (the queue is then emptied and its references released). */
int sy_outq_flush(sy_outq_t *q, uv_stream_t *stream);
/* Releases everything queued and not flushed (stream closing). */
void sy_outq_discard(sy_outq_t *q);

/* ----------------------------------------------------------------- frame */

#define SY_FRAME_HEADER_SIZE 20
#define SY_FRAME_VERSION 1
#define SY_FRAME_MAX_PAYLOAD 16777216u /* 16 MiB */
#define SY_FRAME_FLAG_COMPRESSED 0x01u

enum {
    SY_EFRAME_MAGIC = -1001,
    SY_EFRAME_VERSION = -1002,
    SY_EFRAME_FLAGS = -1003,
    SY_EFRAME_RESERVED = -1004,
    SY_EFRAME_TOO_LARGE = -1005,
    SY_EFRAME_SHORT = -1006, /* fewer than SY_FRAME_HEADER_SIZE bytes: need more input */
};

typedef struct sy_frame_header {
    uint8_t version;
    uint8_t type;
    uint8_t flags;
    uint64_t stream;
    uint32_t length;
} sy_frame_header_t;

/* Writes the 20-byte header into out. */
void sy_frame_header_encode(const sy_frame_header_t *h, uint8_t out[SY_FRAME_HEADER_SIZE]);
/* Decodes and validates a header from `len` bytes; `max_payload` bounds h->length.
 * Returns 0 or an SY_EFRAME_* code. */
int sy_frame_header_decode(const uint8_t *in, size_t len, uint32_t max_payload, sy_frame_header_t *h);

/* ------------------------------------------------------------------ http */

#define SY_HTTP_MAX_HEADERS 64

enum {
    SY_EHTTP_INCOMPLETE = -2,   /* need more bytes */
    SY_EHTTP_BAD = -1,          /* malformed: 400 */
    SY_EHTTP_TOO_MANY = -3,     /* more than SY_HTTP_MAX_HEADERS: 431 */
    SY_EHTTP_VERSION = -4,      /* not HTTP/1.x: 505 */
    SY_EHTTP_TRAILERS = -5,     /* chunked trailers over SY_HTTP_MAX_HEADERS lines or SY_HTTP_MAX_TRAILER bytes: 431 */
};

typedef struct sy_span { uint32_t off, len; } sy_span_t;

typedef struct sy_http_header { sy_span_t name, value; } sy_http_header_t;

/* Headers the server reads by name: each request's parse indexes them once
 * (sy_http_request_t.known), so a lookup is not a walk over every header. */
enum {
    SY_H_ACCEPT, SY_H_CONTENT_TYPE, SY_H_CONTENT_LENGTH, SY_H_TRANSFER_ENCODING, SY_H_CONNECTION,
    SY_H_EXPECT, SY_H_HOST, SY_H_ORIGIN, SY_H_MCP_SESSION_ID, SY_H_MCP_PROTOCOL_VERSION,
    SY_H_MCP_METHOD, SY_H_MCP_NAME, SY_H_LAST_EVENT_ID, SY_H_TRACEPARENT, SY_H_AUTHORIZATION,
    SY_H_X_FORWARDED_FOR, SY_H_KNOWN_COUNT
};

/* A parsed request head. Spans are offsets into the buffer given to the parser. */
typedef struct sy_http_request {
    sy_span_t method;
    sy_span_t target;
    int minor_version;            /* 0 or 1 */
    uint32_t head_length;         /* bytes of request line + headers + blank line */
    uint32_t nheaders;
    int64_t content_length;       /* -1 when absent */
    int chunked;                  /* Transfer-Encoding: chunked */
    int keep_alive;               /* after Connection header and version defaults */
    int expect_continue;
    int16_t known[SY_H_KNOWN_COUNT]; /* index in headers[] of the first of each SY_H_* name (the last X-Forwarded-For), or -1 */
    int accept_flags;             /* SY_ACCEPT_* of the Accept header; -1 until sy_http_accept runs */
    sy_http_header_t headers[SY_HTTP_MAX_HEADERS];
} sy_http_request_t;

/* Parses a request head from buf[0..len). Returns the head length (> 0), or an SY_EHTTP_* code.
 * A head longer than max_head bytes is SY_EHTTP_TOO_MANY once max_head bytes are buffered. */
int sy_http_parse_request(const uint8_t *buf, size_t len, size_t max_head, sy_http_request_t *req);
/* Finds a header by name, case-insensitively; `lower_name` must be lowercase. Returns its index or -1. */
int sy_http_find_header(const sy_http_request_t *req, const uint8_t *buf, const char *lower_name);
/* The index of the first header named SY_H_<known>, or -1: no search (indexed while parsing). */
static inline int sy_http_known_header(const sy_http_request_t *req, int known) {
    return known >= 0 && known < SY_H_KNOWN_COUNT ? req->known[known] : -1;
}
/* Is the media type of header `index` (from sy_http_known_header; the value before any ';',
 * without surrounding whitespace) `lower_type`, ASCII case-insensitively? Returns 1, 0, or -1
 * when the header is absent (index -1). */
int sy_http_media_type_is(const sy_http_request_t *req, const uint8_t *buf, int index, const char *lower_type);

/* Which of these media ranges an Accept header lists: the value is split at commas, each
 * range compared whole (ASCII case-insensitively, parameters aside); a range with q=0 is not
 * listed. Computed on first use and kept in the request. */
enum {
    SY_ACCEPT_ABSENT = 1,       /* no Accept header: anything goes */
    SY_ACCEPT_JSON = 2,         /* application/json */
    SY_ACCEPT_SSE = 4,          /* text/event-stream */
    SY_ACCEPT_ANY = 8,          /* star/star */
    SY_ACCEPT_APPLICATION = 16, /* application/star */
    SY_ACCEPT_TEXT = 32,        /* text/star */
};
int sy_http_accept(sy_http_request_t *req, const uint8_t *buf);

/* Incremental in-place chunked-body decoder. */
/* Trailer fields are bounded like a head's fields: at most SY_HTTP_MAX_HEADERS lines and this many bytes. */
#define SY_HTTP_MAX_TRAILER (16 * 1024)

typedef struct sy_chunked {
    int state;
    uint64_t remaining;   /* bytes left in the current chunk */
    uint32_t hex_digits;
    uint32_t trailer_bytes;
    uint32_t trailer_lines;
} sy_chunked_t;

/* Decodes chunked data in buf[*in_off .. len) in place: payload bytes are moved down to
 * buf[*out_len ..). Advances *in_off and *out_len. Returns 1 when the body (incl. trailers)
 * is complete, 0 when more input is needed, SY_EHTTP_BAD on malformed input.
 * `max_body` bounds the decoded size (SY_EHTTP_TOO_MANY when exceeded); trailers are bounded
 * by SY_HTTP_MAX_HEADERS lines and SY_HTTP_MAX_TRAILER bytes (SY_EHTTP_TRAILERS). */
int sy_chunked_decode(sy_chunked_t *st, uint8_t *buf, size_t len, size_t *in_off, size_t *out_len,
                      size_t max_body);

/* ------------------------------------------------------------------ json */

enum {
    SY_JSON_ABSENT = 0,
    SY_JSON_NULL,
    SY_JSON_BOOL,
    SY_JSON_NUMBER,
    SY_JSON_STRING,
    SY_JSON_ARRAY,
    SY_JSON_OBJECT,
};

enum {
    SY_EJSON_SYNTAX = -1,       /* not JSON: -32700 */
    SY_EJSON_DEPTH = -2,        /* nested deeper than SY_JSON_MAX_DEPTH: -32700 */
    SY_EJSON_UTF8 = -3,         /* invalid UTF-8: -32700 */
};

#define SY_JSON_MAX_DEPTH 128

/* A value's kind and byte range; strings span their contents without the quotes. */
typedef struct sy_json_value {
    int kind;
    int escaped;          /* string contains backslash escapes */
    sy_span_t span;
} sy_json_value_t;

/* The JSON-RPC envelope: top-level members and the few params members the front routes on. */
typedef struct sy_envelope {
    int top_kind;                 /* SY_JSON_OBJECT for a message, SY_JSON_ARRAY for a batch */
    sy_json_value_t jsonrpc;
    sy_json_value_t id;
    sy_json_value_t method;
    sy_json_value_t params;
    sy_json_value_t result;
    sy_json_value_t error;
    sy_json_value_t name;         /* params.name */
    sy_json_value_t arguments;    /* params.arguments */
    sy_json_value_t uri;          /* params.uri */
    sy_json_value_t meta;         /* params._meta */
    sy_json_value_t progress_token; /* params._meta.progressToken */
    sy_json_value_t meta_version;   /* params._meta["io.modelcontextprotocol/protocolVersion"] */
    sy_json_value_t traceparent;    /* params._meta.traceparent */
} sy_envelope_t;

/* Validates the whole of buf[0..len) as one JSON text (RFC 8259, UTF-8) and records the
 * envelope members. Nothing is copied or decoded. Returns 0 or an SY_EJSON_* code.
 * Duplicate members: the first occurrence wins. */
int sy_json_scan_envelope(const uint8_t *buf, size_t len, sy_envelope_t *env);
/* Validates buf[0..len) as one JSON text. */
int sy_json_validate(const uint8_t *buf, size_t len);

/* The elements of the JSON array in buf[0..len) (a JSON-RPC batch): their spans, in order, at
 * most `max`. Returns the number of elements, SY_EJSON_SYNTAX when buf is not a valid array,
 * or -E2BIG (a negative errno) when it has more than `max`. */
int sy_json_array_elements(const uint8_t *buf, size_t len, sy_span_t *out, size_t max);

/* One member of an object: its key (span without the quotes) and its value. */
typedef struct sy_json_member {
    sy_json_value_t key;
    sy_json_value_t value;
} sy_json_member_t;

/* Validates buf[0..len) as one JSON text (RFC 8259, UTF-8), like sy_json_validate, and records
 * the members of a top-level object in order, at most `max` of them in out[] (duplicates
 * included; the reader decides which wins). Returns the number of members, which may exceed
 * `max` (call again with room for all), 0 for a value that is not an object, or an SY_EJSON_*
 * code. *top_kind: the SY_JSON_* kind of the value (SY_JSON_ABSENT on error). Nothing is
 * decoded or allocated: one pass over the bytes. */
int sy_json_object_members(const uint8_t *buf, size_t len, sy_json_member_t *out, size_t max, int *top_kind);

/* The top-level members of an executor's answer that the front decides on: a result's
 * `isError` and `resultType`, an error object's `code`. */
typedef struct sy_reply_members {
    sy_json_value_t is_error;     /* result.isError */
    sy_json_value_t result_type;  /* result.resultType */
    sy_json_value_t code;         /* error.code */
    sy_json_value_t structured;   /* result.structuredContent */
} sy_reply_members_t;

/* Validates buf[0..len) as one JSON text (RFC 8259, UTF-8), like sy_json_validate: an
 * executor's answer reaches clients only when it is valid JSON in valid UTF-8, whatever the
 * executor. Records the members of sy_reply_members_t found at the top level of an object
 * (first occurrence wins; members of nested values are never taken). Returns 0 or an
 * SY_EJSON_* code. */
int sy_json_scan_reply(const uint8_t *buf, size_t len, sy_reply_members_t *out);

/* ------------------------------------------------------------------ util */

/* memmem(3): the first occurrence of needle[0..m) in haystack[0..n), or NULL. */
const void *sy_memmem(const void *haystack, size_t n, const void *needle, size_t m);
/* Length of the longest prefix of p[0..n) that a JSON string may hold as is: no '"', no '\\',
 * no control byte (< 0x20), and no byte >= 0x80 (so the prefix is ASCII: valid UTF-8, and needs
 * no escaping). Sixteen bytes at a time on x86-64, eight elsewhere; the hot loop of every scan
 * over large string values. */
size_t sy_json_plain_run(const uint8_t *p, size_t n);
/* Gives freed heap memory back to the system (glibc malloc_trim). */
void sy_malloc_trim(void);
/* glibc malloc for a server moving large messages: allocations below `mmap_threshold` come
 * from the heap, and up to `trim_threshold` bytes freed at the top of each arena stay mapped;
 * at most `max_arenas` arenas, which bounds what threads can keep that way. Without this,
 * every 1 MB message was a fresh mmap or a re-grown heap: page faults on each (7% of CPU). */
void sy_malloc_tune(size_t mmap_threshold, size_t trim_threshold, int max_arenas);
/* What glibc malloc holds, over every arena: bytes handed out (heap chunks in use and mmap'd
 * blocks) and bytes free inside its heaps; and the process's anonymous resident memory
 * (/proc/self/statm: resident less file-backed and shared; 0 if unreadable). Anonymous resident
 * less in use is about what the allocator keeps resident without using: what malloc_trim can
 * give back. */
typedef struct sy_heap_census {
    size_t in_use;
    size_t free_bytes;
    size_t anon_resident;
} sy_heap_census_t;
void sy_heap_census(sy_heap_census_t *out);

/* A timer descriptor on CLOCK_MONOTONIC (the clock of uv_hrtime), for wake-ups finer than
 * libuv's millisecond timers (the load generator's open-loop schedule). -1 on failure. */
int sy_timerfd_new(void);
/* Arms it to become readable at `ns` on CLOCK_MONOTONIC (absolute); 0 or -1. */
int sy_timerfd_arm_at(int fd, uint64_t ns);
/* Consumes its expirations so it stops being readable. */
void sy_timerfd_clear(int fd);
/* Has the kernel send this process `sig` when its parent dies (Linux PR_SET_PDEATHSIG), for a
 * child that must not outlive a parent ended by SIGKILL. `parent` is the pid the parent had at
 * the start: when getppid() differs, the parent is gone already and `sig` is raised at once.
 * Returns 0, or a negative errno (-ENOSYS off Linux). */
int sy_exit_with_parent(int sig, int parent);

/* ---------------------------------------------------------------- atomic */

/* Sequentially consistent 64-bit atomics on memory shared between processes (mmap). */
static inline uint64_t sy_atomic_load_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline uint64_t sy_atomic_add_u64(uint64_t *p, uint64_t v) {
    return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}
static inline void sy_atomic_store_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
/* Sets *p to desired if it holds expected; returns 1 when it did. */
static inline int sy_atomic_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

#ifdef __cplusplus
}
#endif
#endif
