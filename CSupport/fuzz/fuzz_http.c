/* libFuzzer target: the HTTP request head parser and the in-place chunked decoder. */
#include "switchyard_c.h"
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sy_http_request_t req;
    int rc = sy_http_parse_request(data, size, 16384, &req);
    if (rc > 0) {
        /* Spans must lie inside the head. */
        if (req.method.off + req.method.len > (uint32_t)rc || req.target.off + req.target.len > (uint32_t)rc) abort();
        for (uint32_t i = 0; i < req.nheaders; i++) {
            sy_http_header_t h = req.headers[i];
            if (h.name.off + h.name.len > (uint32_t)rc || h.value.off + h.value.len > (uint32_t)rc) abort();
        }
        /* The index built while parsing agrees with a search by name, for every known name. */
        static const char *known[SY_H_KNOWN_COUNT] = {
            "accept", "content-type", "content-length", "transfer-encoding", "connection", "expect", "host",
            "origin", "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id",
            "traceparent",
        };
        for (int k = 0; k < SY_H_KNOWN_COUNT; k++) {
            int i = sy_http_known_header(&req, k);
            if (i != sy_http_find_header(&req, data, known[k])) abort();
            if (sy_http_header_at_contains(&req, data, i, "") != (i < 0 ? -1 : 1)) abort();
        }
        /* The one-pass Accept flags agree with a substring test of each media range. */
        {
            static const struct { const char *s; int flag; } ranges[] = {
                { "application/json", SY_ACCEPT_JSON }, { "text/event-stream", SY_ACCEPT_SSE }, { "*/*", SY_ACCEPT_ANY },
                { "application/*", SY_ACCEPT_APPLICATION }, { "text/*", SY_ACCEPT_TEXT },
            };
            int i = sy_http_known_header(&req, SY_H_ACCEPT), expected = i < 0 ? SY_ACCEPT_ABSENT : 0;
            for (int r = 0; i >= 0 && r < 5; r++) {
                /* A naive reference: every offset, every byte, ASCII case folded. */
                sy_span_t v = req.headers[i].value;
                size_t n = strlen(ranges[r].s);
                int found = 0;
                for (size_t k = 0; !found && k + n <= v.len; k++) {
                    size_t j = 0;
                    while (j < n && tolower(data[v.off + k + j]) == ranges[r].s[j]) j++;
                    found = j == n;
                }
                if (found) expected |= ranges[r].flag;
                if ((sy_http_header_at_contains(&req, data, i, ranges[r].s) == 1) != found) abort();
            }
            if (sy_http_accept(&req, data) != expected || req.accept_flags != expected) abort();
        }
        if (req.chunked) {
            uint8_t *copy = malloc(size);
            memcpy(copy, data, size);
            sy_chunked_t st = {0};
            size_t in_off = (size_t)rc, out_len = (size_t)rc;
            int r = sy_chunked_decode(&st, copy, size, &in_off, &out_len, 1 << 20);
            if (in_off > size || out_len > in_off) abort();
            (void)r;
            free(copy);
        }
    }
    /* The chunked decoder on raw input too, fed in two pieces. */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    sy_chunked_t st = {0};
    size_t in_off = 0, out_len = 0, half = size / 2;
    int r = sy_chunked_decode(&st, buf, half, &in_off, &out_len, 1 << 20);
    if (r == 0) r = sy_chunked_decode(&st, buf, size, &in_off, &out_len, 1 << 20);
    if (in_off > size || out_len > in_off) abort();
    free(buf);
    return 0;
}
