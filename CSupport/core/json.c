/* json.c: a validating single-pass JSON scanner (RFC 8259) that records where the JSON-RPC
 * envelope members lie. It decodes nothing and allocates nothing; the front routes on the
 * spans and forwards `params.arguments` untouched. */
#include "switchyard_c.h"
#include <errno.h>
#include <string.h>

/* Where the scanner stands: members are recorded only inside these objects. */
enum { CTX_NONE, CTX_TOP, CTX_PARAMS, CTX_META };

typedef struct scanner {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    sy_envelope_t *env;
} scanner_t;

static inline void skip_ws(scanner_t *s) {
    while (s->pos < s->len) {
        uint8_t c = s->buf[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        s->pos++;
    }
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const uint8_t *p, size_t avail) {
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    size_t n; uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (avail < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++) if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* Scans a string starting at the opening quote; records its contents' span. */
static int scan_string(scanner_t *s, sy_json_value_t *out) {
    size_t start = ++s->pos;
    int escaped = 0;
    while (s->pos < s->len) {
        s->pos += sy_json_plain_run(s->buf + s->pos, s->len - s->pos);
        if (s->pos >= s->len) break;
        uint8_t c = s->buf[s->pos];
        if (c == '"') {
            if (out) {
                out->kind = SY_JSON_STRING;
                out->escaped = escaped;
                out->span = (sy_span_t){ (uint32_t)start, (uint32_t)(s->pos - start) };
            }
            s->pos++;
            return 0;
        }
        if (c == '\\') {
            escaped = 1;
            if (++s->pos >= s->len) return SY_EJSON_SYNTAX;
            uint8_t e = s->buf[s->pos];
            if (e == 'u') {
                if (s->pos + 4 >= s->len) return SY_EJSON_SYNTAX;
                for (int i = 1; i <= 4; i++) if (hexval(s->buf[s->pos + i]) < 0) return SY_EJSON_SYNTAX;
                s->pos += 5;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                s->pos++;
            } else {
                return SY_EJSON_SYNTAX;
            }
            continue;
        }
        if (c < 0x20) return SY_EJSON_SYNTAX;
        if (c < 0x80) { s->pos++; continue; }
        size_t n = utf8_seq(s->buf + s->pos, s->len - s->pos);
        if (!n) return SY_EJSON_UTF8;
        s->pos += n;
    }
    return SY_EJSON_SYNTAX;
}

static int scan_number(scanner_t *s) {
    const uint8_t *b = s->buf;
    size_t p = s->pos, n = s->len;
    if (p < n && b[p] == '-') p++;
    if (p >= n) return SY_EJSON_SYNTAX;
    if (b[p] == '0') p++;
    else if (b[p] >= '1' && b[p] <= '9') { while (p < n && b[p] >= '0' && b[p] <= '9') p++; }
    else return SY_EJSON_SYNTAX;
    if (p < n && b[p] == '.') {
        p++;
        if (p >= n || b[p] < '0' || b[p] > '9') return SY_EJSON_SYNTAX;
        while (p < n && b[p] >= '0' && b[p] <= '9') p++;
    }
    if (p < n && (b[p] == 'e' || b[p] == 'E')) {
        p++;
        if (p < n && (b[p] == '+' || b[p] == '-')) p++;
        if (p >= n || b[p] < '0' || b[p] > '9') return SY_EJSON_SYNTAX;
        while (p < n && b[p] >= '0' && b[p] <= '9') p++;
    }
    s->pos = p;
    return 0;
}

static int scan_literal(scanner_t *s, const char *lit) {
    size_t n = strlen(lit);
    if (s->len - s->pos < n || memcmp(s->buf + s->pos, lit, n) != 0) return SY_EJSON_SYNTAX;
    s->pos += n;
    return 0;
}

/* Compares a member key with a literal, decoding simple escapes when the key has any.
 * Inlined: every key of every envelope is compared with several literals, and inlined the
 * literal's length is a constant. */
static inline __attribute__((always_inline)) int key_is(const scanner_t *s, const sy_json_value_t *key, const char *lit) {
    size_t n = strlen(lit);
    const uint8_t *k = s->buf + key->span.off;
    if (!key->escaped) return key->span.len == n && memcmp(k, lit, n) == 0;
    size_t i = 0, j = 0;
    while (i < key->span.len) {
        uint8_t c = k[i];
        if (c == '\\') {
            uint8_t e = k[i + 1];
            if (e == 'u') {
                int v = (hexval(k[i + 2]) << 12) | (hexval(k[i + 3]) << 8) | (hexval(k[i + 4]) << 4) | hexval(k[i + 5]);
                if (v >= 0x80) return 0; /* our literals are ASCII */
                c = (uint8_t)v; i += 6;
            } else {
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
                i += 2;
            }
        } else {
            i++;
        }
        if (j >= n || (uint8_t)lit[j] != c) return 0;
        j++;
    }
    return j == n;
}

static int scan_value(scanner_t *s, int depth, int ctx, sy_json_value_t *out);

/* Which envelope slot a member of the object in `ctx` fills, and the context of its value. */
static sy_json_value_t *slot_for(scanner_t *s, int ctx, const sy_json_value_t *key, int *child_ctx) {
    sy_envelope_t *e = s->env;
    *child_ctx = CTX_NONE;
    sy_json_value_t *slot = NULL;
    if (!e) return NULL;
    if (ctx == CTX_TOP) {
        if (key_is(s, key, "jsonrpc")) slot = &e->jsonrpc;
        else if (key_is(s, key, "id")) slot = &e->id;
        else if (key_is(s, key, "method")) slot = &e->method;
        else if (key_is(s, key, "params")) { slot = &e->params; *child_ctx = CTX_PARAMS; }
        else if (key_is(s, key, "result")) slot = &e->result;
        else if (key_is(s, key, "error")) slot = &e->error;
    } else if (ctx == CTX_PARAMS) {
        if (key_is(s, key, "name")) slot = &e->name;
        else if (key_is(s, key, "arguments")) slot = &e->arguments;
        else if (key_is(s, key, "uri")) slot = &e->uri;
        else if (key_is(s, key, "_meta")) { slot = &e->meta; *child_ctx = CTX_META; }
    } else if (ctx == CTX_META) {
        if (key_is(s, key, "progressToken")) slot = &e->progress_token;
        else if (key_is(s, key, "io.modelcontextprotocol/protocolVersion")) slot = &e->meta_version;
        else if (key_is(s, key, "traceparent")) slot = &e->traceparent;
    }
    /* First occurrence wins; a later duplicate is scanned but not recorded. */
    if (slot && slot->kind != SY_JSON_ABSENT) { *child_ctx = CTX_NONE; return NULL; }
    return slot;
}

static int scan_object(scanner_t *s, int depth, int ctx) {
    s->pos++; /* '{' */
    skip_ws(s);
    if (s->pos < s->len && s->buf[s->pos] == '}') { s->pos++; return 0; }
    for (;;) {
        skip_ws(s);
        if (s->pos >= s->len || s->buf[s->pos] != '"') return SY_EJSON_SYNTAX;
        sy_json_value_t key = {0};
        int rc = scan_string(s, &key);
        if (rc) return rc;
        skip_ws(s);
        if (s->pos >= s->len || s->buf[s->pos] != ':') return SY_EJSON_SYNTAX;
        s->pos++;
        int child_ctx;
        sy_json_value_t *slot = ctx != CTX_NONE ? slot_for(s, ctx, &key, &child_ctx) : (child_ctx = CTX_NONE, NULL);
        rc = scan_value(s, depth + 1, child_ctx, slot);
        if (rc) return rc;
        skip_ws(s);
        if (s->pos >= s->len) return SY_EJSON_SYNTAX;
        if (s->buf[s->pos] == ',') { s->pos++; continue; }
        if (s->buf[s->pos] == '}') { s->pos++; return 0; }
        return SY_EJSON_SYNTAX;
    }
}

static int scan_array(scanner_t *s, int depth) {
    s->pos++; /* '[' */
    skip_ws(s);
    if (s->pos < s->len && s->buf[s->pos] == ']') { s->pos++; return 0; }
    for (;;) {
        int rc = scan_value(s, depth + 1, CTX_NONE, NULL);
        if (rc) return rc;
        skip_ws(s);
        if (s->pos >= s->len) return SY_EJSON_SYNTAX;
        if (s->buf[s->pos] == ',') { s->pos++; continue; }
        if (s->buf[s->pos] == ']') { s->pos++; return 0; }
        return SY_EJSON_SYNTAX;
    }
}

/* Scans one value; `ctx` is the context an object value opens (CTX_NONE for uninteresting ones). */
static int scan_value(scanner_t *s, int depth, int ctx, sy_json_value_t *out) {
    if (depth > SY_JSON_MAX_DEPTH) return SY_EJSON_DEPTH;
    skip_ws(s);
    if (s->pos >= s->len) return SY_EJSON_SYNTAX;
    size_t start = s->pos;
    int kind, rc;
    switch (s->buf[s->pos]) {
    case '{': kind = SY_JSON_OBJECT; rc = scan_object(s, depth, ctx); break;
    case '[': kind = SY_JSON_ARRAY; rc = scan_array(s, depth); break;
    case '"': return scan_string(s, out);
    case 't': kind = SY_JSON_BOOL; rc = scan_literal(s, "true"); break;
    case 'f': kind = SY_JSON_BOOL; rc = scan_literal(s, "false"); break;
    case 'n': kind = SY_JSON_NULL; rc = scan_literal(s, "null"); break;
    default: kind = SY_JSON_NUMBER; rc = scan_number(s); break;
    }
    if (rc) return rc;
    if (out) {
        out->kind = kind;
        out->escaped = 0;
        out->span = (sy_span_t){ (uint32_t)start, (uint32_t)(s->pos - start) };
    }
    return 0;
}

static int scan_document(const uint8_t *buf, size_t len, sy_envelope_t *env) {
    if (len > UINT32_MAX) return SY_EJSON_SYNTAX;
    scanner_t s = { buf, len, 0, env };
    skip_ws(&s);
    int top = s.pos < len ? s.buf[s.pos] : 0;
    if (env) env->top_kind = top == '{' ? SY_JSON_OBJECT : top == '[' ? SY_JSON_ARRAY : SY_JSON_ABSENT;
    int rc = scan_value(&s, 1, env ? CTX_TOP : CTX_NONE, NULL);
    if (rc) return rc;
    skip_ws(&s);
    return s.pos == len ? 0 : SY_EJSON_SYNTAX;
}

int sy_json_scan_envelope(const uint8_t *buf, size_t len, sy_envelope_t *env) {
    memset(env, 0, sizeof(*env));
    int rc = scan_document(buf, len, env);
    if (rc == 0 && env->top_kind != SY_JSON_OBJECT) {
        /* Scalars and arrays are valid JSON; the caller decides what they mean. */
        if (env->top_kind == SY_JSON_ABSENT) env->top_kind = SY_JSON_NUMBER;
    }
    return rc;
}

int sy_json_validate(const uint8_t *buf, size_t len) { return scan_document(buf, len, NULL); }

int sy_json_array_elements(const uint8_t *buf, size_t len, sy_span_t *out, size_t max) {
    if (len > UINT32_MAX) return SY_EJSON_SYNTAX;
    scanner_t s = { buf, len, 0, NULL };
    skip_ws(&s);
    if (s.pos >= len || buf[s.pos] != '[') return SY_EJSON_SYNTAX;
    s.pos++;
    skip_ws(&s);
    size_t n = 0;
    if (s.pos < len && buf[s.pos] == ']') { s.pos++; goto end; }
    for (;;) {
        skip_ws(&s);
        size_t start = s.pos;
        int rc = scan_value(&s, 2, CTX_NONE, NULL);
        if (rc) return rc;
        if (n == max) return -E2BIG;
        out[n++] = (sy_span_t){ (uint32_t)start, (uint32_t)(s.pos - start) };
        skip_ws(&s);
        if (s.pos >= len) return SY_EJSON_SYNTAX;
        if (buf[s.pos] == ',') { s.pos++; continue; }
        if (buf[s.pos] == ']') { s.pos++; break; }
        return SY_EJSON_SYNTAX;
    }
end:
    skip_ws(&s);
    return s.pos == len ? (int)n : SY_EJSON_SYNTAX;
}

/* ------------------------------------------------------------ members */

int sy_json_object_members(const uint8_t *buf, size_t len, sy_json_member_t *out, size_t max, int *top_kind) {
    *top_kind = SY_JSON_ABSENT;
    if (len > UINT32_MAX) return SY_EJSON_SYNTAX;
    scanner_t s = { buf, len, 0, NULL };
    skip_ws(&s);
    if (s.pos >= len || buf[s.pos] != '{') {
        sy_json_value_t v = {0};
        int rc = scan_value(&s, 1, CTX_NONE, &v);
        if (rc) return rc;
        skip_ws(&s);
        if (s.pos != len) return SY_EJSON_SYNTAX;
        *top_kind = v.kind;
        return 0;
    }
    s.pos++;
    skip_ws(&s);
    size_t n = 0;
    if (s.pos < len && buf[s.pos] == '}') { s.pos++; goto end; }
    for (;;) {
        skip_ws(&s);
        if (s.pos >= len || buf[s.pos] != '"') return SY_EJSON_SYNTAX;
        sy_json_member_t m = {0};
        int rc = scan_string(&s, &m.key);
        if (rc) return rc;
        skip_ws(&s);
        if (s.pos >= len || buf[s.pos] != ':') return SY_EJSON_SYNTAX;
        s.pos++;
        rc = scan_value(&s, 2, CTX_NONE, &m.value);
        if (rc) return rc;
        if (n < max) out[n] = m;
        if (n == INT32_MAX) return SY_EJSON_SYNTAX;
        n++;
        skip_ws(&s);
        if (s.pos >= len) return SY_EJSON_SYNTAX;
        if (buf[s.pos] == ',') { s.pos++; continue; }
        if (buf[s.pos] == '}') { s.pos++; break; }
        return SY_EJSON_SYNTAX;
    }
end:
    skip_ws(&s);
    if (s.pos != len) return SY_EJSON_SYNTAX;
    *top_kind = SY_JSON_OBJECT;
    return (int)n;
}

/* ------------------------------------------------------------ replies */

int sy_json_scan_reply(const uint8_t *buf, size_t len, sy_reply_members_t *out) {
    memset(out, 0, sizeof(*out));
    if (len > UINT32_MAX) return SY_EJSON_SYNTAX;
    scanner_t s = { buf, len, 0, NULL };
    skip_ws(&s);
    if (s.pos >= len || buf[s.pos] != '{') return scan_document(buf, len, NULL);
    s.pos++;
    skip_ws(&s);
    if (s.pos < len && buf[s.pos] == '}') { s.pos++; goto end; }
    for (;;) {
        skip_ws(&s);
        if (s.pos >= len || buf[s.pos] != '"') return SY_EJSON_SYNTAX;
        sy_json_value_t key = {0};
        int rc = scan_string(&s, &key);
        if (rc) return rc;
        skip_ws(&s);
        if (s.pos >= len || buf[s.pos] != ':') return SY_EJSON_SYNTAX;
        s.pos++;
        sy_json_value_t *slot = NULL;
        uint32_t n = key.span.len; /* an escaped key is longer than its text: compare it anyway */
        if ((n == 7 || key.escaped) && key_is(&s, &key, "isError")) slot = &out->is_error;
        else if ((n == 10 || key.escaped) && key_is(&s, &key, "resultType")) slot = &out->result_type;
        else if ((n == 4 || key.escaped) && key_is(&s, &key, "code")) slot = &out->code;
        else if ((n == 17 || key.escaped) && key_is(&s, &key, "structuredContent")) slot = &out->structured;
        rc = scan_value(&s, 2, CTX_NONE, slot && slot->kind == SY_JSON_ABSENT ? slot : NULL);
        if (rc) return rc;
        skip_ws(&s);
        if (s.pos >= len) return SY_EJSON_SYNTAX;
        if (buf[s.pos] == ',') { s.pos++; continue; }
        if (buf[s.pos] == '}') { s.pos++; break; }
        return SY_EJSON_SYNTAX;
    }
end:
    skip_ws(&s);
    return s.pos == len ? 0 : SY_EJSON_SYNTAX;
}
