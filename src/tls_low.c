/*
 * tls_low — the mailstream_low driver libetpan reads and writes through:
 * one per IMAP connection, over a connected socket, plain or over an
 * OpenSSL session (tls.c makes those).
 *
 * Sockets are non-blocking; every read and write waits with poll() for at
 * most the network timeout, and never past the calling thread's deadline
 * (tcp_wait, deadline.h), so a stalled or trickling server costs one
 * operation that fails with ETIMEDOUT, never a hung thread. What the
 * server sends passes the guard (guard.c) on its way to libetpan and the
 * NUL tracking (nulcut.c) as it is handed over; what we send passes the
 * framing check (wire.h) first; both directions feed the protocol trace
 * (trace.c) when it is on.
 */
#include "tls_low.h"
#include "guard.h"
#include "nulcut.h"
#include "tcp.h"
#include "trace.h"
#include "deadline.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLS_IBUF	(16 * 1024)	/* libetpan reads in 16 KiB (mailstream_new) */

/* Per-stream state, owned by the mailstream_low (freed by its free hook).
 * Used by one thread at a time (the session's), except `fd` which
 * tls_low_shutdown may read from another thread (it never changes). */
struct tls_conn {
	int fd;
	SSL *ssl;		/* NULL for the plain driver */
	int timeout_ms;
	int last_errno;
	struct tls_trace trace;
	struct trace_rx rx;	/* partial received line, for the trace */
	struct wire_out out;	/* framing of what we have sent (wire.h) */
	struct nulcut nul;	/* where NUL bytes cut strings (nulcut.h) */
	struct guard guard;	/* checks what the server sends (guard.h) */
	char *ib;		/* bytes read, not yet handed to libetpan */
	size_t ib_off;		/* next byte to hand on */
	size_t ib_ready;	/* bytes before this are scanned and may go */
	size_t ib_len;		/* bytes in ib */
};

/* ---- the driver --------------------------------------------------------- */

/* A server that sends without pause never makes a read wait: the deadline
 * is checked before every read and write too. */
static bool tls_past_deadline(struct tls_conn *c)
{
	if (deadline_left_ms() != 0)
		return false;
	deadline_note_expired();
	c->last_errno = ETIMEDOUT;
	return true;
}

static ssize_t conn_read_raw(struct tls_conn *c, void *buf, size_t count)
{
	ssize_t r;
	int rc;

	if (tls_past_deadline(c))
		return -1;
	for (;;) {
		if (c->ssl != NULL) {
			int n = SSL_read(c->ssl, buf, count > INT32_MAX ? INT32_MAX : (int)count);

			if (n > 0) {
				r = n;
				break;
			}
			switch (SSL_get_error(c->ssl, n)) {
			case SSL_ERROR_WANT_READ:
				rc = tcp_wait(c->fd, POLLIN, c->timeout_ms);
				break;
			case SSL_ERROR_WANT_WRITE:
				rc = tcp_wait(c->fd, POLLOUT, c->timeout_ms);
				break;
			case SSL_ERROR_ZERO_RETURN:
				/* see the plain case below */
				c->last_errno = ECONNRESET;
				return -1;
			default:
				ERR_clear_error();
				c->last_errno = ECONNRESET;
				return -1;
			}
		} else {
			r = read(c->fd, buf, count);
			if (r == 0) {
				/* end of stream: libetpan's literal reader retries a
				 * 0-byte read forever, so report it as an error */
				c->last_errno = ECONNRESET;
				return -1;
			}
			if (r > 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				c->last_errno = errno;
				return -1;
			}
			rc = tcp_wait(c->fd, POLLIN, c->timeout_ms);
		}
		if (rc < 0) {
			c->last_errno = -rc;
			return -1;
		}
	}
	if (c->trace.on && r > 0)
		trace_received(c->trace.id, &c->rx, buf, (size_t)r);
	return r;
}

