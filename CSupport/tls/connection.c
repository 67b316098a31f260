/* One TLS connection over the caller's buffers: a BIO that reads ciphertext in place from a
 * window the caller points at for the duration of one call, and writes records into an
 * sy_tls_out the caller drains into its socket. Nothing is buffered here between calls but
 * what OpenSSL itself holds (a record partly delivered). */
#include "tls_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sy_tls_conn {
    SSL *ssl;
    /* The ciphertext window of the current sy_tls_read call (NULL between calls). */
    const uint8_t *in;
    size_t in_len;
    size_t in_pos;
    sy_tls_out_t *out;
    unsigned long last_error;
};

static BIO_METHOD *stream_method;
static pthread_once_t stream_method_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, size_t len, size_t *readbytes) {
    sy_tls_conn_t *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = c->in ? c->in_len - c->in_pos : 0;
    if (avail == 0) { BIO_set_retry_read(b); *readbytes = 0; return 0; }
    size_t n = len < avail ? len : avail;
    memcpy(buf, c->in + c->in_pos, n);
    c->in_pos += n;
    *readbytes = n;
    return 1;
}

static int bio_write(BIO *b, const char *buf, size_t len, size_t *written) {
    sy_tls_conn_t *c = BIO_get_data(b);
    sy_tls_out_t *o = c->out;
    BIO_clear_retry_flags(b);
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 16 * 1024;
        while (cap < o->len + len) cap *= 2;
        uint8_t *p = realloc(o->data, cap);
        if (!p) return 0;
        o->data = p;
        o->cap = cap;
    }
    memcpy(o->data + o->len, buf, len);
    o->len += len;
    *written = len;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    /* Records leave when the caller drains the output: a flush has nothing to do. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) { BIO_set_init(b, 1); return 1; }

static void make_method(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "switchyard stream");
    if (!m) return;
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    stream_method = m; /* lives as long as the process */
}

void sy_tls_out_free(sy_tls_out_t *out) {
    free(out->data);
    out->data = NULL;
    out->len = out->cap = 0;
}

sy_tls_conn_t *sy_tls_conn_new(sy_tls_ctx_t *ctx, sy_tls_out_t *out) {
    pthread_once(&stream_method_once, make_method);
    if (!stream_method) return NULL;
    sy_tls_conn_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->out = out;
    c->ssl = SSL_new(ctx); /* holds a reference on ctx until SSL_free */
    BIO *bio = c->ssl ? BIO_new(stream_method) : NULL;
    if (!bio) { SSL_free(c->ssl); free(c); return NULL; }
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the one BIO for both directions */
    if (SSL_is_server(c->ssl)) SSL_set_accept_state(c->ssl); else SSL_set_connect_state(c->ssl);
    return c;
}

void sy_tls_conn_free(sy_tls_conn_t *c) {
    if (!c) return;
    SSL_free(c->ssl);
    free(c);
}

/* SSL_get_error needs an empty error queue before each call. Clearing it walks all of its slots
 * (about 350 instructions, twice per request); looking costs a fraction, and it is nearly always
 * empty: clear only what is there. */
static inline void clear_errors(void) {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

/* What an SSL call's failure means for the connection. */
static int classify(sy_tls_conn_t *c, int r) {
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return SY_TLS_CLOSED;
    default:
        c->last_error = ERR_peek_error();
        ERR_clear_error();
        return SY_TLS_ERROR;
    }
}

int sy_tls_connect(sy_tls_conn_t *c) {
    clear_errors();
    int r = SSL_do_handshake(c->ssl);
    return r == 1 ? 0 : classify(c, r);
}

int sy_tls_read(sy_tls_conn_t *c, const uint8_t *in, size_t in_len, size_t *in_used,
                uint8_t *dst, size_t dst_cap, size_t *dst_len) {
    c->in = in;
    c->in_len = in_len;
    c->in_pos = 0;
    *dst_len = 0;
    int rc = 0;
    clear_errors();
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) rc = classify(c, r);
    }
    while (rc == 0 && SSL_is_init_finished(c->ssl) && *dst_len < dst_cap) {
        size_t n = 0;
        if (SSL_read_ex(c->ssl, dst + *dst_len, dst_cap - *dst_len, &n) == 1) {
            *dst_len += n;
            /* All input used and nothing left inside OpenSSL: another call would only say WANT_READ. */
            if (c->in_pos == c->in_len && !SSL_has_pending(c->ssl)) break;
            continue;
        }
        rc = classify(c, 0);
        break;
    }
    *in_used = c->in_pos;
    c->in = NULL;
    c->in_len = c->in_pos = 0;
    return rc;
}

