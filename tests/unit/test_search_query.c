/*
 * test_search_query — the search views' query language: each documented
 * key, the operators and their precedence, quoting, and every input that
 * must be refused (with its reason), hostile bytes first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "search_query.h"

static const struct {
	const char *query, *imap;	/* imap NULL: refused, WHY contains the third */
	const char *why;
} cases[] = {
	{ "from:alice", "FROM \"alice\"", NULL },
	{ "FROM:alice", "FROM \"alice\"", NULL },
	{ "to:bob@example.org", "TO \"bob@example.org\"", NULL },
	{ "cc:carol", "CC \"carol\"", NULL },
	{ "subject:hello", "SUBJECT \"hello\"", NULL },
	{ "body:invoice", "BODY \"invoice\"", NULL },
	{ "text:invoice", "TEXT \"invoice\"", NULL },
	{ "invoice", "TEXT \"invoice\"", NULL },
	{ "header:List-Id:dev.example", "HEADER \"List-Id\" \"dev.example\"", NULL },
	{ "header:X-Spam:", "HEADER \"X-Spam\" \"\"", NULL },
	{ "header:X-A:b:c", "HEADER \"X-A\" \"b:c\"", NULL },
	{ "after:2024-01-01", "SINCE 1-Jan-2024", NULL },
	{ "before:2024-12-31", "BEFORE 31-Dec-2024", NULL },
	{ "on:2024-02-29", "ON 29-Feb-2024", NULL },
	{ "larger:100", "LARGER 100", NULL },
	{ "larger:10k", "LARGER 10240", NULL },
	{ "smaller:2M", "SMALLER 2097152", NULL },
	{ "is:seen", "SEEN", NULL },
	{ "is:read", "SEEN", NULL },
	{ "is:unseen", "UNSEEN", NULL },
	{ "is:flagged", "FLAGGED", NULL },
	{ "is:answered", "ANSWERED", NULL },
	{ "is:draft", "DRAFT", NULL },
	{ "is:deleted", "DELETED", NULL },
	{ "keyword:$Todo", "KEYWORD $Todo", NULL },
	{ "uid:5", "UID 5", NULL },
	{ "uid:10:20,30,40:*", "UID 10:20,30,40:*", NULL },
	/* juxtaposition, or, not, precedence, grouping */
	{ "from:alice body:invoice after:2024-01-01",
	  "FROM \"alice\" BODY \"invoice\" SINCE 1-Jan-2024", NULL },
	{ "from:a or from:b", "OR FROM \"a\" FROM \"b\"", NULL },
	{ "from:a OR from:b Or from:c", "OR OR FROM \"a\" FROM \"b\" FROM \"c\"", NULL },
	{ "is:unseen from:a or from:b", "UNSEEN OR FROM \"a\" FROM \"b\"", NULL },
	{ "(from:a is:seen) or from:b", "OR (FROM \"a\" SEEN) FROM \"b\"", NULL },
	{ "not is:seen", "NOT SEEN", NULL },
	{ "-is:seen", "NOT SEEN", NULL },
	{ "-(from:a from:b)", "NOT (FROM \"a\" FROM \"b\")", NULL },
	{ "from:a and from:b", "FROM \"a\" FROM \"b\"", NULL },
	{ "  from:a   ", "FROM \"a\"", NULL },
	{ "...", "TEXT \"...\"", NULL },
	{ ".a", "TEXT \".a\"", NULL },
	{ "not not is:seen", "NOT NOT SEEN", NULL },
	/* quoting */
	{ "subject:\"weekly report\"", "SUBJECT \"weekly report\"", NULL },
	{ "\"two words\"", "TEXT \"two words\"", NULL },
	{ "subject:\"a \\\"b\\\" (c)\"", "SUBJECT \"a \\\"b\\\" (c)\"", NULL },
	{ "subject:\"or\"", "SUBJECT \"or\"", NULL },
	{ "\"or\"", "TEXT \"or\"", NULL },
	{ "subject:Grüße", "SUBJECT \"Grüße\"", NULL },
	{ "from:a%b", "FROM \"a%b\"", NULL },
	/* refused */
	{ "", NULL, "empty query" },
	{ "   ", NULL, "empty query" },
	{ "foo:bar", NULL, "unknown key \"foo:\"" },
	{ "from:", NULL, "from: needs a value" },
	{ "from:\"\"", NULL, "from: needs a value" },
	{ "subject:\"open", NULL, "quote is not closed" },
	{ "(from:a", NULL, "parenthesis is not closed" },
	{ "from:a)", NULL, "without its '('" },
	{ "()", NULL, "empty parentheses" },
	{ "or from:a", NULL, "\"or\" needs a term before it" },
	{ "from:a or", NULL, "without a term after it" },
	{ "not", NULL, "without a term after it" },
	{ "after:2024-13-01", NULL, "YYYY-MM-DD" },
	{ "after:2023-02-29", NULL, "YYYY-MM-DD" },
	{ "after:2024/01/01", NULL, "YYYY-MM-DD" },
	{ "after:24-1-1", NULL, "YYYY-MM-DD" },
	{ "larger:big", NULL, "size in bytes" },
	{ "larger:5000000000", NULL, "more than 4 GiB" },
	{ "larger:8G", NULL, "more than 4 GiB" },
	{ "is:important", NULL, "is: wants" },
	{ "keyword:\\Seen", NULL, "keyword: wants" },
	{ "keyword:a{b", NULL, "keyword: wants" },
	{ "keyword:\"a b\"", NULL, "keyword: wants" },
	{ "uid:0", NULL, "uid: wants" },
	{ "uid:1-5", NULL, "uid: wants" },
	{ "uid:99999999999", NULL, "uid: wants" },
	{ "header:nocolon", NULL, "header:NAME:VALUE" },
	{ "header::x", NULL, "header:NAME:VALUE" },
	{ "header:\"a b:c\"", NULL, "field name" },
	{ "from:a and", NULL, "\"and\" needs a term after it" },
	{ "(from:a and)", NULL, "\"and\" needs a term after it" },
	{ "abcdefghijklmnopqrstuvwxyz:x", NULL, "unknown key \"abcdefghijklmnopqrstuvwxyz:\"" },
	{ "after:2024-+1-01", NULL, "YYYY-MM-DD" },
	{ "after:2024-01-+1", NULL, "YYYY-MM-DD" },
	{ "larger:5000000000", NULL, "larger: more than 4 GiB" },
	{ ".", NULL, "not a query" },
	{ "..", NULL, "not a query" },
	/* hostile bytes: nothing that could end a command line gets through */
	{ "subject:a\r\nX DELETE INBOX", NULL, "control byte (0x0d)" },
	{ "subject:\"a\nb\"", NULL, "control byte (0x0a)" },
	{ "subject:a\tb", NULL, "control byte (0x09)" },
	{ "subject:a\x7f", NULL, "control byte (0x7f)" },
	{ "subject:\xff", NULL, "not valid UTF-8" },
	{ "subject:\xc0\xaf", NULL, "not valid UTF-8" },
	{ "subject:\xed\xa0\x80", NULL, "not valid UTF-8" },
	{ "subject:\xe2\x82", NULL, "not valid UTF-8" },
};

