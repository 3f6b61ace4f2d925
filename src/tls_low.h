/*
 * tls_low — the mailstream_low driver under every libetpan session, over a
 * connected socket: plain (tls_low_plain), or TLS over an SSL* that tls.c
 * has verified (tls_low_tls there). What the server sends passes the
 * guard (guard.h) first; every read and write is bounded by the network
 * timeout and the thread's deadline.
 *
 * Ownership: a mailstream_low made here owns its socket (and SSL*); it is
 * freed by mailstream_low_free / by the mailstream that wraps it, which
 * closes the socket. Its state is used by one thread at a time (the
 * session's), except tls_low_shutdown, which may be called from another.
 * The tls_low_* queries answer for this driver only: on another (the fuzz
 * targets run sessions over a memory driver) they give 0 / false / no-op.
 * This header is internal to src/: libetpan types never leave src/.
 */
#ifndef IMAPFS_TLS_LOW_H
#define IMAPFS_TLS_LOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libetpan/libetpan.h>

struct ssl_st;	/* OpenSSL's SSL */

/* Trace settings for a driver: when ON, every line crossing the stream is
 * logged at LOG_INFO as "imap[ID] C: ..." / "imap[ID] S: ..." (trace.h). */
struct tls_trace {
	bool on;
	int id;
};

/* Wrap FD in a plain driver. Takes FD (closes it on failure). */
int tls_low_plain(int fd, int timeout, struct tls_trace trace, mailstream_low **out);

/* Wrap FD and SSL (handshake done, NULL for plain) in a driver with a
 * TIMEOUT in seconds: 0 and *OUT, which then owns both, or -ENOMEM and
 * they stay the caller's. For tls.c. */
int tls_low_new(int fd, struct ssl_st *ssl, int timeout, struct tls_trace trace,
		mailstream_low **out);

/* The errno of the last failed read/write on a stream made here
 * (ETIMEDOUT for a timeout, EPROTO for a reply the guard refused, EFBIG
 * for a literal over the limit), 0 if none. */
int tls_low_last_errno(mailstream_low *low);

/* True when OpenSSL or the guard holds bytes libetpan has not read yet
 * (poll would not see them). */
bool tls_low_has_pending(mailstream_low *low);

/* Bytes of protocol received and handed to libetpan so far. */
uint64_t tls_low_rx_offset(mailstream_low *low);
/* libetpan cuts a string at its first NUL byte (see nulcut.h): what it
 * made of each string with a NUL received at offset FROM or later (*CUTS:
 * N strings owned by the stream, valid until the next read or call). True
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
