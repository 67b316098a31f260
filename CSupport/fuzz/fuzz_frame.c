/* libFuzzer target: the frame header decoder; a decoded header re-encodes to the same bytes. */
#include "switchyard_c.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sy_frame_header_t h;
    if (sy_frame_header_decode(data, size, SY_FRAME_MAX_PAYLOAD, &h) == 0) {
        uint8_t out[SY_FRAME_HEADER_SIZE];
        sy_frame_header_encode(&h, out);
        if (memcmp(out, data, SY_FRAME_HEADER_SIZE) != 0) abort();
        if (h.length > SY_FRAME_MAX_PAYLOAD) abort();
    }
    return 0;
}
