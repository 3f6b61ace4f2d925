/*
 * fuzz_flags — libFuzzer target for the user.imap.flags value parser
 * (src/flags.c). The value comes from setxattr: arbitrary bytes, not
 * NUL-terminated. Checked with abort(): only 0 / -EINVAL; on success the
 * result is consistent (keywords are non-empty space-separated atoms of
 * printable ASCII, or '\\' and such an atom other than \Recent,
 * system-flag bits only SESSION_F_*, a replace has no removals); on failure
 * nothing is left to free. And what flags_format shows for a parsed
 * replace parses back to the same flags (getxattr's value can be written
 * back); a message showing just the flags a change sets shows it done
 * (flags_satisfied).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flags.h"
#include "mailmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_SYS (SESSION_F_SEEN | SESSION_F_ANSWERED | SESSION_F_FLAGGED | \
		 SESSION_F_DELETED | SESSION_F_DRAFT)

static void check_kw(const char *kw)
{
	const char *p;

	if (kw == NULL)
		return;
	if (kw[0] == '\0' || kw[0] == ' ' || kw[strlen(kw) - 1] == ' ' || strstr(kw, "  "))
		abort();
	for (p = kw; *p; p++) {
		bool start = p == kw || p[-1] == ' ';

		if (start && *p == '\\') {
			/* a flag extension: an atom follows, and it is not \Recent */
			size_t n = strcspn(p, " ");

			if (n == 1 || (n == 7 && strncasecmp(p, "\\Recent", 7) == 0))
				abort();
			continue;
		}
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    strchr("(){%*\"\\]", *p) != NULL)
			abort();
	}
}

/* flags_format of a parsed replace parses back to the same flags. */
static void check_format(const struct flags_change *c)
{
	struct flags_change back;
	char *val;
	size_t len;

	if (flags_format(c->add_sys, c->add_kw, FLAGS_XATTR_MAX, &val, &len, NULL) != 0)
		return;	/* ENOMEM */
	if (strlen(val) != len || flags_parse(val, len, &back) != 0)
		abort();
	if (!back.replace || back.add_sys != c->add_sys ||
	    ((back.add_kw == NULL) != (c->add_kw == NULL)) ||
	    (back.add_kw != NULL && strcmp(back.add_kw, c->add_kw) != 0))
		abort();
	/* a message with exactly these flags shows the replacement done */
	if (!flags_satisfied(c, c->add_sys, c->add_kw))
		abort();
	flags_change_free(&back);
	free(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flags_change c;
	char *copy;
	int rc;

	/* an exact-size heap copy, so ASan catches any read past LEN */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	rc = flags_parse(copy, size, &c);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == 0) {
		if ((c.add_sys & ~ALL_SYS) || (c.del_sys & ~ALL_SYS))
			abort();
		if (c.replace && (c.del_sys || c.del_kw))
			abort();
		check_kw(c.add_kw);
		check_kw(c.del_kw);
		/* a change that adds and removes nothing in common: a message
		 * with just what it adds shows it done */
		if (!c.replace && !(c.add_sys & c.del_sys) && c.del_kw == NULL &&
		    !flags_satisfied(&c, c.add_sys, c.add_kw))
			abort();
		if (c.replace)
			check_format(&c);
		flags_change_free(&c);
	} else if (c.add_kw != NULL || c.del_kw != NULL) {
		abort();	/* failure must leave nothing to free */
	}
	free(copy);
	return 0;
}
