/*
 * test_nulnames — mailbox names with a NUL byte. IMAP forbids NUL, but a
 * server can send one in a quoted string or a literal, and libetpan hands
 * names on as C strings: "nul<NUL>a" would arrive as "nul", and imapfs
 * would then SELECT "nul", another mailbox. The LIST answer goes through
 * our real plain driver (tls_low.c, which notes where NULs cut strings) and
 * session_read.c's LIST over a socketpair; every name that a NUL made ambiguous
 * must be left out, the others delivered exactly. session_int.h gives
 * its private struct.
 */
#include "session_int.h"

#include <signal.h>

#include "check.h"
#include "socksession.h"

#define S(x) x, sizeof(x) - 1

static const struct {
	const char *name;
	const char *server;	/* the answer to "1 LIST" */
	size_t len;
	int want_rc;		/* 0, or any negative (-1) */
	const char *want;	/* names delivered, '|'-joined */
} cases[] = {
	{ "no NUL", S("* LIST () \"/\" \"a\"\r\n* LIST () \"/\" {3}\r\nb c\r\n1 OK done\r\n"), 0, "a|b c" },
	{ "quoted", S("* LIST () \"/\" \"nul\0a\"\r\n* LIST () \"/\" \"nul\0b\"\r\n"
		      "* LIST () \"/\" \"ok\"\r\n1 OK done\r\n"), 0, "ok" },
	{ "quoted, and the real short name", S("* LIST () \"/\" \"nul\"\r\n* LIST () \"/\" \"nul\0a\"\r\n"
					       "* LIST () \"/\" \"ok\"\r\n1 OK done\r\n"), 0, "ok" },
	{ "literal", S("* LIST () \"/\" {5}\r\nnul\0b\r\n* LIST () \"/\" {3}\r\nnul\r\n"
		       "* LIST () \"/\" \"ok\"\r\n1 OK done\r\n"), 0, "ok" },
	{ "escapes before the NUL", S("* LIST () \"/\" \"a\\\"b\\\\\0c\"\r\n* LIST () \"/\" \"a\\\"b\\\\\"\r\n"
				      "* LIST () \"/\" \"a\\\"b\"\r\n1 OK done\r\n"), 0, "a\"b" },
	{ "two NULs in one name", S("* LIST () \"/\" \"x\0y\0z\"\r\n* LIST () \"/\" \"x\"\r\n"
				    "* LIST () \"/\" \"x\0y\"\r\n* LIST () \"/\" \"xy\"\r\n1 OK done\r\n"), 0, "xy" },
	{ "NUL at the start", S("* LIST () \"/\" \"\0a\"\r\n* LIST () \"/\" \"a\"\r\n1 OK done\r\n"), 0, "a" },
	{ "NUL outside any string", S("* LIST () \"/\" ab\0c\r\n1 OK done\r\n"), -1, "" },
};

static void collect(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	char *acc = ctx;
	size_t n = strlen(acc);

	snprintf(acc + n, 1024 - n, "%s%s", n ? "|" : "", name);
}

static int run_case(size_t i)
{
	struct config cfg;
	struct session *s;
	char got[1024] = "";
	int peer = -1, rc;

	config_init(&cfg);
	cfg.timeout = 3;
	s = socksession_open(&cfg, cases[i].server, cases[i].len, &peer);
	if (s == NULL)
		return -100;
	rc = session_list(s, "*", collect, got);
	CHECK(cases[i].want_rc == 0 ? rc == 0 : rc < 0, "%s: rc %d", cases[i].name, rc);
	CHECK(strcmp(got, cases[i].want) == 0, "%s: delivered \"%s\", want \"%s\"", cases[i].name, got,
	      cases[i].want);
	session_close(s);
	close(peer);
	config_free(&cfg);
	return 0;
}

int main(void)
{
	size_t i;

	alarm(30);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(run_case(i) == 0, "%s: setup failed", cases[i].name);
	return check_finish("test_nulnames");
}
