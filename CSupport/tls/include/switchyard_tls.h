/* switchyard_tls.h: TLS on Switchyard's streams, with OpenSSL 3.
 *
 *   sy_tls_ctx   a server (or test client) SSL_CTX: certificate chain, key, protocol floor,
 *                ALPN http/1.1, optional client-certificate verification, and session tickets
 *                whose keys every front derives alike from the server's shared secret
 *   sy_tls_conn  one connection's SSL over two custom BIOs: ciphertext is read in place from a
 *                window the caller points at (the socket's pooled read buffer, no copy), and
 *                records are appended to an sy_tls_out the caller drains into the socket
 *
 * Functions return 0 or a negative SY_TLS_* code and never print. Error text for the caller's
 * log goes into a caller buffer and names files and OpenSSL reasons, never key material.
 * Thread: a context may be shared by threads (OpenSSL's SSL_CTX is); a connection and the
 * sy_tls_out it writes to belong to one thread. */
#ifndef SWITCHYARD_TLS_H
#define SWITCHYARD_TLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ssl_ctx_st sy_tls_ctx_t; /* an SSL_CTX */
typedef struct sy_tls_conn sy_tls_conn_t;

enum {
    SY_TLS_ERROR = -1,      /* fatal: the connection is over (an alert may wait in the output) */
    SY_TLS_CLOSED = -2,     /* the peer sent close_notify */
    SY_TLS_CONFIG = -3,     /* a context could not be built (see the error text) */
    SY_TLS_NOMEM = -4,
};

/* What a context is built from. */
typedef struct sy_tls_config {
    int server;                     /* 1: a server context; 0: a client (tests and the load generator) */
    const char *cert_file;          /* PEM: the leaf first, then its chain (server; optional for a client) */
    const uint8_t *key_pem;         /* the private key's PEM bytes (the caller read and will wipe them) */
    size_t key_pem_len;
    const char *key_label;          /* names the key in errors (its file); never its contents */
    const char *verify_ca_file;     /* server: client certificates are requested and verified against
                                       it (optional for the client); client: the server's CA */
    int min_version;                /* 12 or 13 */
    int max_version;                /* 12 or 13; 0: the highest OpenSSL speaks (tests cap a client) */
    const uint8_t *ticket_secret;   /* server: keys of session tickets are derived from it; NULL: random */
    size_t ticket_secret_len;
    uint32_t ticket_period_s;       /* server: a ticket key's epoch (0: the default, one hour) */
    int verify_system;              /* client without verify_ca_file: verify the server against the
                                       system's trust store (remote upstreams) */
} sy_tls_config_t;

/* Builds a context. Returns 0 and *out, or SY_TLS_CONFIG with a reason in err.
 * Ownership: the caller holds one reference and drops it with sy_tls_ctx_free; each connection
 * holds its own, so a context replaced by a reload lives until its last connection is freed. */
int sy_tls_ctx_new(const sy_tls_config_t *cfg, sy_tls_ctx_t **out, char *err, size_t errlen);
void sy_tls_ctx_free(sy_tls_ctx_t *ctx);
/* Tests only: the ticket keys' clock (Unix seconds); 0 goes back to the real clock. */
void sy_tls_ctx_set_ticket_clock(sy_tls_ctx_t *ctx, int64_t unix_seconds);

/* Derives the ticket key material of one epoch: 16 bytes of name, 32 of AES key, 32 of HMAC
 * key (HKDF-SHA256, salt "switchyard tls ticket keys v1", info the epoch as 8 bytes big-endian). */
int sy_tls_ticket_keys(const uint8_t *secret, size_t secret_len, uint64_t epoch, uint8_t out[80]);

/* Where a connection's records go; drained by the caller after each call that may write.
 * Ownership: whoever created it (one per thread or loop); `data` is malloc'd, grown on demand,
 * freed by sy_tls_out_free. */
typedef struct sy_tls_out {
    uint8_t *data;
    size_t len;
    size_t cap;
} sy_tls_out_t;
void sy_tls_out_free(sy_tls_out_t *out);

/* A connection on ctx, writing into *out. NULL when out of memory.
 * Ownership: the caller frees it with sy_tls_conn_free; `out` must outlive it. */
sy_tls_conn_t *sy_tls_conn_new(sy_tls_ctx_t *ctx, sy_tls_out_t *out);
void sy_tls_conn_free(sy_tls_conn_t *c);

/* Feeds ciphertext `in` (read in place, not kept past the call) and decrypts into dst.
 * *in_used: bytes of `in` taken (the caller consumes them); *dst_len: plaintext written.
 * Handshake records are answered into the output. Returns 0 (progress; more input may be
 * needed), SY_TLS_CLOSED, or SY_TLS_ERROR. Stops when dst is full (call again with the rest). */
int sy_tls_read(sy_tls_conn_t *c, const uint8_t *in, size_t in_len, size_t *in_used,
                uint8_t *dst, size_t dst_cap, size_t *dst_len);
/* Encrypts len bytes into the output. Handshake complete only. Returns 0 or SY_TLS_ERROR. */
int sy_tls_write(sy_tls_conn_t *c, const void *data, size_t len);
/* Queues close_notify. */
void sy_tls_shutdown(sy_tls_conn_t *c);
/* The client side starts its handshake (tests); the server waits for the ClientHello. */
int sy_tls_connect(sy_tls_conn_t *c);

int sy_tls_handshake_done(const sy_tls_conn_t *c);
/* Decrypted bytes held inside the SSL object (a record only partly delivered). */
int sy_tls_has_pending(const sy_tls_conn_t *c);
/* 1 when the session was resumed from a ticket. */
int sy_tls_session_reused(const sy_tls_conn_t *c);
/* The verified peer certificate's subject as RFC 2253 text, NUL-terminated, into buf. Returns its
 * length, 0 when there is no verified certificate, or SY_TLS_NOMEM when buf is too small. */
int sy_tls_peer_subject(const sy_tls_conn_t *c, char *buf, size_t buflen);
/* The negotiated protocol ("TLSv1.3") and ALPN ("http/1.1" or ""), static or connection-owned. */
const char *sy_tls_version(const sy_tls_conn_t *c);
void sy_tls_alpn(const sy_tls_conn_t *c, const char **p, size_t *len);
/* 1 when the handshake failed because the peer spoke plain HTTP to this TLS port. */
int sy_tls_failed_on_plain_http(const sy_tls_conn_t *c);
/* The reason of the last failure on this connection, for a debug log (no secrets in it). */
void sy_tls_last_error(const sy_tls_conn_t *c, char *buf, size_t buflen);

/* Client: the server name to verify its certificate against (a DNS name, or an IP literal matched
 * against the certificate's IP addresses) and, for a DNS name, to send as SNI. Before the handshake. */
int sy_tls_set_peer_name(sy_tls_conn_t *c, const char *name);

/* Tests only: client sessions, to resume on another connection or context. */
void *sy_tls_get_session(sy_tls_conn_t *c);                   /* caller frees with sy_tls_session_free */
int sy_tls_set_session(sy_tls_conn_t *c, void *session);      /* before the handshake */
void sy_tls_session_free(void *session);
/* Tests only: the client asks for this ALPN protocol list (wire format). */
int sy_tls_set_alpn(sy_tls_conn_t *c, const uint8_t *protos, size_t len);

#ifdef __cplusplus
}
#endif
#endif
