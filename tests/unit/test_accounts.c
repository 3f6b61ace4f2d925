/*
 * test_accounts — the accounts file: what a good file yields (the URL
 * built from url or host/port/tls/user, options applied, flags as bare
 * words or yes/no, quoting, comments, CRLF), and that every mistake is
 * refused with the file name and the right line number in the message.
 * Also: a "password =" line is remembered (secret_line) so the caller can
 * refuse a file others can read, and the password never becomes an -o.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "check.h"
#include "config.h"

#define PATH "/home/me/.config/imapfs/config"

static const struct {
	const char *text;
	const char *account;
	const char *url;
	int ro, timeout, auth;
	const char *password_command, *password, *cafile;
	unsigned secret_line;
} good[] = {
	{ "[account work]\nurl = imaps://me@imap.example.com/\n", "work",
	  "imaps://me@imap.example.com/", 0, 30, CONFIG_AUTH_LOGIN, NULL, NULL, NULL, 0 },
	/* comments, blank lines, indentation, CRLF, tabs */
	{ "# accounts\n\n; old style comment\r\n[account  work ]\r\n\turl=imaps://me@h/\r\n  ro\r\n",
	  "work", "imaps://me@h/", 1, 30, 0, NULL, NULL, NULL, 0 },
	/* host/port/tls/user: '@' in the user name is encoded */
	{ "[account g]\nhost = imap.gmail.com\nuser = me@gmail.com\nauth = xoauth2\n"
	  "password_command = oama access me@gmail.com\n", "g",
	  "imaps://me%40gmail.com@imap.gmail.com/", 0, 30, CONFIG_AUTH_XOAUTH2,
	  "oama access me@gmail.com", NULL, NULL, 0 },
	{ "[account o]\nhost = outlook.office365.com\nport = 993\ntls = implicit\nuser = u\n", "o",
	  "imaps://u@outlook.office365.com:993/", 0, 30, 0, NULL, NULL, NULL, 0 },
	{ "[account l]\nhost = 127.0.0.1\nport = 1143\ntls = starttls\nuser = a b:c\n", "l",
	  "imap://a%20b%3Ac@127.0.0.1:1143/", 0, 30, 0, NULL, NULL, NULL, 0 },
	{ "[account six]\nhost = ::1\nuser = u\n", "six", "imaps://u@[::1]/", 0, 30, 0, NULL, NULL, NULL, 0 },
	/* the second account is the one asked for */
	{ "[account a]\nurl = imaps://a@a/\ntimeout = 5\n[account b]\nurl = imaps://b@b/\n", "b",
	  "imaps://b@b/", 0, 30, 0, NULL, NULL, NULL, 0 },
	/* flags: yes / no / bare; numbers; quoted values keep blanks and quotes */
	{ "[account q]\nurl = imaps://q@q/\nro = no\ntimeout = 7\n"
	  "password_command = \"  pass show \\\"x\\\" \\\\ \"\n", "q",
	  "imaps://q@q/", 0, 7, 0, "  pass show \"x\" \\ ", NULL, NULL, 0 },
	{ "[account q]\nurl = imaps://q@q/\nro = yes\n", "q", "imaps://q@q/", 1, 30, 0, NULL, NULL, NULL, 0 },
	/* a comma needs no escape in the file */
	{ "[account c]\nurl = imaps://c@c/\ncafile = /etc/a,b.pem\n", "c", "imaps://c@c/", 0, 30, 0,
	  NULL, NULL, "/etc/a,b.pem", 0 },
	/* password: kept apart from the options; its line is remembered */
	{ "[account p]\nurl = imaps://p@p/\n\npassword = \" s3cr=t \"\n", "p", "imaps://p@p/", 0, 30, 0,
	  NULL, " s3cr=t ", NULL, 4 },
	{ "[account o]\nurl = imaps://p@p/\nauth = oauthbearer\n", "o", "imaps://p@p/", 0, 30,
	  CONFIG_AUTH_OAUTHBEARER, NULL, NULL, NULL, 0 },
};

