/* Session tickets every front of one server can open: their keys are derived from the server's
 * shared secret and the current time epoch, so fronts rotate them in step without talking to
 * each other. A ticket is sealed with the current epoch's keys and opened with the current,
 * previous or next epoch's (the next: a front whose clock is a little ahead); one sealed by the
 * previous epoch is accepted and replaced (renewed). */
#include "tls_internal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICKET_SALT "switchyard tls ticket keys v1"
#define DEFAULT_PERIOD_S 3600

static int ticket_index = -1;
static pthread_once_t ticket_index_once = PTHREAD_ONCE_INIT;

/* Frees the ticket state with its context (the last reference: a replaced context lives on
 * while connections still hold it). */
static void ticket_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    sy__ticket_state_t *st = ptr;
    if (!st) return;
    OPENSSL_cleanse(st, sizeof(*st));
    free(st);
}

static void make_index(void) {
    ticket_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, ticket_state_free);
}

sy__ticket_state_t *sy__ticket_state(SSL_CTX *ctx) {
    pthread_once(&ticket_index_once, make_index);
    return ticket_index < 0 ? NULL : SSL_CTX_get_ex_data(ctx, ticket_index);
}

int sy_tls_ticket_keys(const uint8_t *secret, size_t secret_len, uint64_t epoch, uint8_t out[80]) {
    uint8_t info[8];
    for (int i = 0; i < 8; i++) info[i] = (uint8_t)(epoch >> (56 - 8 * i));
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) return SY_TLS_ERROR;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!kctx) return SY_TLS_NOMEM;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, TICKET_SALT, sizeof(TICKET_SALT) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(kctx, out, 80, params);
    EVP_KDF_CTX_free(kctx);
    return ok == 1 ? 0 : SY_TLS_ERROR;
}

static int64_t ticket_now(const sy__ticket_state_t *st) {
    return st->fixed_now ? st->fixed_now : (int64_t)time(NULL);
}

/* Derives the keys of epochs current-1 ... current+1 when the epoch moved. */
static int refresh(sy__ticket_state_t *st) {
    int64_t now = ticket_now(st);
    uint64_t epoch = (uint64_t)(now < 0 ? 0 : now) / st->period_s;
    if (st->derived && epoch == st->epoch) return 0;
    for (int i = 0; i < 3; i++) {
        uint8_t km[80];
        if (sy_tls_ticket_keys(st->secret, st->secret_len, epoch - 1 + (uint64_t)i, km) != 0) return SY_TLS_ERROR;
        memcpy(st->keys[i].name, km, 16);
        memcpy(st->keys[i].aes, km + 16, 32);
        memcpy(st->keys[i].hmac, km + 48, 32);
        OPENSSL_cleanse(km, sizeof(km));
    }
    st->epoch = epoch;
    st->derived = 1;
    return 0;
}

/* OpenSSL's ticket key callback: enc 1 seals (fills name and iv), 0 opens. Returns 1 (use),
 * 2 (opened, but issue a fresh ticket), 0 (unknown key: full handshake), -1 (error). */
static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc) {
    sy__ticket_state_t *st = sy__ticket_state(SSL_get_SSL_CTX(s));
    if (!st || refresh(st) != 0) return -1;
    const sy__ticket_key_t *key = NULL;
    int rc = 1;
    if (enc) {
        key = &st->keys[1];
        memcpy(key_name, key->name, 16);
        if (RAND_bytes(iv, 16) != 1) return -1;
    } else {
        for (int i = 0; i < 3 && !key; i++) {
            if (memcmp(key_name, st->keys[i].name, 16) == 0) {
                key = &st->keys[i];
                rc = i == 0 ? 2 : 1;
            }
        }
        if (!key) return 0;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)key->hmac, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
    int ok = enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key->aes, iv)
                 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key->aes, iv);
    return ok == 1 ? rc : -1;
}

int sy__tickets_install(SSL_CTX *ctx, const uint8_t *secret, size_t secret_len, uint32_t period_s) {
    pthread_once(&ticket_index_once, make_index);
    if (ticket_index < 0) return SY_TLS_ERROR;
    sy__ticket_state_t *st = calloc(1, sizeof(*st));
    if (!st) return SY_TLS_NOMEM;
    st->period_s = period_s ? period_s : DEFAULT_PERIOD_S;
    if (secret && secret_len > sizeof(st->secret)) {
        /* A longer secret is hashed first (every front does the same, so keys still agree). */
        unsigned int n = 0;
        if (EVP_Digest(secret, secret_len, st->secret, &n, EVP_sha256(), NULL) != 1) { free(st); return SY_TLS_ERROR; }
        st->secret_len = n;
    } else if (secret && secret_len > 0) {
        st->secret_len = secret_len;
        memcpy(st->secret, secret, secret_len);
    } else {
        /* A lone front or a client: tickets valid on this process only. */
        st->secret_len = 32;
        if (RAND_bytes(st->secret, 32) != 1) { free(st); return SY_TLS_ERROR; }
    }
    if (SSL_CTX_set_ex_data(ctx, ticket_index, st) != 1) { ticket_state_free(NULL, st, NULL, 0, 0, NULL); return SY_TLS_ERROR; }
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) return SY_TLS_ERROR;
    /* A ticket opens for up to two epochs after it was sealed. */
    SSL_CTX_set_timeout(ctx, (long)st->period_s * 2);
    return 0;
}

void sy_tls_ctx_set_ticket_clock(sy_tls_ctx_t *ctx, int64_t unix_seconds) {
    sy__ticket_state_t *st = sy__ticket_state(ctx);
    if (st) st->fixed_now = unix_seconds;
}
