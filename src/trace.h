/*
 * trace — the protocol trace (-o imap_trace): every line crossing a
 * connection, logged at LOG_INFO as "imap[ID] C: ..." (sent) or
 * "imap[ID] S: ..." (received), for debugging a server.
 *
 * Secrets never reach the log: what is sent while the stream's privacy
 * flag is cleared (around a LOGIN password, a SASL response, an OAuth
 * token) is private, and of such a command only the tag and command word
 * are logged, of a SASL continuation line nothing.
 *
 * The stream driver (tls_low.c) calls these for the bytes it writes and
 * reads when the trace is on. No state of its own beyond the received line
 * the caller keeps; thread-safe for distinct connections. Internal to
 * src/.
 */
#ifndef IMAPFS_TRACE_H
#define IMAPFS_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#define TRACE_LINE_MAX 300	/* longer lines are cut, ending " [...]" */

/* A received line being put together across reads: LINE is TRACE_LINE_MAX
 * + 1 bytes the caller allocates and frees (LEN 0 to start). */
struct trace_rx {
	char *line;
	size_t len;
};

/* N bytes at BUF were sent on connection ID; PRIVATE_DATA: they carry a
 * secret. */
void trace_sent(int id, const char *buf, size_t n, bool private_data);

/* N bytes at BUF were received on connection ID: log every line they end. */
void trace_received(int id, struct trace_rx *rx, const char *buf, size_t n);

#endif
