/* libFuzzer target: the JSON-RPC envelope scanner. Spans must stay inside the input, and
 * the scanner must agree with itself when run as a plain validator. */
#include "switchyard_c.h"
#include <stdlib.h>

static void check(const sy_json_value_t *v, size_t size) {
    if (v->kind != SY_JSON_ABSENT && (size_t)v->span.off + v->span.len > size) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sy_envelope_t env;
    int rc = sy_json_scan_envelope(data, size, &env);
    int rv = sy_json_validate(data, size);
    if ((rc == 0) != (rv == 0)) abort();
    if (rc == 0) {
        check(&env.jsonrpc, size); check(&env.id, size); check(&env.method, size);
        check(&env.params, size); check(&env.result, size); check(&env.error, size);
        check(&env.name, size); check(&env.arguments, size); check(&env.meta, size);
        check(&env.progress_token, size);
        /* A recorded object or array must itself be valid JSON. */
        if (env.arguments.kind == SY_JSON_OBJECT &&
            sy_json_validate(data + env.arguments.span.off, env.arguments.span.len) != 0) abort();
        if (env.params.kind == SY_JSON_OBJECT &&
            sy_json_validate(data + env.params.span.off, env.params.span.len) != 0) abort();
    }
    return 0;
}
