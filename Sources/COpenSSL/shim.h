// OpenSSL for Swift. Function-like macros do not import into Swift, so the ones Sluice needs
// are wrapped here as static inline functions with a `sluice_` prefix.
#ifndef SLUICE_COPENSSL_SHIM_H
#define SLUICE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

static inline int sluice_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int sluice_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long sluice_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) {
    return (long)SSL_CTX_set_options(ctx, options);
}
static inline long sluice_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline long sluice_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}
static inline int sluice_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int sluice_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int sluice_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline uint64_t sluice_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t sluice_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t sluice_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline long sluice_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
static inline long sluice_SSL_MODE_ENABLE_PARTIAL_WRITE(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }

// SluiceTLS (Sources/SluiceTLS): more macro wrappers.
static inline long sluice_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long sluice_SSL_set_mode(SSL *ssl, long mode) {
    return SSL_set_mode(ssl, mode);
}
static inline void sluice_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int sluice_ERR_GET_LIB(unsigned long e) { return ERR_GET_LIB(e); }
static inline int sluice_ERR_GET_REASON(unsigned long e) { return ERR_GET_REASON(e); }
static inline int sluice_ERR_LIB_SSL(void) { return ERR_LIB_SSL; }
static inline uint64_t sluice_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline uint64_t sluice_SSL_OP_IGNORE_UNEXPECTED_EOF(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }
static inline int sluice_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline unsigned long sluice_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
static inline void sluice_BIO_set_retry_read(BIO *b) { BIO_set_retry_read(b); }
static inline void sluice_BIO_clear_retry_flags(BIO *b) { BIO_clear_retry_flags(b); }
static inline int sluice_BIO_TYPE_SOURCE_SINK(void) { return BIO_TYPE_SOURCE_SINK; }

#endif
