/*
 * test_flags — the user.imap.flags value grammar, table-driven.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "flags.h"
#include "session.h"

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
	{ "\\Bogus", -EINVAL, 0, 0, 0, NULL, NULL },
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

int main(void)
{
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
	return check_finish("test_flags");
}