/* Each bad file, and the line its error must name. */
static const struct {
	const char *text;
	unsigned line;
	const char *why;	/* a word the message must contain */
} bad_parse[] = {
	{ "url = imaps://a@b/\n", 1, "[account NAME]" },
	{ "[account a]\nurl = imaps://a@b/\n[server x]\n", 3, "unknown section" },
	{ "[account a\n", 1, "]" },
	{ "[account]\n", 1, "unknown section" },
	{ "[account a/b]\n", 1, "not valid" },
	{ "[account -x]\n", 1, "not valid" },
	{ "[account a]\nurl = imaps://a@b/\n\n[account a]\n", 4, "line 1" },
	{ "[account a]\nurl = x\nfrobnicate = 1\n", 3, "frobnicate" },
	{ "[account a]\nurl = x\nPassword_Command = y\n", 3, "not a setting" },
	{ "[account a]\nurl = x\n= y\n", 3, "missing key" },
	{ "[account a]\nurl = x\nurl = y\n", 3, "line 2" },
	{ "[account a]\nurl =\n", 2, "needs a value" },
	{ "[account a]\nuser\n", 2, "needs a value" },
	{ "[account a]\nurl = \"imaps://x\n", 2, "quoted" },
	{ "[account a]\nurl = \"x\" y\n", 2, "quoted" },
	{ "[account a]\n\n\nnosuid\n", 4, "unknown setting" },
	{ "[account a]\r\n# c\r\nhost = h\r\nbogus key = 1\r\n", 4, "not a setting" },
};

static const struct {
	const char *text;
	unsigned line;
	const char *why;
} bad_resolve[] = {
	{ "[account a]\nurl = imaps://a@b/\nhost = h\n", 3, "url" },
	{ "[account a]\nuser = u\nurl = imaps://a@b/\n", 2, "url" },
	{ "[account a]\ntimeout = 5\n", 1, "neither url nor host" },
	{ "[account a]\nhost = h\n", 1, "no user" },
	{ "[account a]\nhost = h\nuser = u\nport = 0\n", 4, "port" },
	{ "[account a]\nhost = h\nuser = u\nport = 99999\n", 4, "port" },
	{ "[account a]\nhost = h\nuser = u\nport = 99x\n", 4, "port" },
	{ "[account a]\nhost = h\nuser = u\ntls = maybe\n", 4, "starttls" },
	{ "[account a]\nurl = u\n\ntimeout = 0\n", 4, "timeout" },
	{ "[account a]\nurl = u\nmax_conns = lots\n", 3, "max_conns" },
	{ "[account a]\nurl = u\nro = perhaps\n", 3, "yes or no" },
	{ "[account a]\nurl = u\nauth = kerberos\n", 3, "xoauth2" },
	{ "[account a]\nurl = u\ncafile\n", 3, "cafile" },
};

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct accounts a;
		const struct accounts_account *acc;
		struct config c;
		char err[256] = "", *url = NULL;
		int rc;

		config_init(&c);
		rc = accounts_parse(good[i].text, strlen(good[i].text), PATH, &a, err, sizeof(err));
		CHECK(rc == 0, "good[%zu]: parse = %d (%s)", i, rc, err);
		if (rc < 0) {
			config_free(&c);
			continue;
		}
		CHECK(a.secret_line == good[i].secret_line, "good[%zu]: secret_line %u, want %u", i,
		      a.secret_line, good[i].secret_line);
		acc = accounts_find(&a, good[i].account);
		CHECK(acc != NULL, "good[%zu]: account %s not found", i, good[i].account);
		CHECK(accounts_find(&a, "nope") == NULL, "good[%zu]: found an undefined account", i);
		if (acc != NULL) {
			rc = accounts_resolve(acc, PATH, &c, &url, err, sizeof(err));
			CHECK(rc == 0, "good[%zu]: resolve = %d (%s)", i, rc, err);
			CHECK(check_streq(url, good[i].url), "good[%zu]: url %s, want %s", i,
			      check_q(url), check_q(good[i].url));
			CHECK(!c.ro == !good[i].ro && c.timeout == good[i].timeout && c.auth == good[i].auth,
			      "good[%zu]: ro %d timeout %d auth %d", i, c.ro, c.timeout, c.auth);
			CHECK(check_streq(c.password_command, good[i].password_command),
			      "good[%zu]: password_command %s", i, check_q(c.password_command));
			CHECK(check_streq(c.password, good[i].password), "good[%zu]: password %s", i,
			      check_q(c.password));
			CHECK(check_streq(c.cafile, good[i].cafile), "good[%zu]: cafile %s", i, check_q(c.cafile));
			CHECK(check_streq(c.account, good[i].account), "good[%zu]: account %s", i,
			      check_q(c.account));
		}
		free(url);
		accounts_free(&a);
		config_free(&c);
	}
}

