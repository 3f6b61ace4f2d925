/*
 * tls — OpenSSL for the IMAP connections: the context all sessions share,
 * and the handshake that turns a connected socket into a stream driver
 * (tls_low.c) over a verified TLS session.
 *
 * Certificate checking is OpenSSL's own (SSL_VERIFY_PEER plus
 * SSL_set1_host / an IP check): we add no verification logic of our own,
 * only refuse to go on when it fails, and say why (connhint.c). The
 * handshake as a whole gets the network timeout, and never runs past the
 * calling thread's deadline (tcp_wait).
 */
#include "tls.h"
#include "connhint_int.h"
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_ctx {
	SSL_CTX *ctx;		/* immutable after tls_ctx_new; SSL_CTX is thread-safe for SSL_new */
	char *cafile;		/* -o cafile= or NULL (for the messages), immutable */
};

static int tls_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tls_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- context ---------------------------------------------------------- */

int tls_ctx_new(const char *cafile, struct tls_ctx **out, char *err, unsigned errlen)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		rc = tls_fail(err, errlen, -ENOMEM, "TLS: cannot create context");
		goto out_free;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (cafile != NULL) {
		rc = connhint_cafile(cafile, err, errlen);
		if (rc < 0)
			goto out_ctx;
		t->cafile = strdup(cafile);
		if (t->cafile == NULL) {
			rc = -ENOMEM;
			goto out_ctx;
		}
		if (SSL_CTX_load_verify_locations(t->ctx, cafile, NULL) != 1) {
			const char *why = ERR_reason_error_string(ERR_get_error());

			ERR_clear_error();
			rc = tls_fail(err, errlen, -EINVAL, "cafile %s: no certificates could be loaded from it "
				      "(%s); it must hold PEM CA certificates (-----BEGIN CERTIFICATE-----)",
				      cafile, why ? why : "unknown error");
			goto out_ctx;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		rc = tls_fail(err, errlen, -EIO, "TLS: cannot load the system CA certificates");
		goto out_ctx;
	}
	*out = t;
	return 0;
out_ctx:
	SSL_CTX_free(t->ctx);
out_free:
	free(t->cafile);
	free(t);
	return rc;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t->cafile);
	free(t);
}

/* ---- handshake -------------------------------------------------------- */

static bool host_is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The server's certificate as received, verified or not: the chain (leaf
 * first on a client) is kept even when verification failed; the peer
 * certificate is set only once it succeeded. */
static X509 *tls_leaf(SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

	return chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
}

int tls_low_tls(struct tls_ctx *t, int fd, const char *host, int timeout,
		struct tls_trace trace, mailstream_low **out, char *err, unsigned errlen)
{
	SSL *ssl;
	struct timespec start;
	int rc, n;
	long vr;

	ssl = SSL_new(t->ctx);
	if (ssl == NULL) {
		rc = tls_fail(err, errlen, -ENOMEM, "TLS: out of memory");
		goto out_fd;
	}
	if (host_is_ip(host)) {
		/* IP SAN check; no SNI for IP literals (RFC 6066 §3) */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
			rc = tls_fail(err, errlen, -EINVAL, "TLS: bad IP address %s", host);
			goto out_ssl;
		}
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) {
			rc = tls_fail(err, errlen, -EINVAL, "TLS: bad host name %s", host);
			goto out_ssl;
		}
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		rc = tls_fail(err, errlen, -EIO, "TLS: SSL_set_fd failed");
		goto out_ssl;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec now;
		long left_ms;

		n = SSL_connect(ssl);
		if (n == 1)
			break;
		/* the whole handshake, not each step, gets the timeout */
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = timeout * 1000L - ((now.tv_sec - start.tv_sec) * 1000L +
					     (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left_ms < 1)
			left_ms = 1;
		switch (SSL_get_error(ssl, n)) {
		case SSL_ERROR_WANT_READ:
			rc = tcp_wait(fd, POLLIN, (int)left_ms);
			break;
		case SSL_ERROR_WANT_WRITE:
			rc = tcp_wait(fd, POLLOUT, (int)left_ms);
			break;
		default:
			vr = SSL_get_verify_result(ssl);
			if (vr != X509_V_OK) {
				rc = tls_fail(err, errlen, -EPERM,
					      "TLS: certificate of %s not trusted: %s", host,
					      X509_verify_cert_error_string(vr));
				connhint_verify(vr, tls_leaf(ssl), t->cafile, err, errlen);
			} else {
				rc = tls_fail(err, errlen, -ECONNRESET, "TLS handshake with %s failed: %s",
					      host, ERR_reason_error_string(ERR_peek_last_error())
						      ? ERR_reason_error_string(ERR_peek_last_error())
						      : "connection closed");
				/* a clear-text greeting read as a TLS record header */
				if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_WRONG_VERSION_NUMBER)
					rc = -EPROTO;
			}
			ERR_clear_error();
			goto out_ssl;
		}
		if (rc < 0) {
			tls_fail(err, errlen, rc, "TLS handshake with %s: %s", host, strerror(-rc));
			goto out_ssl;
		}
	}
	/* belt and braces: a handshake only completes verified with SSL_VERIFY_PEER */
	if (SSL_get_verify_result(ssl) != X509_V_OK || SSL_get0_peer_certificate(ssl) == NULL) {
		rc = tls_fail(err, errlen, -EPERM, "TLS: certificate of %s not verified", host);
		goto out_ssl;
	}
	rc = tls_low_new(fd, ssl, timeout, trace, out);
	if (rc < 0)
		goto out_ssl;
	return 0;
out_ssl:
	SSL_free(ssl);
out_fd:
	close(fd);
	return rc;
}
