/* libFuzzer target: the HTTP request head parser and the in-place chunked decoder. */
#include "switchyard_c.h"
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

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
        static const char *known[] = {
            "accept", "content-type", "content-length", "transfer-encoding", "connection", "expect", "host",
            "origin", "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id",
            "traceparent", "authorization", "x-forwarded-for",
        };
        /* A name added to SY_H_* must be added here too. */
        _Static_assert(sizeof known / sizeof known[0] == SY_H_KNOWN_COUNT, "one name per SY_H_*");
        for (int k = 0; k < SY_H_KNOWN_COUNT; k++) {
            int i = sy_http_known_header(&req, k);
            int expected = sy_http_find_header(&req, data, known[k]);
            if (k == SY_H_X_FORWARDED_FOR && expected >= 0) { /* the last one, not the first */
                for (uint32_t j = (uint32_t)expected + 1; j < req.nheaders; j++) {
                    sy_http_header_t h = req.headers[j];
                    if (h.name.len == 15 && strncasecmp((const char *)data + h.name.off, "x-forwarded-for", 15) == 0)
                        expected = (int)j;
                }
            }
            if (i != expected) abort();
            if ((sy_http_media_type_is(&req, data, i, "application/json") < 0) != (i < 0)) abort();
        }
        /* The Accept flags agree with a naive reference: the value lowercased, split at commas
         * and semicolons with strtok_r, each range and q parameter trimmed and compared. */
        {
            static const struct { const char *s; int flag; } ranges[] = {
                { "application/json", SY_ACCEPT_JSON }, { "text/event-stream", SY_ACCEPT_SSE }, { "*/*", SY_ACCEPT_ANY },
                { "application/*", SY_ACCEPT_APPLICATION }, { "text/*", SY_ACCEPT_TEXT },
            };
            int i = sy_http_known_header(&req, SY_H_ACCEPT), expected = i < 0 ? SY_ACCEPT_ABSENT : 0;
            int comparable = 1;
            if (i >= 0) {
                sy_span_t v = req.headers[i].value;
                char *copy = malloc(v.len + 1);
                for (uint32_t k = 0; k < v.len; k++) {
                    copy[k] = (char)tolower(data[v.off + k]);
                    if (!copy[k]) comparable = 0;
                }
                copy[v.len] = 0;
                char *outer = NULL;
                for (char *item = strtok_r(copy, ",", &outer); item; item = strtok_r(NULL, ",", &outer)) {
                    char *inner = NULL, *type = strtok_r(item, ";", &inner);
                    /* An item that is empty before its first ';' has an empty type. */
                    if (item[0] == ';') { type = ""; inner = item + 1; }
                    char *t = type ? type : "";
                    while (*t == ' ' || *t == '\t') t++;
                    size_t n = strlen(t);
                    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
                    int zero = 0;
                    for (char *prm = strtok_r(NULL, ";", &inner); prm; prm = strtok_r(NULL, ";", &inner)) {
                        while (*prm == ' ' || *prm == '\t') prm++;
                        if (prm[0] == 'q' && prm[1] == '=') {
                            char *q = prm + 2;
                            zero = q[0] == '0';
                            for (q++; zero && *q && *q != ' ' && *q != '\t'; q++) zero = *q == '.' || *q == '0';
                            break;
                        }
                    }
                    for (int r = 0; !zero && r < 5; r++) {
                        if (strlen(ranges[r].s) == n && strncmp(t, ranges[r].s, n) == 0) expected |= ranges[r].flag;
                    }
                }
                free(copy);
            }
            int flags = sy_http_accept(&req, data);
            if (req.accept_flags != flags) abort();
            if (comparable && flags != expected) abort();
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
