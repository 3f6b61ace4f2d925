/*
 * test_config — the -o option string: defaults, every option, the numeric
 * ranges, "\," inside values, later-wins, and refusal of anything the
 * option table does not describe (unknown names, values on flags, missing
 * or malformed numbers). The help text must mention every option, since
 * it and the manual are how users learn them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

/* The expected state after parsing: config fields, strings NULL = unset. */
struct want {
	int ro, timeout, max_conns;
	const char *cafile, *password_file, *password_command;
	int insecure_plaintext, imap_trace, debug, allow_other;
};

#define DEFAULTS 0, 30, 4, NULL, NULL, NULL, 0, 0, 0, 0

static const struct {
	const char *opts;
	struct want want;
} good[] = {
	{ "ro", { 1, 30, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "timeout=10", { 0, 10, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "timeout=1", { 0, 1, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "timeout=3600", { 0, 3600, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "max_conns=1", { 0, 30, 1, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "max_conns=8", { 0, 30, 8, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "max_conns=64", { 0, 30, 64, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "cafile=/etc/ssl/ca.pem", { 0, 30, 4, "/etc/ssl/ca.pem", NULL, NULL, 0, 0, 0, 0 } },
	{ "password_file=/home/me/.imap-pw", { 0, 30, 4, NULL, "/home/me/.imap-pw", NULL, 0, 0, 0, 0 } },
	{ "password_command=pass show mail", { 0, 30, 4, NULL, NULL, "pass show mail", 0, 0, 0, 0 } },
	{ "password_command=a=b", { 0, 30, 4, NULL, NULL, "a=b", 0, 0, 0, 0 } },
	{ "insecure_plaintext", { 0, 30, 4, NULL, NULL, NULL, 1, 0, 0, 0 } },
	{ "imap_trace", { 0, 30, 4, NULL, NULL, NULL, 0, 1, 0, 0 } },
	{ "debug", { 0, 30, 4, NULL, NULL, NULL, 0, 0, 1, 0 } },
	{ "allow_other", { 0, 30, 4, NULL, NULL, NULL, 0, 0, 0, 1 } },
	/* several at once */
	{ "ro,timeout=10", { 1, 10, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "debug,imap_trace,allow_other,insecure_plaintext,max_conns=2",
	  { 0, 30, 2, NULL, NULL, NULL, 1, 1, 1, 1 } },
	/* "\," is a comma inside a value, and does not end the option */
	{ "password_command=echo a\\,b", { 0, 30, 4, NULL, NULL, "echo a,b", 0, 0, 0, 0 } },
	{ "password_command=cmd\\,x,ro", { 1, 30, 4, NULL, NULL, "cmd,x", 0, 0, 0, 0 } },
	{ "password_command=\\,\\,", { 0, 30, 4, NULL, NULL, ",,", 0, 0, 0, 0 } },
	{ "cafile=/a\\,b.pem,timeout=5", { 0, 5, 4, "/a,b.pem", NULL, NULL, 0, 0, 0, 0 } },
	/* later options override earlier ones */
	{ "timeout=10,timeout=20", { 0, 20, 4, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "max_conns=2,max_conns=3", { 0, 30, 3, NULL, NULL, NULL, 0, 0, 0, 0 } },
	{ "cafile=/a,cafile=/b", { 0, 30, 4, "/b", NULL, NULL, 0, 0, 0, 0 } },
	{ "password_command=x,password_command=y", { 0, 30, 4, NULL, NULL, "y", 0, 0, 0, 0 } },
};

static const char *const bad[] = {
	/* unknown options */
	"foo", "foo=bar", "ro,foo", "RO", "timeouts=5", "time=5", "password=secret",
	/* numbers: missing, malformed, out of range */
	"timeout", "timeout=", "timeout=abc", "timeout=10x", "timeout= 10", "timeout=0",
	"timeout=-1", "timeout=99999999999999999999", "timeout=4294967326",
	"max_conns", "max_conns=", "max_conns=0", "max_conns=65", "max_conns=-4",
	"max_conns=4.5", "max_conns=0x10",
	/* strings: missing value */
	"cafile", "cafile=", "password_file", "password_file=",
	"password_command", "password_command=",
	/* flags given a value */
	"ro=1", "ro=", "debug=yes", "imap_trace=0", "allow_other=1",
	"insecure_plaintext=1",
	/* one bad option spoils the string */
	"ro,timeout=0", "timeout=5,bogus",
	/* the cache options */
	"cache", "cache=", "cache=off", "cache=0", "cache_dir", "cache_dir=",
	"cache_size", "cache_size=", "cache_size=-1", "cache_size=1X", "cache_size=M",
	"cache_size=1.5G", "cache_size=99999999999999999999", "cache_size=9999999999T",
};

/* cache= and cache_size=: sizes take binary K/M/G/T suffixes. */
static const struct {
	const char *opts;
	int cache;
	unsigned long long size;
} cache_good[] = {
	{ "", CONFIG_CACHE_YES, 1ULL << 30 },
	{ "cache=no", CONFIG_CACHE_NO, 1ULL << 30 },
	{ "cache=no,cache=yes", CONFIG_CACHE_YES, 1ULL << 30 },
	{ "cache_size=0", CONFIG_CACHE_YES, 0 },
	{ "cache_size=12345", CONFIG_CACHE_YES, 12345 },
	{ "cache_size=200K", CONFIG_CACHE_YES, 200ULL << 10 },
	{ "cache_size=500M", CONFIG_CACHE_YES, 500ULL << 20 },
	{ "cache_size=500MiB", CONFIG_CACHE_YES, 500ULL << 20 },
	{ "cache_size=2g", CONFIG_CACHE_YES, 2ULL << 30 },
	{ "cache_size=1T", CONFIG_CACHE_YES, 1ULL << 40 },
	{ "cache_size=64kb", CONFIG_CACHE_YES, 64ULL << 10 },
};

static void test_cache_opts(void)
{
	for (size_t i = 0; i < sizeof(cache_good) / sizeof(cache_good[0]); i++) {
		struct config c;
		char err[128] = "";
		int rc;

		config_init(&c);
		rc = cache_good[i].opts[0] ? config_parse_opts(&c, cache_good[i].opts, err, sizeof(err)) : 0;
		CHECK(rc == 0, "config_parse_opts(%s) = %d (%s)", check_q(cache_good[i].opts), rc, err);
		CHECK(c.cache == cache_good[i].cache && c.cache_size == cache_good[i].size,
		      "config_parse_opts(%s): cache %d size %llu", check_q(cache_good[i].opts), c.cache,
		      (unsigned long long)c.cache_size);
		config_free(&c);
	}
	{
		struct config c;
		char err[128] = "";

		config_init(&c);
		CHECK(config_parse_opts(&c, "cache_dir=/var/cache/me", err, sizeof(err)) == 0 &&
		      check_streq(c.cache_dir, "/var/cache/me"), "cache_dir=: %s", check_q(c.cache_dir));
		config_free(&c);
	}
}

static int matches(const struct config *c, const struct want *w)
{
	return !c->ro == !w->ro && c->timeout == w->timeout && c->max_conns == w->max_conns &&
	       check_streq(c->cafile, w->cafile) &&
	       check_streq(c->password_file, w->password_file) &&
	       check_streq(c->password_command, w->password_command) &&
	       !c->insecure_plaintext == !w->insecure_plaintext &&
	       !c->imap_trace == !w->imap_trace && !c->debug == !w->debug &&
	       !c->allow_other == !w->allow_other;
}

static void test_defaults(void)
{
	static const struct want defaults = { DEFAULTS };
	struct config c;

	config_init(&c);
	CHECK(matches(&c, &defaults),
	      "defaults: ro %d timeout %d max_conns %d cafile %s password_file %s "
	      "password_command %s flags %d%d%d%d", c.ro, c.timeout, c.max_conns,
	      check_q(c.cafile), check_q(c.password_file), check_q(c.password_command),
	      c.insecure_plaintext, c.imap_trace, c.debug, c.allow_other);
	config_free(&c);
}

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct config c;
		char err[128] = "";
		int rc;

		config_init(&c);
		rc = config_parse_opts(&c, good[i].opts, err, sizeof(err));
		CHECK(rc == 0, "config_parse_opts(%s) = %d (%s)", check_q(good[i].opts), rc, err);
		CHECK(matches(&c, &good[i].want),
		      "config_parse_opts(%s): ro %d timeout %d max_conns %d cafile %s "
		      "password_file %s password_command %s flags %d%d%d%d",
		      check_q(good[i].opts), c.ro, c.timeout, c.max_conns, check_q(c.cafile),
		      check_q(c.password_file), check_q(c.password_command),
		      c.insecure_plaintext, c.imap_trace, c.debug, c.allow_other);
		config_free(&c);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char err[128];
		int rc;

		memset(err, 'X', sizeof(err));
		config_init(&c);
		rc = config_parse_opts(&c, bad[i], err, sizeof(err));
		CHECK(rc == -EINVAL, "config_parse_opts(%s) = %d, want -EINVAL", check_q(bad[i]), rc);
		CHECK(rc == 0 || (memchr(err, '\0', sizeof(err)) && err[0] != '\0'),
		      "config_parse_opts(%s): no reason in ERR", check_q(bad[i]));
		config_free(&c);
	}
}

/* -o given twice: the second string adds to the first. */
static void test_two_calls(void)
{
	static const struct want want = { 1, 7, 4, "/x", NULL, NULL, 0, 0, 1, 0 };
	struct config c;
	char err[128] = "";
	int rc1, rc2, rc3;

	config_init(&c);
	rc1 = config_parse_opts(&c, "ro,cafile=/w,timeout=5", err, sizeof(err));
	rc2 = config_parse_opts(&c, "debug,timeout=7", err, sizeof(err));
	rc3 = config_parse_opts(&c, "cafile=/x", err, sizeof(err));
	CHECK(rc1 == 0 && rc2 == 0 && rc3 == 0 && matches(&c, &want),
	      "two -o strings: rc %d %d %d, ro %d timeout %d debug %d cafile %s",
	      rc1, rc2, rc3, c.ro, c.timeout, c.debug, check_q(c.cafile));
	config_free(&c);
}

/* The watch list: one -o with bare words, escaped commas, repeated watch=
 * (adding up), and the accounts file's list replaced by the command line. */
static void test_watch_list(void)
{
	static const struct {
		const char *file;	/* config_set value, NULL: none */
		const char *opts[3];	/* one config_parse_opts call each */
		const char *want;
		bool ro;
	} cases[] = {
		{ NULL, { "watch=INBOX,Sent" }, "INBOX,Sent", false },
		{ NULL, { "watch=INBOX\\,Sent" }, "INBOX,Sent", false },
		{ NULL, { "watch=INBOX,Sent,Lists/dev,ro" }, "INBOX,Sent,Lists/dev", true },
		{ NULL, { "watch=INBOX", "watch=Sent" }, "INBOX,Sent", false },
		{ NULL, { "watch=INBOX,watch=Sent,Drafts" }, "INBOX,Sent,Drafts", false },
		{ NULL, { "ro,watch=A", "timeout=5", "watch=B,C" }, "A,B,C", true },
		{ "Old,Older", { "watch=INBOX", "watch=Sent" }, "INBOX,Sent", false },
		{ "Old", { "ro" }, "Old", true },
		/* capitals make a mailbox, even one letter from an option */
		{ NULL, { "watch=INBOX,Dev,Ro" }, "INBOX,Dev,Ro", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[128] = "";
		int rc = 0;

		config_init(&c);
		if (cases[i].file)
			rc = config_set(&c, "watch", cases[i].file, err, sizeof(err));
		for (size_t k = 0; k < 3 && cases[i].opts[k] && rc == 0; k++)
			rc = config_parse_opts(&c, cases[i].opts[k], err, sizeof(err));
		CHECK(rc == 0 && check_streq(c.watch, cases[i].want) && c.ro == cases[i].ro,
		      "watch case %zu: rc %d (%s), watch %s ro %d, want %s", i, rc, err,
		      check_q(c.watch), c.ro, cases[i].want);
		config_free(&c);
	}
	{
		struct config c;
		char err[128] = "";
		int rc;

		/* a bare word elsewhere is still an unknown option, with a hint */
		config_init(&c);
		rc = config_parse_opts(&c, "ro,Sent", err, sizeof(err));
		CHECK(rc == -EINVAL && strstr(err, "\"Sent\""), "bare word not after watch=: %d %s", rc, err);
		rc = config_parse_opts(&c, "timout=5", err, sizeof(err));
		CHECK(rc == -EINVAL && strstr(err, "did you mean \"timeout\"?"), "timout: %d %s", rc, err);
		/* after watch=, a mistyped option is not taken for a mailbox */
		config_free(&c);
		config_init(&c);
		rc = config_parse_opts(&c, "watch=INBOX,r0", err, sizeof(err));
		CHECK(rc == -EINVAL && strstr(err, "looks like the option \"ro\"") && !c.ro,
		      "watch=INBOX,r0: %d %s", rc, err);
		rc = config_parse_opts(&c, "watch=INBOX,timout", err, sizeof(err));
		CHECK(rc == -EINVAL && strstr(err, "\"timeout\""), "watch=INBOX,timout: %d %s", rc, err);
		/* a mailbox after another option: say how to list it */
		rc = config_parse_opts(&c, "watch=INBOX,ro,Sent", err, sizeof(err));
		CHECK(rc == -EINVAL && strstr(err, "watch=INBOX,Sent"), "watch=INBOX,ro,Sent: %d %s", rc, err);
		config_free(&c);
	}
}

/* sshfs's spellings: uid=, gid=, umask= (octal), and the flags; unset
 * ids and umask are -1 (the mounting user, owner-only modes). */
static void test_sshfs_opts(void)
{
	static const char *const sshfs_bad[] = {
		"umask=8", "umask=0999", "umask=1000", "umask=x", "umask=", "umask",
		"uid=-1", "uid=x", "gid=", "allow_root=1", "nonempty=yes",
	};
	struct config c;
	char err[128] = "";
	int rc;

	config_init(&c);
	CHECK(c.uid == -1 && c.gid == -1 && c.umask == -1 && !c.allow_root && !c.nonempty &&
	      !c.auto_unmount, "defaults: uid %d gid %d umask %d", c.uid, c.gid, c.umask);
	rc = config_parse_opts(&c, "uid=1000,gid=100,umask=022,allow_root,nonempty,auto_unmount,"
			       "default_permissions,reconnect", err, sizeof(err));
	CHECK(rc == 0 && c.uid == 1000 && c.gid == 100 && c.umask == 022 && c.allow_root &&
	      c.nonempty && c.auto_unmount, "sshfs options: rc %d (%s) uid %d gid %d umask %o",
	      rc, err, c.uid, c.gid, (unsigned)c.umask);
	rc = config_parse_opts(&c, "umask=0", err, sizeof(err));
	CHECK(rc == 0 && c.umask == 0, "umask=0: rc %d umask %o", rc, (unsigned)c.umask);
	config_free(&c);
	for (size_t i = 0; i < sizeof(sshfs_bad) / sizeof(sshfs_bad[0]); i++) {
		config_init(&c);
		err[0] = '\0';
		rc = config_parse_opts(&c, sshfs_bad[i], err, sizeof(err));
		CHECK(rc == -EINVAL && err[0] != '\0', "config_parse_opts(%s) = %d", sshfs_bad[i], rc);
		config_free(&c);
	}
}

/* Every option is listed, and the help text names each listed option. */
static void test_table(void)
{
	static const char *const expected[] = {
		"ro", "timeout", "max_conns", "cafile", "password_file", "password_command",
		"insecure_plaintext", "imap_trace", "debug", "allow_other",
	};
	char *help = NULL;
	size_t helplen = 0;
	FILE *f;
	unsigned n;

	f = open_memstream(&help, &helplen);
	if (!f)
		abort();
	config_print_help(f);
	fclose(f);

	for (n = 0; n < 1000 && config_option_name(n); n++) {
		const char *name = config_option_name(n);

		CHECK(name[0] != '\0' && !strpbrk(name, "=, \\"),
		      "option %u has a bad name %s", n, check_q(name));
		CHECK(strstr(help, name) != NULL, "help does not mention %s", check_q(name));
	}
	CHECK(n < 1000, "config_option_name never returns NULL");
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		unsigned k;

		for (k = 0; k < n; k++)
			if (strcmp(config_option_name(k), expected[i]) == 0)
				break;
		CHECK(k < n, "option %s is not in the table", expected[i]);
	}
	free(help);
}

int main(void)
{
	test_defaults();
	test_cache_opts();
	test_good();
	test_bad();
	test_two_calls();
	test_watch_list();
	test_sshfs_opts();
	test_table();
	return check_finish("test_config");
}
