/* Internal to the TLS target: what context.c, tickets.c and connection.c share. */
#ifndef SWITCHYARD_TLS_INTERNAL_H
#define SWITCHYARD_TLS_INTERNAL_H

#include "switchyard_tls.h"
#include <openssl/ssl.h>

typedef struct sy__ticket_key {
    uint8_t name[16];
    uint8_t aes[32];
    uint8_t hmac[32];
} sy__ticket_key_t;

/* Attached to a server SSL_CTX (ex_data), freed with it. keys[0..2]: epochs epoch-1, epoch, epoch+1. */
typedef struct sy__ticket_state {
    uint8_t secret[64];
    size_t secret_len;
    uint32_t period_s;
    int derived;
    uint64_t epoch;
    int64_t fixed_now;
    sy__ticket_key_t keys[3];
} sy__ticket_state_t;

int sy__tickets_install(SSL_CTX *ctx, const uint8_t *secret, size_t secret_len, uint32_t period_s);
sy__ticket_state_t *sy__ticket_state(SSL_CTX *ctx);
/* Writes "what: reason" for the oldest queued OpenSSL error (or `fallback`) and clears the queue. */
void sy__error_text(char *err, size_t errlen, const char *what, const char *fallback);

#endif
