/*
 * test_gmail_labels — session_fetch.c's lenient X-GM-LABELS parser (the one for
 * bare system labels, Google's documented form) on a hostile label list:
 * 500000 one-byte labels on a 1 MB line. Each label must cost its own
 * length: the parser once allocated the rest of the line per label, about
 * 250 GB for this line; the address space is capped at 512 MB here, so
 * that version fails the test instead of swapping. session_int.h declares
 * the parser for this test.
 */
#include "session_int.h"

#include <sys/resource.h>

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define IMAPFS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMAPFS_ASAN 1
#endif
#endif
#ifndef IMAPFS_ASAN
#define IMAPFS_ASAN 0
#endif

static void test_long_list(void)
{
	enum { N = 500000 };
	struct mailimap_extension_data *ed = NULL;
	struct rlimit rl = { 512UL << 20, 512UL << 20 };
	MMAPString *buf = mmap_string_new("X-GM-LABELS (\\Inbox");
	size_t indx = 0, n = 0;
	int r;

	for (int i = 0; buf != NULL && i < N; i++)
		if (mmap_string_append(buf, " a") == NULL)
			buf = NULL;
	CHECK(buf != NULL && mmap_string_append(buf, " \"q \\\"x\\\"\")\r\n") != NULL, "line built");
	if (buf == NULL)
		return;
#if IMAPFS_ASAN
	/* ASan reserves terabytes of shadow address space: no cap there
	 * (the plain build's run is the one that proves the bound) */
	(void)rl;
#else
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "address space capped");
#endif
	r = session_lenient_labels_parse(MAILIMAP_EXTENDED_PARSER_FETCH_DATA, NULL, buf, NULL, &indx, &ed, 0, NULL);
	CHECK(r == MAILIMAP_NO_ERROR && ed != NULL, "parsed: %d", r);
	if (r == MAILIMAP_NO_ERROR && ed != NULL) {
		struct mailimap_msg_att_xgmlabels *l = ed->ext_data;
		clistiter *it = clist_begin(l->att_labels);

		n = (size_t)clist_count(l->att_labels);
		CHECK(n == N + 2, "%zu labels", n);
		const char *first = it != NULL ? clist_content(it) : "", *last;

		CHECK(strcmp(first, "\\Inbox") == 0, "first is \\Inbox: %s", first);
		it = clist_end(l->att_labels);
		last = it != NULL ? clist_content(it) : "";
		CHECK(strcmp(last, "q \"x\"") == 0, "quoted one unescaped: %s", last);
		CHECK(buf->str[indx - 1] == ')', "index after the list");
		session_lenient_labels_free(ed);
	}
	mmap_string_free(buf);
}

int main(void)
{
	test_long_list();
	return check_finish("test_gmail_labels");
}