int sy_tls_write(sy_tls_conn_t *c, const void *data, size_t len) {
    if (!SSL_is_init_finished(c->ssl)) return SY_TLS_ERROR;
    clear_errors();
    size_t written = 0;
    if (SSL_write_ex(c->ssl, data, len, &written) == 1 && written == len) return 0;
    c->last_error = ERR_peek_error();
    ERR_clear_error();
    return SY_TLS_ERROR;
}

void sy_tls_shutdown(sy_tls_conn_t *c) {
    if (!SSL_is_init_finished(c->ssl)) return;
    ERR_clear_error();
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

int sy_tls_handshake_done(const sy_tls_conn_t *c) { return SSL_is_init_finished(c->ssl); }
int sy_tls_has_pending(const sy_tls_conn_t *c) { return SSL_pending(c->ssl) > 0; }
int sy_tls_session_reused(const sy_tls_conn_t *c) { return SSL_session_reused(c->ssl); }
const char *sy_tls_version(const sy_tls_conn_t *c) { return SSL_get_version(c->ssl); }

void sy_tls_alpn(const sy_tls_conn_t *c, const char **p, size_t *len) {
    const unsigned char *data = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(c->ssl, &data, &n);
    *p = (const char *)data;
    *len = n;
}

int sy_tls_peer_subject(const sy_tls_conn_t *c, char *buf, size_t buflen) {
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (!cert || SSL_get_verify_result(c->ssl) != X509_V_OK) return 0;
    BIO *mem = BIO_new(BIO_s_mem());
    if (!mem) return SY_TLS_NOMEM;
    int rc = SY_TLS_NOMEM;
    if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(mem, &p);
        if (n >= 0 && (size_t)n < buflen) {
            memcpy(buf, p, (size_t)n);
            buf[n] = 0;
            rc = (int)n;
        }
    }
    BIO_free(mem);
    return rc;
}

int sy_tls_failed_on_plain_http(const sy_tls_conn_t *c) {
    return c->last_error && ERR_GET_LIB(c->last_error) == ERR_LIB_SSL &&
           (ERR_GET_REASON(c->last_error) == SSL_R_HTTP_REQUEST ||
            ERR_GET_REASON(c->last_error) == SSL_R_HTTPS_PROXY_REQUEST);
}

void sy_tls_last_error(const sy_tls_conn_t *c, char *buf, size_t buflen) {
    if (buflen == 0) return;
    if (c->last_error) ERR_error_string_n(c->last_error, buf, buflen); else buf[0] = 0;
    /* A refused certificate: OpenSSL's queue says only "certificate verify failed"; say why. */
    long verify = SSL_get_verify_result(c->ssl);
    if (verify != X509_V_OK && c->last_error) {
        size_t used = strlen(buf);
        if (used + 3 < buflen) snprintf(buf + used, buflen - used, " (%s)", X509_verify_cert_error_string(verify));
    }
}

int sy_tls_set_peer_name(sy_tls_conn_t *c, const char *name) {
    X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1) return 0; /* an IP literal: no SNI */
    if (SSL_set_tlsext_host_name(c->ssl, name) != 1) return SY_TLS_ERROR;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, name, 0) == 1 ? 0 : SY_TLS_ERROR;
}

void *sy_tls_get_session(sy_tls_conn_t *c) { return SSL_get1_session(c->ssl); }
int sy_tls_set_session(sy_tls_conn_t *c, void *session) {
    return SSL_set_session(c->ssl, session) == 1 ? 0 : SY_TLS_ERROR;
}
void sy_tls_session_free(void *session) { SSL_SESSION_free(session); }
int sy_tls_set_alpn(sy_tls_conn_t *c, const uint8_t *protos, size_t len) {
    return SSL_set_alpn_protos(c->ssl, protos, (unsigned int)len) == 0 ? 0 : SY_TLS_ERROR;
}
