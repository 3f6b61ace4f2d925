/*
 * fuzz_flags — libFuzzer target for the user.imap.flags value parser
 * (src/flags.c). The value comes from setxattr: arbitrary bytes, not
 * NUL-terminated. Checked with abort(): only 0 / -EINVAL; on success the
 * result is consistent (keywords are non-empty space-separated atoms of
 * printable ASCII, system-flag bits only SESSION_F_*, a replace has no
 * removals); on failure nothing is left to free.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "session.h"

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
	for (p = kw; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    strchr("(){%*\"\\]", *p) != NULL)
			abort();
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
		flags_change_free(&c);
	} else if (c.add_kw != NULL || c.del_kw != NULL) {
		abort();	/* failure must leave nothing to free */
	}
	free(copy);
	return 0;
}
