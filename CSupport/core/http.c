/* http.c: HTTP/1.1 request heads (RFC 9112 section 3 and 5) and chunked bodies (section 7.1),
 * parsed where the bytes lie. Strict: anything ambiguous is rejected (400), which also closes
 * the request-smuggling doors (CL+TE, duplicate differing Content-Length, obs-fold). */
#include "switchyard_c.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* tchar (RFC 9110 section 5.6.2): a table, since every byte of every header name is tested. */
static const uint8_t tchar_table[256] = {
#define T(c) [c] = 1
    T('!'), T('#'), T('$'), T('%'), T('&'), T('\''), T('*'), T('+'), T('-'), T('.'), T('^'), T('_'),
    T('`'), T('|'), T('~'),
    T('0'), T('1'), T('2'), T('3'), T('4'), T('5'), T('6'), T('7'), T('8'), T('9'),
    T('a'), T('b'), T('c'), T('d'), T('e'), T('f'), T('g'), T('h'), T('i'), T('j'), T('k'), T('l'), T('m'),
    T('n'), T('o'), T('p'), T('q'), T('r'), T('s'), T('t'), T('u'), T('v'), T('w'), T('x'), T('y'), T('z'),
    T('A'), T('B'), T('C'), T('D'), T('E'), T('F'), T('G'), T('H'), T('I'), T('J'), T('K'), T('L'), T('M'),
    T('N'), T('O'), T('P'), T('Q'), T('R'), T('S'), T('T'), T('U'), T('V'), T('W'), T('X'), T('Y'), T('Z'),
#undef T
};
static inline int is_tchar(uint8_t c) { return tchar_table[c]; }
static int is_vchar_or_obs(uint8_t c) { return (c >= 0x21 && c != 0x7f); }
static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

static int span_ieq(const uint8_t *buf, sy_span_t s, const char *lit) {
    size_t n = strlen(lit);
    if (s.len != n) return 0;
    for (size_t i = 0; i < n; i++) if (lower(buf[s.off + i]) != (uint8_t)lit[i]) return 0;
    return 1;
}

/* A field value has no control byte but HTAB (RFC 9110 section 5.5): every byte of every
 * header value is tested, so sixteen at a step (SSE2, part of x86-64), else eight while none
 * is below 0x20 or is 0x7f (a word with a tab, or a false alarm, is checked byte by byte). */
static int field_value_ok(const uint8_t *p, uint32_t n) {
    uint32_t k = 0;
#if defined(__SSE2__)
    const __m128i ctl = _mm_set1_epi8(0x1F), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    for (; k + 16 <= n; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + k));
        __m128i low = _mm_andnot_si128(_mm_cmpeq_epi8(x, tab), _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        if (_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(x, del)))) return 0;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, p + k, 8);
        uint64_t d = w ^ (0x7f * ones);
        if (((w - 0x20 * ones) & ~w & highs) == 0 && ((d - ones) & ~d & highs) == 0) continue;
        for (uint32_t j = k; j < k + 8; j++)
            if (p[j] != '\t' && (p[j] < 0x20 || p[j] == 0x7f)) return 0;
    }
    for (; k < n; k++)
        if (p[k] != '\t' && (p[k] < 0x20 || p[k] == 0x7f)) return 0;
    return 1;
}

