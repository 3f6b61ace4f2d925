/*
 * test_rights — MYRIGHTS read per RFC 4314 §2.1.1: RFC 2086 answers get
 * the RFC 4314 letters their "d" and "c" stand for, current answers are
 * kept; rights_check lets through exactly what the letters allow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rights.h"

static const struct {
	const char *raw, *want;
} reads[] = {
	{ "acdilrsw", "acdilrswtexk" },	/* the server */
	{ "lrswid", "lrswidtex" },	/* d: t, e, x */
	{ "lrswic", "lrswickx" },	/* c: k, x */
	{ "lrs", "lrs" },
	{ "", "" },
	{ "lrwstipekxacd", "lrwstipekxacd" },	/* Dovecot's owner: RFC 4314 */
	{ "lrwsitd", "lrwsitd" },	/* has t: RFC 4314, d adds nothing */
	{ "lrwsied", "lrwsied" },
	{ "lrkd", "lrkd" },
};

static bool has_all(const char *s, const char *need)
{
	for (; *need; need++)
		if (strchr(s, *need) == NULL)
			return false;
	return true;
}

int main(void)
{
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		char *got = rights_read(reads[i].raw);

		CHECK(got != NULL && strlen(got) == strlen(reads[i].want) && has_all(got, reads[i].want),
		      "rights_read(\"%s\") = \"%s\", want the letters of \"%s\"", reads[i].raw,
		      got ? got : "(null)", reads[i].want);
		free(got);
	}
	CHECK(rights_check(NULL, "te", false, "rm in", "X") == 0, "unknown rights refuse");
	CHECK(rights_check("lrstie", "te", false, "rm in", "X") == 0, "t and e");
	CHECK(rights_check("lrsti", "te", false, "rm in", "X") == -EACCES, "no e");
	CHECK(rights_check("lrsc", "kc", true, "mkdir in", "X") == 0, "any: c");
	CHECK(rights_check("lrs", "kc", true, "mkdir in", "X") == -EACCES, "any: none");
	return check_finish("test_rights");
}