/*
 * Every byte from the server goes through the guard (guard.c) before
 * libetpan sees it. Bytes come into c->ib and are handed on from there
 * once scanned; the guard may hold back the tail of a read (a possible
 * empty [ALERT] code) until more arrives. Literal bytes, the bulk of a
 * body, skip the copy: they are read straight into libetpan's buffer and
 * only counted.
 */
static ssize_t conn_read(mailstream_low *s, void *buf, size_t count)
{
	struct tls_conn *c = s->data;
	ssize_t r;
	long ok;

	for (;;) {
		if (c->ib_off < c->ib_ready) {
			size_t n = c->ib_ready - c->ib_off;

			if (n > count)
				n = count;
			memcpy(buf, c->ib + c->ib_off, n);
			c->ib_off += n;
			nulcut_scan(&c->nul, buf, n);
			return (ssize_t)n;
		}
		if (c->guard.failed) {
			c->last_errno = c->guard.err;
			return -1;
		}
		/* what is left was held back: move it to the front */
		if (c->ib_off > 0) {
			memmove(c->ib, c->ib + c->ib_off, c->ib_len - c->ib_off);
			guard_consumed(&c->guard, c->ib_off);
			c->ib_len -= c->ib_off;
			c->ib_ready -= c->ib_off;
			c->ib_off = 0;
		}
		if (c->ib_len == 0 && c->guard.lit_left > 0 && guard_idle(&c->guard)) {
			size_t want = count < c->guard.lit_left ? count : (size_t)c->guard.lit_left;

			r = conn_read_raw(c, buf, want);
			if (r < 0)
				return -1;
			guard_scan(&c->guard, buf, 0, (size_t)r);
			nulcut_scan(&c->nul, buf, (size_t)r);
			return r;
		}
		r = conn_read_raw(c, c->ib + c->ib_len, TLS_IBUF - c->ib_len);
		if (r < 0)
			return -1;
		ok = guard_scan(&c->guard, c->ib, c->ib_len, c->ib_len + (size_t)r);
		c->ib_len += (size_t)r;
		if (ok < 0) {
			c->last_errno = (int)-ok;
			return -1;
		}
		c->ib_ready = (size_t)ok;
		if (c->ib_off == c->ib_len)
			c->ib_off = c->ib_len = c->ib_ready = 0;
	}
}

static ssize_t conn_write(mailstream_low *s, const void *buf, size_t count)
{
	struct tls_conn *c = s->data;
	ssize_t r;
	int rc;

	/* Nothing that would break the command framing leaves this process:
	 * check the whole buffer first, then follow only what was sent (a
	 * partial write is offered again from where it stopped). */
	struct wire_out ahead = c->out;

	if (wire_out_scan(&ahead, buf, count) < 0) {
		log_err("refusing to send a command with CR, LF or NUL out of place; connection dropped");
		c->last_errno = EPROTO;
		return -1;
	}
	if (tls_past_deadline(c))
		return -1;
	if (c->trace.on)
		trace_sent(c->trace.id, buf, count, s->privacy == 0);
	for (;;) {
		if (c->ssl != NULL) {
			int n = SSL_write(c->ssl, buf, count > INT32_MAX ? INT32_MAX : (int)count);

			if (n > 0) {
				wire_out_scan(&c->out, buf, (size_t)n);
				return n;
			}
			switch (SSL_get_error(c->ssl, n)) {
			case SSL_ERROR_WANT_READ:
				rc = tcp_wait(c->fd, POLLIN, c->timeout_ms);
				break;
			case SSL_ERROR_WANT_WRITE:
				rc = tcp_wait(c->fd, POLLOUT, c->timeout_ms);
				break;
			default:
				ERR_clear_error();
				c->last_errno = ECONNRESET;
				return -1;
			}
		} else {
			r = send(c->fd, buf, count, MSG_NOSIGNAL);
			if (r >= 0) {
				wire_out_scan(&c->out, buf, (size_t)r);
				return r;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				c->last_errno = errno;
				return -1;
			}
			rc = tcp_wait(c->fd, POLLOUT, c->timeout_ms);
		}
		if (rc < 0) {
			c->last_errno = -rc;
			return -1;
		}
	}
}

