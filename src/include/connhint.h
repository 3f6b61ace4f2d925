/*
 * connhint — connection errors that say the fix. The messages built in
 * tcp.c, tls.c and session_login.c say what went wrong; these functions add
 * what the user can do about it (a URL of the other kind, -o cafile=, the
 * CA store), and find out the one thing that cannot be seen from a single
 * failure: that an imap:// URL points at a port that speaks TLS from the
 * first byte, where the server waits for us and we wait for it.
 *
 * Nothing here weakens a check: verification stays OpenSSL's, and the
 * probe below never sends more than a TLS ClientHello.
 */
#ifndef IMAPFS_CONNHINT_H
#define IMAPFS_CONNHINT_H

struct x509_st;		/* OpenSSL's X509: no OpenSSL header for fs/ users */

/* Append "; " and the formatted text to the message in ERR (what fits). */
void connhint_append(char *err, unsigned errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuse a cafile that cannot be read: -errno with "cannot read cafile
 * PATH: reason" in ERR, else 0. Run before connecting (and prompting). */
int connhint_cafile(const char *path, char *err, unsigned errlen);

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
