/*
 * url — imaps://USER@HOST[:PORT]/ and imap://... into a struct url.
 * Strict on purpose: anything we would have to guess about (a path, a
 * query, a password) is refused with a reason rather than ignored.
 */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int url_fail(char *err, unsigned errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int url_fail(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into a new string; NULL on a bad escape or NUL. */
static char *pct_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int url_parse(const char *text, struct url *out, char *err, unsigned errlen)
{
	const char *p, *at, *hostend, *end;
	char *user = NULL, *host = NULL;
	long port;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "imaps://", 8) == 0) {
		out->tls = URL_TLS_IMPLICIT;
		port = 993;
		p = text + 8;
	} else if (strncmp(text, "imap://", 7) == 0) {
		out->tls = URL_TLS_STARTTLS;
		port = 143;
		p = text + 7;
	} else {
		return url_fail(err, errlen, "URL must start with imaps:// or imap://");
	}

	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0'))
		return url_fail(err, errlen, "URL must end after the host (and an optional '/'): \"%s\"", end);

	at = memchr(p, '@', (size_t)(end - p));
	if (at == NULL)
		return url_fail(err, errlen, "URL has no user name (imaps://USER@HOST/)");
	/* The last '@' separates user from host: "me@example.com@imap.example.com" */
	while (memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		at = memchr(at + 1, '@', (size_t)(end - at - 1));
	if (at == p)
		return url_fail(err, errlen, "URL has an empty user name");
	if (memchr(p, ':', (size_t)(at - p)) != NULL)
		return url_fail(err, errlen, "a password in the URL is refused: use password_command, password_file or IMAPFS_PASSWORD");

	p = at + 1;
	if (*p == '[') {
		hostend = memchr(p, ']', (size_t)(end - p));
		if (hostend == NULL)
			return url_fail(err, errlen, "unterminated IPv6 address in URL");
		host = strndup(p + 1, (size_t)(hostend - p - 1));
		p = hostend + 1;
		if (p != end && *p != ':') {
			free(host);
			return url_fail(err, errlen, "unexpected text after IPv6 address in URL");
		}
	} else {
		hostend = memchr(p, ':', (size_t)(end - p));
		if (hostend == NULL)
			hostend = end;
		host = strndup(p, (size_t)(hostend - p));
		p = hostend;
	}
	if (host == NULL)
		return -ENOMEM;
	if (host[0] == '\0') {
		free(host);
		return url_fail(err, errlen, "URL has no host name");
	}
	if (p != end) {
		/* p points at ':' */
		char *num_end;
		const char *digits = p + 1;

		if (digits == end || !isdigit((unsigned char)*digits)) {
			free(host);
			return url_fail(err, errlen, "URL port is not a number");
		}
		port = strtol(digits, &num_end, 10);
		if (num_end != end || port < 1 || port > 65535) {
			free(host);
			return url_fail(err, errlen, "URL port must be 1..65535");
		}
	}

	user = pct_decode(text + (out->tls == URL_TLS_IMPLICIT ? 8 : 7),
			  (size_t)(at - (text + (out->tls == URL_TLS_IMPLICIT ? 8 : 7))));
	if (user == NULL) {
		free(host);
		return url_fail(err, errlen, "bad %%-escape in the URL's user name");
	}
	out->user = user;
	out->host = host;
	out->port = (int)port;
	return 0;
}

void url_free(struct url *u)
{
	free(u->user);
	free(u->host);
	u->user = u->host = NULL;
}