/* Finds the end of the head: the index just past the blank line, or 0. */
static size_t head_end(const uint8_t *buf, size_t len) {
    for (size_t i = 0; i + 1 < len; i++) {
        const uint8_t *p = memchr(buf + i, '\n', len - i);
        if (!p) return 0;
        i = (size_t)(p - buf);
        if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Reads one line ending in LF or CRLF starting at *pos; returns its span without the ending. */
static int next_line(const uint8_t *buf, size_t end, size_t *pos, sy_span_t *line) {
    const uint8_t *p = memchr(buf + *pos, '\n', end - *pos);
    if (!p) return -1;
    size_t lf = (size_t)(p - buf);
    size_t stop = (lf > *pos && buf[lf - 1] == '\r') ? lf - 1 : lf;
    line->off = (uint32_t)*pos;
    line->len = (uint32_t)(stop - *pos);
    *pos = lf + 1;
    return 0;
}

static int parse_uint(const uint8_t *p, size_t n, int64_t *out) {
    if (n == 0 || n > 18) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* The names behind SY_H_*, lowercase, in enum order. */
static const struct { const char *name; uint32_t len; } known_names[SY_H_KNOWN_COUNT] = {
#define N(s) { s, sizeof s - 1 }
    N("accept"), N("content-type"), N("content-length"), N("transfer-encoding"), N("connection"),
    N("expect"), N("host"), N("origin"), N("mcp-session-id"), N("mcp-protocol-version"),
    N("mcp-method"), N("mcp-name"), N("last-event-id"), N("traceparent"), N("authorization"),
    N("x-forwarded-for"),
#undef N
};

/* The one known name a header name of this length and lowercase first byte can be, or -1.
 * Follows known_names: no two known names share both (classify compares the whole name). */
static int candidate(uint32_t len, uint8_t first) {
    switch (len) {
    case 4: return SY_H_HOST;
    case 6: return first == 'a' ? SY_H_ACCEPT : first == 'e' ? SY_H_EXPECT : SY_H_ORIGIN;
    case 8: return SY_H_MCP_NAME;
    case 10: return first == 'c' ? SY_H_CONNECTION : SY_H_MCP_METHOD;
    case 11: return SY_H_TRACEPARENT;
    case 12: return SY_H_CONTENT_TYPE;
    case 13: return first == 'l' ? SY_H_LAST_EVENT_ID : SY_H_AUTHORIZATION;
    case 14: return first == 'c' ? SY_H_CONTENT_LENGTH : SY_H_MCP_SESSION_ID;
    case 15: return SY_H_X_FORWARDED_FOR;
    case 17: return SY_H_TRANSFER_ENCODING;
    case 20: return SY_H_MCP_PROTOCOL_VERSION;
    default: return -1;
    }
}

/* Which SY_H_* a header name is, or -1: one candidate by length and first byte, then one
 * case-insensitive compare (every header of every request is classified). */
static int classify(const uint8_t *buf, sy_span_t name) {
    if (name.len == 0) return -1;
    int k = candidate(name.len, lower(buf[name.off]));
    if (k < 0 || known_names[k].len != name.len) return -1;
    for (uint32_t i = 0; i < name.len; i++)
        if (lower(buf[name.off + i]) != (uint8_t)known_names[k].name[i]) return -1;
    return k;
}

/* Indexes a known header, and applies the ones the transport itself needs. */
static int apply_header(sy_http_request_t *req, const uint8_t *buf, sy_http_header_t *h, int *connection_seen) {
    sy_span_t v = h->value;
    int kind = classify(buf, h->name);
    if (kind < 0) return 0;
    /* Two credentials are ambiguous (which one authenticates?): refused, not guessed. */
    if (kind == SY_H_AUTHORIZATION && req->known[kind] >= 0) return SY_EHTTP_BAD;
    /* X-Forwarded-For: the last one, which the nearest proxy added (HAProxy adds a header of
     * its own rather than extending the client's). */
    if (req->known[kind] < 0 || kind == SY_H_X_FORWARDED_FOR) req->known[kind] = (int16_t)(h - req->headers);
    if (kind == SY_H_CONTENT_LENGTH) {
        int64_t n;
        if (parse_uint(buf + v.off, v.len, &n)) return SY_EHTTP_BAD;
        if (req->content_length >= 0 && req->content_length != n) return SY_EHTTP_BAD;
        req->content_length = n;
    } else if (kind == SY_H_TRANSFER_ENCODING) {
        if (!span_ieq(buf, v, "chunked") || req->chunked) return SY_EHTTP_BAD;
        req->chunked = 1;
    } else if (kind == SY_H_CONNECTION) {
        /* A comma-separated token list. */
        uint32_t i = 0;
        while (i < v.len) {
            while (i < v.len && (buf[v.off + i] == ' ' || buf[v.off + i] == ',' || buf[v.off + i] == '\t')) i++;
            uint32_t s = i;
            while (i < v.len && buf[v.off + i] != ',' && buf[v.off + i] != ' ' && buf[v.off + i] != '\t') i++;
            sy_span_t tok = { v.off + s, i - s };
            if (span_ieq(buf, tok, "close")) { req->keep_alive = 0; *connection_seen = 2; }
            else if (span_ieq(buf, tok, "keep-alive") && *connection_seen != 2) { req->keep_alive = 1; *connection_seen = 1; }
        }
    } else if (kind == SY_H_EXPECT) {
        if (span_ieq(buf, v, "100-continue")) req->expect_continue = 1;
    }
    return 0;
}

int sy_http_parse_request(const uint8_t *buf, size_t len, size_t max_head, sy_http_request_t *req) {
    size_t limit = len < max_head ? len : max_head;
    /* Tolerate empty lines before the request line (RFC 9112 section 2.2). */
    size_t pos = 0;
    while (pos < limit && (buf[pos] == '\r' || buf[pos] == '\n')) pos++;
    size_t end = head_end(buf + pos, limit - pos);
    if (!end) return len >= max_head ? SY_EHTTP_TOO_MANY : SY_EHTTP_INCOMPLETE;
    end += pos;

    memset(req, 0, offsetof(sy_http_request_t, headers));
    memset(req->known, 0xff, sizeof req->known); /* -1: absent */
    req->accept_flags = -1;
    req->content_length = -1;

    /* request-line = method SP request-target SP HTTP-version */
    sy_span_t line;
    if (next_line(buf, end, &pos, &line)) return SY_EHTTP_BAD;
    const uint8_t *l = buf + line.off;
    uint32_t i = 0;
    while (i < line.len && is_tchar(l[i])) i++;
    if (i == 0 || i >= line.len || l[i] != ' ') return SY_EHTTP_BAD;
    req->method = (sy_span_t){ line.off, i };
    uint32_t t = ++i;
    while (i < line.len && is_vchar_or_obs(l[i]) && l[i] < 0x80) i++;
    if (i == t || i >= line.len || l[i] != ' ') return SY_EHTTP_BAD;
    req->target = (sy_span_t){ line.off + t, i - t };
    i++;
    if (line.len - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 6] != '.') return SY_EHTTP_BAD;
    if (l[i + 5] < '0' || l[i + 5] > '9' || l[i + 7] < '0' || l[i + 7] > '9') return SY_EHTTP_BAD;
    if (l[i + 5] != '1') return SY_EHTTP_VERSION;
    req->minor_version = l[i + 7] - '0';
    req->keep_alive = req->minor_version >= 1;

    int connection_seen = 0;
    for (;;) {
        if (next_line(buf, end, &pos, &line)) return SY_EHTTP_BAD;
        if (line.len == 0) break;
        const uint8_t *h = buf + line.off;
        if (h[0] == ' ' || h[0] == '\t') return SY_EHTTP_BAD; /* obs-fold */
        uint32_t n = 0;
        while (n < line.len && is_tchar(h[n])) n++;
        if (n == 0 || n >= line.len || h[n] != ':') return SY_EHTTP_BAD;
        uint32_t vs = n + 1, ve = line.len;
        while (vs < ve && (h[vs] == ' ' || h[vs] == '\t')) vs++;
        while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t')) ve--;
        if (!field_value_ok(h + vs, ve - vs)) return SY_EHTTP_BAD;
        if (req->nheaders == SY_HTTP_MAX_HEADERS) return SY_EHTTP_TOO_MANY;
        sy_http_header_t *hd = &req->headers[req->nheaders++];
        hd->name = (sy_span_t){ line.off, n };
        hd->value = (sy_span_t){ line.off + vs, ve - vs };
        int rc = apply_header(req, buf, hd, &connection_seen);
        if (rc) return rc;
    }
    if (req->chunked && req->content_length >= 0) return SY_EHTTP_BAD;
    if (req->chunked && req->minor_version == 0) return SY_EHTTP_BAD;
    req->head_length = (uint32_t)end;
    return (int)end;
}

int sy_http_find_header(const sy_http_request_t *req, const uint8_t *buf, const char *name) {
    for (uint32_t i = 0; i < req->nheaders; i++)
        if (span_ieq(buf, req->headers[i].name, name)) return (int)i;
    return -1;
}

/* The media type of value[0..n): bytes before the first ';', without surrounding spaces and
 * tabs. Sets *type_len; returns where the type starts. */
static const uint8_t *media_type(const uint8_t *p, uint32_t n, uint32_t *type_len) {
    uint32_t end = 0;
    while (end < n && p[end] != ';') end++;
    uint32_t start = 0;
    while (start < end && (p[start] == ' ' || p[start] == '\t')) start++;
    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) end--;
    *type_len = end - start;
    return p + start;
}

static int equals_lower(const uint8_t *p, uint32_t n, const char *lower_lit) {
    size_t m = strlen(lower_lit);
    if (n != m) return 0;
    for (uint32_t k = 0; k < n; k++) if (lower(p[k]) != (uint8_t)lower_lit[k]) return 0;
    return 1;
}

int sy_http_media_type_is(const sy_http_request_t *req, const uint8_t *buf, int i, const char *lower_type) {
    if (i < 0 || (uint32_t)i >= req->nheaders) return -1;
    sy_span_t v = req->headers[i].value;
    size_t m = strlen(lower_type);
    /* The usual case: exactly the type, as written. */
    if (v.len == m && memcmp(buf + v.off, lower_type, m) == 0) return 1;
    uint32_t n;
    const uint8_t *t = media_type(buf + v.off, v.len, &n);
    return equals_lower(t, n, lower_type);
}

/* Is a media range's q parameter zero ("q=0", "q=0.0", ...: not acceptable)? */
static int q_is_zero(const uint8_t *p, uint32_t n) {
    for (uint32_t k = 0; k + 1 < n; k++) {
        if (p[k] != ';') continue;
        uint32_t j = k + 1;
        while (j < n && (p[j] == ' ' || p[j] == '\t')) j++;
        if (j + 1 < n && lower(p[j]) == 'q' && p[j + 1] == '=') {
            j += 2;
            if (j >= n || p[j] != '0') return 0;
            for (j++; j < n && p[j] != ';' && p[j] != ' ' && p[j] != '\t'; j++) {
                if (p[j] != '.' && p[j] != '0') return 0;
            }
            return 1;
        }
    }
    return 0;
}

int sy_http_accept(sy_http_request_t *req, const uint8_t *buf) {
    if (req->accept_flags >= 0) return req->accept_flags;
    static const struct { const char *s; int flag; } ranges[] = {
        { "application/json", SY_ACCEPT_JSON }, { "text/event-stream", SY_ACCEPT_SSE },
        { "*/*", SY_ACCEPT_ANY }, { "application/*", SY_ACCEPT_APPLICATION }, { "text/*", SY_ACCEPT_TEXT },
    };
    int i = req->known[SY_H_ACCEPT];
    int flags = 0;
    if (i < 0 || (uint32_t)i >= req->nheaders) {
        flags = SY_ACCEPT_ABSENT;
    } else {
        sy_span_t v = req->headers[i].value;
        const uint8_t *p = buf + v.off;
        /* What MCP clients send (the transport asks for both): one comparison. */
        static const char usual[] = "application/json, text/event-stream";
        if (v.len == sizeof usual - 1 && memcmp(p, usual, sizeof usual - 1) == 0) {
            flags = SY_ACCEPT_JSON | SY_ACCEPT_SSE;
        } else {
            /* A list of media ranges: each compared whole, parameters aside, q=0 refused. */
            uint32_t k = 0;
            while (k <= v.len) {
                uint32_t e = k;
                while (e < v.len && p[e] != ',') e++;
                uint32_t n;
                const uint8_t *t = media_type(p + k, e - k, &n);
                if (!q_is_zero(p + k, e - k)) {
                    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
                        if (equals_lower(t, n, ranges[r].s)) flags |= ranges[r].flag;
                    }
                }
                k = e + 1;
            }
        }
    }
    req->accept_flags = flags;
    return flags;
}

