/*
 * test_url — the account URL on the command line: schemes and their
 * default ports, explicit ports, percent-escaped users, IPv6 literals, and
 * everything that must be refused (a password in the URL above all, since
 * secrets never go on the command line). The URL is written with a
 * trailing "/"; it is accepted without one, and any other path is refused.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "url.h"

static const struct {
	const char *text;
	enum url_tls tls;
	const char *user;
	const char *host;
	int port;
} good[] = {
	{ "imaps://me@example.com/", URL_TLS_IMPLICIT, "me", "example.com", 993 },
	{ "imap://me@example.com/", URL_TLS_STARTTLS, "me", "example.com", 143 },
	{ "imaps://me@example.com", URL_TLS_IMPLICIT, "me", "example.com", 993 },
	{ "imap://me@example.com", URL_TLS_STARTTLS, "me", "example.com", 143 },
	{ "imaps://me@example.com:1993/", URL_TLS_IMPLICIT, "me", "example.com", 1993 },
	{ "imap://me@example.com:993/", URL_TLS_STARTTLS, "me", "example.com", 993 },
	{ "imaps://me@example.com:143", URL_TLS_IMPLICIT, "me", "example.com", 143 },
	{ "imaps://me@h:1/", URL_TLS_IMPLICIT, "me", "h", 1 },
	{ "imaps://me@h:65535/", URL_TLS_IMPLICIT, "me", "h", 65535 },
	{ "imaps://me%40example.com@mail.example.com/", URL_TLS_IMPLICIT,
	  "me@example.com", "mail.example.com", 993 },
	{ "imaps://a%2Bb%25c@h/", URL_TLS_IMPLICIT, "a+b%c", "h", 993 },
	{ "imaps://me@127.0.0.1/", URL_TLS_IMPLICIT, "me", "127.0.0.1", 993 },
	{ "imaps://me@127.0.0.1:10993/", URL_TLS_IMPLICIT, "me", "127.0.0.1", 10993 },
	{ "imaps://me@[::1]/", URL_TLS_IMPLICIT, "me", "::1", 993 },
	{ "imaps://me@[::1]:1993/", URL_TLS_IMPLICIT, "me", "::1", 1993 },
	{ "imap://me@[2001:db8::1]:1143", URL_TLS_STARTTLS, "me", "2001:db8::1", 1143 },
};

static const char *const bad[] = {
	/* no user, or an empty one */
	"imaps://example.com/", "imaps://@example.com/", "imaps://example.com:993/",
	/* a password in the URL */
	"imaps://me:secret@example.com/", "imaps://me:@example.com/",
	"imap://me:secret@example.com:143/",
	/* schemes */
	"", "http://me@example.com/", "imapx://me@example.com/", "pop3://me@h/",
	"imaps:/me@example.com/", "imaps:me@example.com", "me@example.com",
	"imaps//me@example.com/", "://me@h/",
	/* ports */
	"imaps://me@h:0/", "imaps://me@h:65536/", "imaps://me@h:99999/",
	"imaps://me@h:abc/", "imaps://me@h:12a/", "imaps://me@h:-1/",
	"imaps://me@h:99999999999999999999/", "imaps://me@h:4294968289/",
	"imaps://me@[::1]:0/", "imaps://me@[::1]:x/",
	/* no host */
	"imaps://me@/", "imaps://me@", "imaps://me@:993/", "imaps://me@[]/",
	/* IPv6 without brackets, or with broken ones */
	"imaps://me@::1/", "imaps://me@[::1/", "imaps://me@::1]/",
	"imaps://me@[::1]x/",
	/* any path other than "/" */
	"imaps://me@h/INBOX", "imaps://me@h//", "imaps://me@h:993/INBOX",
	"imaps://me@h/?x", "imaps://me@h/#x", "imaps://me@[::1]/x",
	/* percent-escapes that decode to nothing sensible */
	"imaps://me%4@h/", "imaps://me%@h/", "imaps://me%zz@h/", "imaps://me%00x@h/",
};

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct url u;
		char err[128] = "";
		int rc = url_parse(good[i].text, &u, err, sizeof(err));

		CHECK(rc == 0, "url_parse(%s) = %d (%s), want 0", check_q(good[i].text), rc, err);
		if (rc != 0)
			continue;
		CHECK(u.tls == good[i].tls && check_streq(u.user, good[i].user) &&
		      check_streq(u.host, good[i].host) && u.port == good[i].port,
		      "url_parse(%s) = tls %d user %s host %s port %d, want %d %s %s %d",
		      check_q(good[i].text), (int)u.tls, check_q(u.user), check_q(u.host),
		      u.port, (int)good[i].tls, check_q(good[i].user),
		      check_q(good[i].host), good[i].port);
		url_free(&u);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url u;
		char err[128];
		int rc;

		memset(err, 'X', sizeof(err));
		rc = url_parse(bad[i], &u, err, sizeof(err));
		CHECK(rc == -EINVAL, "url_parse(%s) = %d, want -EINVAL", check_q(bad[i]), rc);
		if (rc == 0) {
			url_free(&u);
			continue;
		}
		/* the header promises nothing to free on failure: ASan checks */
		CHECK(memchr(err, '\0', sizeof(err)) && err[0] != '\0',
		      "url_parse(%s): no reason in ERR", check_q(bad[i]));
	}
}

/* The reason is cut to ERRLEN bytes, NUL included, never beyond. */
static void test_errlen(void)
{
	static const unsigned lens[] = { 1, 2, 8 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char err[32];
		struct url u;
		int rc;

		memset(err, 'X', sizeof(err));
		rc = url_parse("imaps://me:secret@example.com/", &u, err, lens[i]);
		CHECK(rc == -EINVAL, "password URL with errlen %u: rc %d", lens[i], rc);
		if (rc == 0)
			url_free(&u);
		CHECK(memchr(err, '\0', lens[i]) != NULL,
		      "errlen %u: ERR not terminated within %u bytes", lens[i], lens[i]);
		CHECK(err[lens[i]] == 'X' && err[sizeof(err) - 1] == 'X',
		      "errlen %u: wrote past ERRLEN", lens[i]);
	}
}

/* The reason for a password URL must not echo the password. */
static void test_no_echo(void)
{
	struct url u;
	char err[256] = "";
	int rc = url_parse("imaps://me:hunter2@example.com/", &u, err, sizeof(err));

	if (rc == 0)
		url_free(&u);
	CHECK(rc == -EINVAL && !strstr(err, "hunter2"), "rc %d, reason %s", rc, check_q(err));
}

int main(void)
{
	test_good();
	test_bad();
	test_errlen();
	test_no_echo();
	return check_finish("test_url");
}
