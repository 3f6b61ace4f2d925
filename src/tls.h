/*
 * tls — the byte transport under libetpan: TCP connect with a timeout, and
 * two mailstream_low drivers over a connected socket, one plain and one
 * OpenSSL TLS (chain and host name always verified, TLS >= 1.2, SNI).
 * Both pass what the server sends through the guard (guard.h) first.
 *
 * Debian's libetpan does TLS with GnuTLS and verifies nothing, so we never
 * use its mailimap_ssl_* / starttls helpers (DESIGN.md §3). Both drivers
 * enforce the network timeout on every read and write themselves, and can
 * trace the protocol with the LOGIN password redacted.
 *
 * Ownership: a mailstream_low returned here owns its socket (and SSL*); it
 * is freed by mailstream_low_free / by the mailstream that wraps it, which
 * closes the socket. tls_ctx is shared by all sessions and outlives them.
 * This header is internal to src/: libetpan types never leave src/.
 */
#ifndef IMAPFS_TLS_H
#define IMAPFS_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include <libetpan/libetpan.h>

#include "tcp.h"

struct tls_ctx;

/* Build the shared OpenSSL context: system CAs, or only CAFILE if given. */
int tls_ctx_new(const char *cafile, struct tls_ctx **out, char *err, unsigned errlen);
void tls_ctx_free(struct tls_ctx *t);

/* The former names of tcp_connect and tcp_fd_is_loopback (tcp.h), kept
 * until session.c calls those (issue 14 splits session.c meanwhile). */
static inline int tls_connect_tcp(const char *host, int port, int timeout, int *fd, char *err,
				  unsigned errlen)
{
	return tcp_connect(host, port, timeout, fd, err, errlen);
}

static inline bool tls_fd_is_loopback(int fd)
{
	return tcp_fd_is_loopback(fd);
}

/* Trace settings for a driver: when ON, every line crossing the stream is
 * logged at LOG_INFO as "imap[ID] C: ..." / "imap[ID] S: ...". */
struct tls_trace {
	bool on;
	int id;
};

/* Wrap FD in a plain driver. Takes FD (closes it on failure). */
int tls_low_plain(int fd, int timeout, struct tls_trace trace, mailstream_low **out);

/* TLS handshake on FD, verifying the certificate chain and HOST (name or IP
 * literal), within TIMEOUT seconds. Takes FD (closes it on failure).
 * -EPERM: the certificate is not trusted (ERR says the fix); -EPROTO: the
 * server does not speak TLS (it greeted in clear text, say). */
int tls_low_tls(struct tls_ctx *t, int fd, const char *host, int timeout,
		struct tls_trace trace, mailstream_low **out, char *err, unsigned errlen);

/* The errno of the last failed read/write on a stream made here
 * (ETIMEDOUT for a timeout, EPROTO for a reply the guard refused, EFBIG
 * for a literal over the limit), 0 if none. */
int tls_low_last_errno(mailstream_low *low);

/* True when OpenSSL or the guard holds bytes libetpan has not read yet
 * (poll would not see them). */
bool tls_low_has_pending(mailstream_low *low);

/* Bytes of protocol received and handed to libetpan so far. */
uint64_t tls_low_rx_offset(mailstream_low *low);
/* libetpan cuts a string at its first NUL byte (see tls.c): what it made
 * of each string with a NUL received at offset FROM or later (*CUTS: N
 * strings owned by the stream, valid until the next read or call). True
 * when a NUL there could not be placed in a string, or its record is
 * gone: then nothing received since FROM can be trusted to be whole. */
bool tls_low_nul_cuts(mailstream_low *low, uint64_t from, char *const **cuts, size_t *n);
/* The largest literal the server may send on the stream from now on (the
 * guard refuses a larger one before libetpan allocates for it, failing
 * the read with EFBIG). A new stream starts at GUARD_LITERAL_META. */
void tls_low_set_literal_limit(mailstream_low *low, uint64_t bytes);

/* Interrupt any blocked read/write on the stream (from another thread). */
void tls_low_shutdown(mailstream_low *low);

#endif
