/*
 * connhint_int — the connection hints that tcp.c, tls.c and
 * session_login.c add to their own error messages, and the implicit-TLS
 * probe (see connhint.h for the module's purpose). Internal to src/.
 * All strings are the caller's; ERR is appended to, within ERRLEN.
 */
#ifndef IMAPFS_CONNHINT_INT_H
#define IMAPFS_CONNHINT_INT_H

#include "connhint.h"

struct x509_st;		/* OpenSSL's X509: callers need no OpenSSL header */

/* Append "; " and the formatted text to the message in ERR (what fits). */
void connhint_append(char *err, unsigned errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The fix for certificate verification error VR (an X509_V_ERR_* code),
 * appended to ERR; LEAF is the server's certificate (for the names it is
 * issued for) or NULL, CAFILE the -o cafile= in use or NULL. */
void connhint_verify(long vr, struct x509_st *leaf, const char *cafile, char *err, unsigned errlen);

/* imaps://USER@HOST:PORT got no TLS from the server (a clear-text
 * greeting): append the imap:// URL and port 993 to ERR. */
void connhint_not_tls(const char *user, const char *host, int port, char *err, unsigned errlen);

/*
 * Before reading the greeting of an imap:// connection FD (not consumed)
 * to USER@HOST:PORT:
 * if no byte arrives within CONNHINT_GREETING_MS, open a second connection
 * to HOST:PORT, send a TLS ClientHello there and see whether a TLS record
 * comes back. Returns -EPROTO with the fix in ERR when HOST:PORT speaks
 * TLS from the first byte, else 0 (the caller waits for the greeting as
 * usual: a server that is only slow loses nothing but a probe connection).
 */
#define CONNHINT_GREETING_MS 2000
int connhint_greeting(int fd, const char *user, const char *host, int port, int timeout,
		      char *err, unsigned errlen);

#endif
