/*
 * fuzz_query — libFuzzer target for the search views' query parser
 * (src/search_query.c). A query is a file name: any bytes but NUL and
 * '/', up to 255 of them; the target takes any bytes up to the first NUL.
 * Checked with abort(): only 0, -EINVAL (with a reason) or -ENOMEM; on
 * success no value holds a control byte (nothing can end a command line)
 * and no keyword fails the wire's atom check, and sq_format writes a line
 * without CR, LF or NUL; on failure nothing is left to free.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search_query.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static void check_node(const struct sq_node *q, int depth)
{
	if (q == NULL)
		return;
	if (depth > SQ_MAX)	/* a chain of ANDs is as deep as it is long */
		abort();
	check_str(q->name);
	check_str(q->value);
	if (wire_astring(q->value != NULL ? q->value : "") < 0)
		abort();
	if (q->kind == SQ_KEYWORD && (q->value == NULL || wire_flag(q->value, strlen(q->value)) < 0))
		abort();
	if ((q->kind == SQ_AND || q->kind == SQ_OR) && (q->a == NULL || q->b == NULL))
		abort();
	if (q->kind == SQ_NOT && q->a == NULL)
		abort();
	if (q->kind == SQ_UID && q->nranges == 0)
		abort();
	check_node(q->a, depth + 1);
	check_node(q->b, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[256], out[4096];
	struct sq_node *q = NULL;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = sq_parse(text, &q, why, sizeof(why));
	if (rc == 0) {
		check_node(q, 0);
		if (sq_format(q, out, sizeof(out)) == 0 && strpbrk(out, "\r\n") != NULL)
			abort();
	} else if (q != NULL || (rc != -EINVAL && rc != -ENOMEM) || why[0] == '\0') {
		abort();
	}
	sq_free(q);
	free(text);
	return 0;
}
