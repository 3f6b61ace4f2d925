/*
 * test_flags — the user.imap.flags value grammar, table-driven.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flags.h"
#include "mailmeta.h"

static const struct {
	const char *in;
	int rc;
	int replace;
	unsigned add_sys, del_sys;
	const char *add_kw, *del_kw;
} cases[] = {
	{ "", 0, 1, 0, 0, NULL, NULL },
	{ "\n", 0, 1, 0, 0, NULL, NULL },
	{ "\\Seen \\Flagged", 0, 1, SESSION_F_SEEN | SESSION_F_FLAGGED, 0, NULL, NULL },
	{ "\\seen", 0, 1, SESSION_F_SEEN, 0, NULL, NULL },
	{ "\\Seen $Label1 Junk", 0, 1, SESSION_F_SEEN, 0, "$Label1 Junk", NULL },
	{ "+\\Flagged", 0, 0, SESSION_F_FLAGGED, 0, NULL, NULL },
	{ "-\\Seen", 0, 0, 0, SESSION_F_SEEN, NULL, NULL },
	{ "+$Todo -\\Seen -Old", 0, 0, 0, SESSION_F_SEEN, "$Todo", "Old" },
	{ "  \\Draft\t\\Answered  \\Deleted ", 0, 1, SESSION_F_DRAFT | SESSION_F_ANSWERED | SESSION_F_DELETED, 0, NULL, NULL },
	{ "\\Recent", -EINVAL, 0, 0, 0, NULL, NULL },
	/* a flag extension a server shows can be written back */
	{ "\\Bogus", 0, 1, 0, 0, "\\Bogus", NULL },
	{ "+\\Foo -\\Bar", 0, 0, 0, 0, "\\Foo", "\\Bar" },
	{ "\\", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "\\recent", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "\\*", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "\\a\\b", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "\\a]", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "+\\Recent", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "a(b", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "a]b", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "a\"b", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "a*", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "caf\xc3\xa9", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "+", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "\\Seen +\\Flagged", -EINVAL, 0, 0, 0, NULL, NULL },
	{ "kw\\x", -EINVAL, 0, 0, 0, NULL, NULL },
};

static int streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* What flags_format shows parses back to the same flags. */
static int reparses(uint8_t sys, const char *val, size_t len, const char *want_kw)
{
	struct flags_change c;
	int ok = flags_parse(val, len, &c) == 0 && c.replace && c.add_sys == sys &&
		 streq_null(c.add_kw, want_kw);

	flags_change_free(&c);
	return ok;
}

static void test_format(void)
{
	static const struct {
		uint8_t sys;
		const char *kw, *want, *want_kw;
		size_t dropped;
	} fmt[] = {
		{ 0, NULL, "", NULL, 0 },
		{ SESSION_F_SEEN | SESSION_F_DRAFT, NULL, "\\Seen \\Draft", NULL, 0 },
		{ SESSION_F_FLAGGED, "$Label1 \\Foo", "\\Flagged $Label1 \\Foo", "$Label1 \\Foo", 0 },
		/* what the grammar cannot take back is left out, not shown */
		{ 0, "ok caf\xc3\xa9 a]b \\Recent fine", "ok fine", "ok fine", 3 },
	};
	char *val = NULL;
	size_t len, dropped, i;

	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		CHECK(flags_format(fmt[i].sys, fmt[i].kw, FLAGS_XATTR_MAX, &val, &len, &dropped) == 0 &&
		      strcmp(val, fmt[i].want) == 0 && len == strlen(val) && dropped == fmt[i].dropped &&
		      reparses(fmt[i].sys, val, len, fmt[i].want_kw),
		      "flags_format case %zu: \"%s\" dropped %zu", i, val ? val : "", dropped);
		free(val);
		val = NULL;
	}

	/* 10,000 keywords: whole flags only, up to the bound, and the value
	 * parses back to exactly the flags it shows */
	{
		size_t cap = 10000 * 12 + 1, n = 0, shown = 0;
		char *kw = malloc(cap), *p;

		for (i = 0; i < 10000; i++)
			n += (size_t)snprintf(kw + n, cap - n, "%s$kw%06zu", i ? " " : "", i);
		CHECK(flags_format(SESSION_F_SEEN, kw, FLAGS_XATTR_MAX, &val, &len, &dropped) == 0,
		      "format 10k keywords");
		CHECK(len <= FLAGS_XATTR_MAX && len > FLAGS_XATTR_MAX - 12 && val[len] == '\0',
		      "10k keywords: %zu bytes", len);
		/* every shown token is a whole keyword of the input */
		for (p = val + strlen("\\Seen "); p < val + len; p += 10) {
			CHECK(strncmp(p, "$kw", 3) == 0 && (p[9] == ' ' || p[9] == '\0'),
			      "token at %zu is whole", (size_t)(p - val));
			shown++;
			if (p[9] == '\0')
				break;
		}
		CHECK(shown + dropped == 10000, "shown %zu + dropped %zu", shown, dropped);
		CHECK(strncmp(kw, val + 6, len - 6) == 0, "the shown part is the input's start");
		kw[len - 6] = '\0';
		CHECK(reparses(SESSION_F_SEEN, val, len, kw), "10k keywords parse back");
		free(val);
		val = NULL;
		free(kw);
	}
	/* one keyword of 1 MB: left out whole, the rest is shown */
	{
		size_t big = 1 << 20;
		char *kw = malloc(big + 16);

		memset(kw, 'k', big);
		memcpy(kw + big, " after", 7);
		CHECK(flags_format(0, kw, FLAGS_XATTR_MAX, &val, &len, &dropped) == 0 &&
		      strcmp(val, "after") == 0 && dropped == 1, "1 MB keyword: \"%.20s\" %zu", val, dropped);
		free(val);
		val = NULL;
		free(kw);
	}
}