int main(void)
{
	char why[256], out[512], deep[300];
	struct sq_node *q;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = sq_parse(cases[i].query, &q, why, sizeof(why));
		if (cases[i].imap != NULL) {
			CHECK(rc == 0, "%s: refused (%s)", check_q(cases[i].query), why);
			if (rc == 0) {
				CHECK(sq_format(q, out, sizeof(out)) == 0, "format");
				CHECK(strcmp(out, cases[i].imap) == 0, "%s -> %s, want %s",
				      check_q(cases[i].query), out, cases[i].imap);
			}
		} else {
			CHECK(rc == -EINVAL && q == NULL, "%s: accepted", check_q(cases[i].query));
			CHECK(strstr(why, cases[i].why) != NULL, "%s: why \"%s\", want \"%s\"",
			      check_q(cases[i].query), why, cases[i].why);
		}
		sq_free(q);
	}

	/* CHARSET UTF-8 only for values beyond ASCII */
	CHECK(sq_parse("from:alice or subject:Grüße", &q, why, sizeof(why)) == 0 && sq_needs_utf8(q),
	      "utf8 in an OR");
	sq_free(q);
	CHECK(sq_parse("from:alice is:seen", &q, why, sizeof(why)) == 0 && !sq_needs_utf8(q), "ascii");
	sq_free(q);

	/* bounded: length and nesting */
	memset(deep, 'a', 256);
	deep[256] = '\0';
	CHECK(sq_parse(deep, &q, why, sizeof(why)) == -EINVAL && strstr(why, "longer"), "256 bytes");
	memset(deep, '(', 100);
	strcpy(deep + 100, "a");
	memset(deep + 101, ')', 100);
	deep[201] = '\0';
	CHECK(sq_parse(deep, &q, why, sizeof(why)) == -EINVAL && strstr(why, "nests"), "deep: %s", why);
	memset(deep, '-', 200);
	strcpy(deep + 200, "a");
	CHECK(sq_parse(deep, &q, why, sizeof(why)) == -EINVAL && strstr(why, "nests"), "deep not");

	/* a format buffer too small says so */
	CHECK(sq_parse("from:alice", &q, why, sizeof(why)) == 0 && sq_format(q, out, 5) == -ENOSPC, "ENOSPC");
	sq_free(q);
	return check_finish("test_search_query");
}