static int conn_close(mailstream_low *s)
{
	struct tls_conn *c = s->data;

	if (c->ssl != NULL) {
		/* best effort, never wait for the peer's close_notify */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	return 0;
}

static int conn_get_fd(mailstream_low *s)
{
	struct tls_conn *c = s->data;

	return c->fd;
}

/* libetpan calls free without close when it swaps drivers (STARTTLS): the
 * socket then lives on in the new driver, so free must not close it. */
static void conn_free(mailstream_low *s)
{
	struct tls_conn *c = s->data;

	if (c->ssl != NULL)
		SSL_free(c->ssl);
	free(c->rx.line);
	nulcut_free(&c->nul);
	free(c->ib);
	free(c);
	free(s);
}

static void conn_cancel(mailstream_low *s)
{
	struct tls_conn *c = s->data;

	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

static mailstream_low_driver tls_conn_driver = {
	.mailstream_read = conn_read,
	.mailstream_write = conn_write,
	.mailstream_close = conn_close,
	.mailstream_get_fd = conn_get_fd,
	.mailstream_free = conn_free,
	.mailstream_cancel = conn_cancel,
};

int tls_low_new(int fd, SSL *ssl, int timeout, struct tls_trace trace, mailstream_low **out)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->rx.line = malloc(TRACE_LINE_MAX + 1);
	c->ib = malloc(TLS_IBUF);
	if (c->rx.line == NULL || c->ib == NULL) {
		free(c->rx.line);
		free(c->ib);
		free(c);
		return -ENOMEM;
	}
	guard_init(&c->guard, trace.id);
	c->fd = fd;
	c->ssl = ssl;
	c->timeout_ms = timeout * 1000;
	wire_out_init(&c->out);
	c->trace = trace;
	*out = mailstream_low_new(c, &tls_conn_driver);
	if (*out == NULL) {
		free(c->rx.line);
		free(c->ib);
		free(c);
		return -ENOMEM;
	}
	return 0;
}

int tls_low_plain(int fd, int timeout, struct tls_trace trace, mailstream_low **out)
{
	int rc = tls_low_new(fd, NULL, timeout, trace, out);

	if (rc < 0)
		close(fd);
	return rc;
}

/* ---- queries ----------------------------------------------------------- */

static bool ours(mailstream_low *low)
{
	return low != NULL && low->driver == &tls_conn_driver;
}

int tls_low_last_errno(mailstream_low *low)
{
	struct tls_conn *c;

	if (low == NULL || low->driver != &tls_conn_driver)
		return 0;
	c = low->data;
	return c->last_errno;
}

bool tls_low_has_pending(mailstream_low *low)
{
	struct tls_conn *c;

	if (low == NULL || low->driver != &tls_conn_driver)
		return false;
	c = low->data;
	/* bytes the guard has read from the socket count too */
	return c->ib_len > c->ib_off || (c->ssl != NULL && SSL_pending(c->ssl) > 0);
}

void tls_low_shutdown(mailstream_low *low)
{
	if (low != NULL && low->driver == &tls_conn_driver)
		conn_cancel(low);
}

void tls_low_set_literal_limit(mailstream_low *low, uint64_t bytes)
{
	struct tls_conn *c;

	if (low == NULL || low->driver != &tls_conn_driver)
		return;
	c = low->data;
	guard_set_limit(&c->guard, bytes);
}

/* Like the other tls_low_* calls, these answer for our own driver only
 * (the fuzz targets run sessions over a memory driver): another has no
 * offsets and no cuts. */
uint64_t tls_low_rx_offset(mailstream_low *low)
{
	return ours(low) ? ((struct tls_conn *)low->data)->nul.rx_off : 0;
}

bool tls_low_nul_cuts(mailstream_low *low, uint64_t from, char *const **cuts, size_t *n)
{
	*cuts = NULL;
	*n = 0;
	if (!ours(low))
		return false;
	return nulcut_view(&((struct tls_conn *)low->data)->nul, from, cuts, n);
}
