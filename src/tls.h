/*
 * tls — the byte transport under libetpan, as session_login.c uses it: a TCP
 * socket (tcp.h) becomes a mailstream_low driver (tls_low.h), plain or
 * OpenSSL TLS (chain and host name always verified, TLS >= 1.2, SNI),
 * which mailimap_connect then owns.
 *
 * Debian's libetpan does TLS with GnuTLS and verifies neither the
 * certificate chain nor the host name, so we never use its mailimap_ssl_*
 * / starttls helpers: our own driver over OpenSSL goes under libetpan
 * instead (src/README.md has the libetpan facts). The drivers enforce the
 * network timeout on every read and write themselves, and can trace the
 * protocol with the LOGIN password redacted.
 *
 * Files: tcp.c connects; tls.c (this header, and tls_ctx.h for the
 * context) holds the OpenSSL context and the handshake; tls_low.c the driver; trace.c the redacting trace;
 * nulcut.c and literal.c follow where a NUL byte cuts a string.
 *
 * Ownership: a mailstream_low returned here owns its socket (and SSL*); it
 * is freed by mailstream_low_free / by the mailstream that wraps it, which
 * closes the socket. tls_ctx is shared by all sessions and outlives them.
 * This header is internal to src/: libetpan types never leave src/.
 */
#ifndef IMAPFS_TLS_H
#define IMAPFS_TLS_H

#include <stdbool.h>
#include <libetpan/libetpan.h>

#include "tcp.h"
#include "tls_ctx.h"
#include "tls_low.h"

/* TLS handshake on FD, verifying the certificate chain and HOST (name or IP
 * literal), within TIMEOUT seconds. Takes FD (closes it on failure).
 * -EPERM: the certificate is not trusted (ERR says the fix); -EPROTO: the
 * server does not speak TLS (it greeted in clear text, say). */
int tls_low_tls(struct tls_ctx *t, int fd, const char *host, int timeout,
		struct tls_trace trace, mailstream_low **out, char *err, unsigned errlen);

#endif