/* Chunked decoder states. */
enum { CK_SIZE, CK_EXT, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_TRAILER_START, CK_TRAILER, CK_END_LF };

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sy_chunked_decode(sy_chunked_t *st, uint8_t *buf, size_t len, size_t *in_off, size_t *out_len,
                      size_t max_body) {
    size_t i = *in_off, o = *out_len;
    while (i < len) {
        uint8_t c = buf[i];
        switch (st->state) {
        case CK_SIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (++st->hex_digits > 15) return SY_EHTTP_BAD;
                st->remaining = st->remaining * 16 + (uint64_t)h;
                i++;
                break;
            }
            if (st->hex_digits == 0) return SY_EHTTP_BAD;
            if (c == ';' || c == ' ' || c == '\t') { st->state = CK_EXT; i++; break; }
            if (c == '\r') { st->state = CK_SIZE_LF; i++; break; }
            if (c == '\n') { i++; goto size_done; }
            return SY_EHTTP_BAD;
        }
        case CK_EXT:
            if (c == '\r') { st->state = CK_SIZE_LF; i++; break; }
            if (c == '\n') { i++; goto size_done; }
            if (c < 0x20 && c != '\t') return SY_EHTTP_BAD;
            i++;
            break;
        case CK_SIZE_LF:
            if (c != '\n') return SY_EHTTP_BAD;
            i++;
        size_done:
            st->hex_digits = 0;
            if (st->remaining == 0) { st->state = CK_TRAILER_START; break; }
            if (o + st->remaining > max_body) return SY_EHTTP_TOO_MANY;
            st->state = CK_DATA;
            break;
        case CK_DATA: {
            size_t n = len - i;
            if (n > st->remaining) n = (size_t)st->remaining;
            if (o != i) memmove(buf + o, buf + i, n);
            o += n; i += n;
            st->remaining -= n;
            if (st->remaining == 0) st->state = CK_DATA_CR;
            break;
        }
        case CK_DATA_CR:
            if (c == '\r') { st->state = CK_DATA_LF; i++; break; }
            if (c == '\n') { st->state = CK_SIZE; i++; break; }
            return SY_EHTTP_BAD;
        case CK_DATA_LF:
            if (c != '\n') return SY_EHTTP_BAD;
            st->state = CK_SIZE; i++;
            break;
        case CK_TRAILER_START:
            /* Either the final CRLF or a trailer field line (ignored, but bounded). */
            if (c == '\r') { st->state = CK_END_LF; i++; break; }
            if (c == '\n') { i++; *in_off = i; *out_len = o; return 1; }
            if (++st->trailer_lines > SY_HTTP_MAX_HEADERS) return SY_EHTTP_TRAILERS;
            st->state = CK_TRAILER;
            break;
        case CK_TRAILER:
            if (++st->trailer_bytes > SY_HTTP_MAX_TRAILER) return SY_EHTTP_TRAILERS;
            if (c == '\n') st->state = CK_TRAILER_START;
            else if (c < 0x20 && c != '\t' && c != '\r') return SY_EHTTP_BAD;
            i++;
            break;
        case CK_END_LF:
            if (c != '\n') return SY_EHTTP_BAD;
            i++;
            *in_off = i; *out_len = o;
            return 1;
        }
    }
    *in_off = i; *out_len = o;
    return 0;
}
