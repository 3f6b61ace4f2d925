/*
 * url — parse the account URL given on the command line.
 *
 *   imaps://USER@HOST[:PORT]/   TLS from the first byte, default port 993
 *   imap://USER@HOST[:PORT]/    STARTTLS (required), default port 143
 *
 * USER may contain percent-escapes (%40 for '@', as in "me%40example.com");
 * HOST may be a bracketed IPv6 literal ("[::1]"). A password in the URL
 * ("user:pass@") is refused: secrets never go on the command line.
 * Pure code, no I/O.
 */
#ifndef IMAPFS_URL_H
#define IMAPFS_URL_H

enum url_tls {
	URL_TLS_IMPLICIT,	/* imaps:// */
	URL_TLS_STARTTLS,	/* imap:// */
};

/* Owned by the caller; free with url_free(). Strings are malloc'd. */
struct url {
	enum url_tls tls;
	char *user;		/* decoded, never NULL after a successful parse */
	char *host;		/* without brackets for IPv6 */
	int port;		/* 1..65535, defaulted from the scheme */
};

/*
 * Parse TEXT into *OUT. Returns 0, or -EINVAL with a short English reason
 * in ERR (NUL-terminated, at most ERRLEN bytes). On failure *OUT holds
 * nothing that needs freeing.
 */
int url_parse(const char *text, struct url *out, char *err, unsigned errlen);
void url_free(struct url *u);

#endif
