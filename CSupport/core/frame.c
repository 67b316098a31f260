/* frame.c: the 20-byte executor-protocol frame header (proto/executor-protocol.md, "Frame"). */
#include "switchyard_c.h"

static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void sy_frame_header_encode(const sy_frame_header_t *h, uint8_t out[SY_FRAME_HEADER_SIZE]) {
    out[0] = 'S'; out[1] = 'Y';
    out[2] = h->version;
    out[3] = h->type;
    out[4] = h->flags;
    out[5] = out[6] = out[7] = 0;
    put_be32(out + 8, (uint32_t)(h->stream >> 32));
    put_be32(out + 12, (uint32_t)h->stream);
    put_be32(out + 16, h->length);
}

int sy_frame_header_decode(const uint8_t *in, size_t len, uint32_t max_payload, sy_frame_header_t *h) {
    if (len < SY_FRAME_HEADER_SIZE) return SY_EFRAME_SHORT;
    if (in[0] != 'S' || in[1] != 'Y') return SY_EFRAME_MAGIC;
    if (in[2] != SY_FRAME_VERSION) return SY_EFRAME_VERSION;
    if (in[4] & ~SY_FRAME_FLAG_COMPRESSED) return SY_EFRAME_FLAGS;
    if (in[5] | in[6] | in[7]) return SY_EFRAME_RESERVED;
    h->version = in[2];
    h->type = in[3];
    h->flags = in[4];
    h->stream = ((uint64_t)get_be32(in + 8) << 32) | get_be32(in + 12);
    h->length = get_be32(in + 16);
    if (h->length > max_payload) return SY_EFRAME_TOO_LARGE;
    return 0;
}
