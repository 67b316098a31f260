/* Building an SSL_CTX from a sy_tls_config: certificate chain, key, protocol floor, ciphers,
 * ALPN, client-certificate verification and shared session tickets. */
#include "tls_internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

/* TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3 keeps OpenSSL's default suites). */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"
static const unsigned char HTTP11[] = "http/1.1";

void sy__error_text(char *err, size_t errlen, const char *what, const char *fallback) {
    if (!err || errlen == 0) { ERR_clear_error(); return; }
    unsigned long e = ERR_peek_error();
    char reason[256];
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(err, errlen, "%s: %s", what, e ? reason : fallback);
    ERR_clear_error();
}

/* Chooses http/1.1 from the client's ALPN list; a client that offers only protocols we do not
 * speak gets the no_application_protocol alert (RFC 7301, 3.2). No ALPN at all is fine. */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)s; (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) break;
        if (n == sizeof(HTTP11) - 1 && memcmp(in + i + 1, HTTP11, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int use_key(SSL_CTX *ctx, const sy_tls_config_t *cfg, char *err, size_t errlen) {
    char what[320];
    snprintf(what, sizeof(what), "TLS key file %s", cfg->key_label ? cfg->key_label : "(in memory)");
    BIO *bio = BIO_new_mem_buf(cfg->key_pem, (int)cfg->key_pem_len);
    if (!bio) { sy__error_text(err, errlen, what, "out of memory"); return SY_TLS_NOMEM; }
    /* No passphrase callback: an encrypted key fails here instead of prompting on a terminal. */
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    if (!key) { sy__error_text(err, errlen, what, "no PEM private key found"); return SY_TLS_CONFIG; }
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) { sy__error_text(err, errlen, what, "unusable"); return SY_TLS_CONFIG; }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        sy__error_text(err, errlen, what, "does not match the certificate");
        return SY_TLS_CONFIG;
    }
    return 0;
}

static int configure(SSL_CTX *ctx, const sy_tls_config_t *cfg, char *err, size_t errlen) {
    char what[320];
    int floor = cfg->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    int ceiling = cfg->max_version == 12 ? TLS1_2_VERSION : cfg->max_version == 13 ? TLS1_3_VERSION : 0;
    if (SSL_CTX_set_min_proto_version(ctx, floor) != 1 || SSL_CTX_set_max_proto_version(ctx, ceiling) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        sy__error_text(err, errlen, "protocol settings", "refused");
        return SY_TLS_CONFIG;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    /* Idle connections give their record buffers back (thousands of keep-alives). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (cfg->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
            snprintf(what, sizeof(what), "certificate file %s", cfg->cert_file);
            sy__error_text(err, errlen, what, "unreadable");
            return SY_TLS_CONFIG;
        }
        if (!cfg->key_pem) { snprintf(err, errlen, "a certificate needs its private key"); return SY_TLS_CONFIG; }
        int rc = use_key(ctx, cfg, err, errlen);
        if (rc != 0) return rc;
    } else if (cfg->server) {
        snprintf(err, errlen, "a server needs a certificate");
        return SY_TLS_CONFIG;
    }
    if (cfg->verify_ca_file) {
        snprintf(what, sizeof(what), "CA file %s", cfg->verify_ca_file);
        if (SSL_CTX_load_verify_locations(ctx, cfg->verify_ca_file, NULL) != 1) {
            sy__error_text(err, errlen, what, "unreadable");
            return SY_TLS_CONFIG;
        }
        if (cfg->server) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->verify_ca_file);
            if (!names) { sy__error_text(err, errlen, what, "no certificate in it"); return SY_TLS_CONFIG; }
            SSL_CTX_set_client_CA_list(ctx, names); /* the context owns `names` now */
        }
        /* A server asks for a certificate and checks any it gets; one without is let through
         * (the auth stage decides what an anonymous peer may do). */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else if (!cfg->server && cfg->verify_system) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            sy__error_text(err, errlen, "the system's trusted certificates", "unreadable");
            return SY_TLS_CONFIG;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cfg->server) {
        static const unsigned char sid_ctx[] = "switchyard";
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
        /* Stateless resumption only: tickets any front opens; no per-process session cache. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 1);
        int rc = sy__tickets_install(ctx, cfg->ticket_secret, cfg->ticket_secret_len, cfg->ticket_period_s);
        if (rc != 0) { sy__error_text(err, errlen, "session tickets", "cannot derive keys"); return rc; }
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    }
    return 0;
}

int sy_tls_ctx_new(const sy_tls_config_t *cfg, sy_tls_ctx_t **out, char *err, size_t errlen) {
    *out = NULL;
    if (err && errlen) err[0] = 0;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
    if (!ctx) { sy__error_text(err, errlen, "TLS context", "out of memory"); return SY_TLS_NOMEM; }
    int rc = configure(ctx, cfg, err, errlen);
    if (rc != 0) { SSL_CTX_free(ctx); return rc; }
    *out = ctx;
    return 0;
}

void sy_tls_ctx_free(sy_tls_ctx_t *ctx) { SSL_CTX_free(ctx); }
