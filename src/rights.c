/*
 * rights — RFC 2086 rights read as RFC 4314 ones, and the rights checks
 * of the write path with their log line (see rights.h).
 */
#include "rights.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Append letter C to OUT (of length *N) unless it is there already. */
static void rights_add(char *out, size_t *n, char c)
{
	if (strchr(out, c) == NULL) {
		out[(*n)++] = c;
		out[*n] = '\0';
	}
}

char *rights_read(const char *raw)
{
	size_t n = strlen(raw);
	char *out = malloc(n + 6);	/* at most t, e, x, k added */

	if (out == NULL)
		return NULL;
	memcpy(out, raw, n + 1);
	if (strpbrk(raw, "tekx") != NULL)
		return out;	/* RFC 4314 letters: nothing to translate */
	if (strchr(raw, 'd') != NULL) {
		rights_add(out, &n, 't');
		rights_add(out, &n, 'e');
		rights_add(out, &n, 'x');
	}
	if (strchr(raw, 'c') != NULL) {
		rights_add(out, &n, 'k');
		rights_add(out, &n, 'x');
	}
	return out;
}

int rights_check(const char *rights, const char *need, bool any, const char *op, const char *where)
{
	bool ok = !any;

	if (rights == NULL)
		return 0;
	for (const char *p = need; *p != '\0'; p++) {
		bool has = strchr(rights, *p) != NULL;

		if (any && has)
			ok = true;
		if (!any && !has)
			ok = false;
	}
	if (ok)
		return 0;
	log_err("%s %s: refused: needs %s the rights \"%s\", but MYRIGHTS (RFC 4314, "
		"RFC 2086 letters translated) is \"%s\"", op, where, any ? "one of" : "all of", need,
		rights);
	return -EACCES;
}