static const struct {
	const char *in;
	int rc;
	int64_t at;
} dates[] = {
	{ "17-Jul-1996 02:44:25 -0700", 0, 837596665 },
	{ "17-Jul-1996 02:44:25 -0700\n", 0, 837596665 },
	{ "01-Jan-1970 00:00:00 +0000", 0, 0 },
	{ "01-Jan-2024 05:30:00 +0530", 0, 1704067200 },
	{ " 1-Jan-2024 00:00:00 +0000", 0, 1704067200 },
	{ "31-Apr-2024 00:00:00 +0000", -EINVAL, 0 },
	{ "01-Foo-2024 00:00:00 +0000", -EINVAL, 0 },
	{ "01-anF-2024 00:00:00 +0000", -EINVAL, 0 },
	{ "01-Jan-2024 24:00:00 +0000", -EINVAL, 0 },
	{ "01-Jan-2024 00:00:00 +2400", -EINVAL, 0 },
	{ "01-Jan-2024 00:00:00 *0000", -EINVAL, 0 },
	{ "01-Jan-2024 00:00:00 +0000x", -EINVAL, 0 },
	{ "01-Jan-2024 00:00:00", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "1712345678", -EINVAL, 0 },
};

/* Does a message's flags (as the server reports them) show a change done? */
static const struct {
	const char *change;	/* user.imap.flags value */
	uint8_t sys;
	const char *kw;		/* the server's keywords, or NULL */
	bool want;
} shows[] = {
	{ "+\\Seen", SESSION_F_SEEN, NULL, true },
	{ "+\\Seen", SESSION_F_SEEN | SESSION_F_FLAGGED, "$A", true },
	{ "+\\Seen", 0, NULL, false },
	{ "+\\seen +$todo", SESSION_F_SEEN, "$Todo", true },	/* any case */
	{ "+$Todo", 0, "$Other", false },
	{ "-\\Seen", SESSION_F_FLAGGED, "$A", true },
	{ "-\\Seen", SESSION_F_SEEN, NULL, false },
	{ "-$Todo", 0, "$TODO $B", false },
	{ "-$Todo", 0, "$Todox", true },
	{ "+\\Seen -\\Draft", SESSION_F_SEEN, NULL, true },
	{ "+\\Seen -\\Draft", SESSION_F_SEEN | SESSION_F_DRAFT, NULL, false },
	{ "\\Seen $A", SESSION_F_SEEN, "$a", true },			/* a replacement: exactly */
	{ "\\Seen $A", SESSION_F_SEEN, "$A $B", false },
	{ "\\Seen $A", SESSION_F_SEEN | SESSION_F_FLAGGED, "$A", false },
	{ "\\Seen $A", SESSION_F_SEEN, NULL, false },
	{ "", 0, NULL, true },
	{ "", 0, "", true },
	{ "", 0, "$A", false },
	{ "+\\Foo", 0, "\\Foo", true },				/* a flag extension */
};

static void test_satisfied(void)
{
	for (size_t i = 0; i < sizeof(shows) / sizeof(shows[0]); i++) {
		struct flags_change c;

		CHECK(flags_parse(shows[i].change, strlen(shows[i].change), &c) == 0, "parse %s", shows[i].change);
		CHECK(flags_satisfied(&c, shows[i].sys, shows[i].kw) == shows[i].want,
		      "\"%s\" against %#x \"%s\": want %d", shows[i].change, shows[i].sys,
		      shows[i].kw ? shows[i].kw : "(null)", shows[i].want);
		flags_change_free(&c);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		int64_t at = -1;
		int rc = flags_parse_date(dates[i].in, strlen(dates[i].in), &at);

		CHECK(rc == dates[i].rc, "date %s: rc %d", dates[i].in, rc);
		CHECK(rc < 0 || at == dates[i].at, "date %s: %lld", dates[i].in, (long long)at);
	}

	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flags_change c;
		int rc = flags_parse(cases[i].in, strlen(cases[i].in), &c);

		CHECK(rc == cases[i].rc, "flags_parse(\"%s\") = %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc != 0 || cases[i].rc != 0)
			continue;
		CHECK(c.replace == cases[i].replace, "\"%s\": replace %d", cases[i].in, c.replace);
		CHECK(c.add_sys == cases[i].add_sys, "\"%s\": add_sys %#x want %#x", cases[i].in, c.add_sys, cases[i].add_sys);
		CHECK(c.del_sys == cases[i].del_sys, "\"%s\": del_sys %#x want %#x", cases[i].in, c.del_sys, cases[i].del_sys);
		CHECK(streq_null(c.add_kw, cases[i].add_kw), "\"%s\": add_kw \"%s\"", cases[i].in, c.add_kw ? c.add_kw : "(null)");
		CHECK(streq_null(c.del_kw, cases[i].del_kw), "\"%s\": del_kw \"%s\"", cases[i].in, c.del_kw ? c.del_kw : "(null)");
		flags_change_free(&c);
	}
	/* not NUL-terminated input */
	{
		struct flags_change c;
		const char buf[] = { '+', '$', 'A', 'X' };

		CHECK(flags_parse(buf, 3, &c) == 0 && c.add_kw && strcmp(c.add_kw, "$A") == 0,
		      "length-bounded parse");
		flags_change_free(&c);
	}
	test_format();
	test_satisfied();
	return check_finish("test_flags");
}