/* "PATH:LINE: ..." containing WHY. */
static int names_line(const char *err, unsigned line, const char *why)
{
	char want[128];

	snprintf(want, sizeof(want), "%s:%u: ", PATH, line);
	return strncmp(err, want, strlen(want)) == 0 && strstr(err, why) != NULL;
}

static void test_bad_parse(void)
{
	for (size_t i = 0; i < sizeof(bad_parse) / sizeof(bad_parse[0]); i++) {
		struct accounts a = { 0 };
		char err[256] = "";
		int rc = accounts_parse(bad_parse[i].text, strlen(bad_parse[i].text), PATH, &a, err,
					sizeof(err));

		CHECK(rc == -EINVAL, "bad_parse[%zu] %s: parse = %d", i, check_q(bad_parse[i].text), rc);
		CHECK(names_line(err, bad_parse[i].line, bad_parse[i].why),
		      "bad_parse[%zu]: message %s, want line %u and %s", i, check_q(err),
		      bad_parse[i].line, check_q(bad_parse[i].why));
		CHECK(a.n == 0 && a.acc == NULL, "bad_parse[%zu]: output not empty", i);
	}
}

static void test_bad_resolve(void)
{
	for (size_t i = 0; i < sizeof(bad_resolve) / sizeof(bad_resolve[0]); i++) {
		struct accounts a;
		struct config c;
		char err[256] = "", *url = NULL;
		int rc;

		config_init(&c);
		rc = accounts_parse(bad_resolve[i].text, strlen(bad_resolve[i].text), PATH, &a, err,
				    sizeof(err));
		CHECK(rc == 0, "bad_resolve[%zu]: parse = %d (%s)", i, rc, err);
		if (rc == 0) {
			rc = accounts_resolve(&a.acc[0], PATH, &c, &url, err, sizeof(err));
			CHECK(rc == -EINVAL, "bad_resolve[%zu] %s: resolve = %d", i,
			      check_q(bad_resolve[i].text), rc);
			CHECK(names_line(err, bad_resolve[i].line, bad_resolve[i].why),
			      "bad_resolve[%zu]: message %s, want line %u and %s", i, check_q(err),
			      bad_resolve[i].line, check_q(bad_resolve[i].why));
			CHECK(url == NULL, "bad_resolve[%zu]: url set on failure", i);
			accounts_free(&a);
		}
		config_free(&c);
	}
}

/* The command line's -o, applied after the account, wins. */
static void test_cmdline_wins(void)
{
	static const char text[] = "[account a]\nurl = imaps://a@b/\ntimeout = 5\nro\n";
	struct accounts a;
	struct config c;
	char err[256] = "", *url = NULL;
	int rc;

	config_init(&c);
	rc = accounts_parse(text, sizeof(text) - 1, PATH, &a, err, sizeof(err));
	if (rc == 0)
		rc = accounts_resolve(&a.acc[0], PATH, &c, &url, err, sizeof(err));
	if (rc == 0)
		rc = config_parse_opts(&c, "timeout=9", err, sizeof(err));
	CHECK(rc == 0 && c.timeout == 9 && c.ro, "-o after the file: rc %d timeout %d ro %d (%s)", rc,
	      c.timeout, c.ro, err);
	free(url);
	if (a.n)
		accounts_free(&a);
	config_free(&c);
}

/* A NUL byte in the file is an error, not a silently shortened line. */
static void test_nul(void)
{
	static const char text[] = "[account a]\nurl = imaps://a@b/\x00x\n";
	struct accounts a = { 0 };
	char err[256] = "";
	int rc = accounts_parse(text, sizeof(text) - 1, PATH, &a, err, sizeof(err));

	CHECK(rc == -EINVAL && names_line(err, 2, "NUL"), "NUL byte: rc %d %s", rc, check_q(err));
}

int main(void)
{
	test_good();
	test_bad_parse();
	test_bad_resolve();
	test_cmdline_wins();
	test_nul();
	return check_finish("test_accounts");
}
