/*
 * test_listing — a mailbox's listing as bytes and back (src/listing.c):
 * every field survives the round trip; a listing of another mailbox, one
 * cut short at any length, one with any byte changed, and one with UIDs
 * out of order are refused (EBADMSG), never half taken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "listing.h"

static struct tree_msg msg(uint32_t uid, const char *kw, const char *labels)
{
	struct tree_msg m = { .uid = uid, .size = uid * 100, .date = -86400 + (int64_t)uid,
			      .modseq = 1000 + uid, .gm_msgid = 0x1234567890ULL + uid, .tz = -330,
			      .sysflags = (uint8_t)(uid & 0x1f), .size_exact = uid % 2 == 0,
			      .claimed = uid * 100 + 1 };

	m.keywords = kw != NULL ? strdup(kw) : NULL;
	m.gm_labels = labels != NULL ? strdup(labels) : NULL;
	return m;
}

int main(void)
{
	struct tree_msg in[3] = { msg(1, NULL, NULL), msg(7, "$Todo $Label1", NULL),
				  msg(4000000000U, "x", "\\Inbox\nWork") };
	struct tree_msg *out = NULL;
	char *buf = NULL, *copy;
	size_t len = 0, n = 0;
	uint64_t hms = 0;
	uint32_t uv = 0;
	int rc, bad = 0;

	CHECK(listing_encode("INBOX/Caf&AOk-", 42, 99999, in, 3, &buf, &len) == 0, "encode");
	rc = listing_decode(buf, len, "INBOX/Caf&AOk-", &uv, &hms, &out, &n);
	CHECK(rc == 0 && uv == 42 && hms == 99999 && n == 3, "decode: %d", rc);
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		CHECK(out[i].uid == in[i].uid && out[i].size == in[i].size && out[i].date == in[i].date &&
		      out[i].modseq == in[i].modseq && out[i].gm_msgid == in[i].gm_msgid &&
		      out[i].tz == in[i].tz && out[i].sysflags == in[i].sysflags &&
		      out[i].size_exact == in[i].size_exact && out[i].claimed == in[i].claimed, "msg %zu", i);
		CHECK((out[i].keywords == NULL) == (in[i].keywords == NULL) &&
		      (in[i].keywords == NULL || strcmp(out[i].keywords, in[i].keywords) == 0), "keywords %zu", i);
		CHECK((out[i].gm_labels == NULL) == (in[i].gm_labels == NULL) &&
		      (in[i].gm_labels == NULL || strcmp(out[i].gm_labels, in[i].gm_labels) == 0), "labels %zu", i);
	}
	tree_msgs_free(out, n);

	/* another mailbox's (a hash collision, a rename since) */
	CHECK(listing_decode(buf, len, "INBOX", &uv, &hms, &out, &n) == -EBADMSG && out == NULL, "other");
	/* cut short anywhere, or any byte changed */
	for (size_t cut = 0; cut < len; cut++)
		bad += listing_decode(buf, cut, "INBOX/Caf&AOk-", &uv, &hms, &out, &n) != -EBADMSG || out != NULL;
	CHECK(bad == 0, "%d cuts taken", bad);
	copy = malloc(len);
	for (size_t at = 0; copy != NULL && at < len; at++) {
		memcpy(copy, buf, len);
		copy[at] ^= 0x20;
		bad += listing_decode(copy, len, "INBOX/Caf&AOk-", &uv, &hms, &out, &n) != -EBADMSG || out != NULL;
	}
	CHECK(bad == 0, "%d altered bytes taken", bad);
	free(copy);
	free(buf);

	/* UIDs out of order or twice: refused (the tree relies on the order) */
	{
		struct tree_msg twice[2] = { msg(5, NULL, NULL), msg(5, NULL, NULL) };

		CHECK(listing_encode("A", 1, 0, twice, 2, &buf, &len) == 0, "encode twice");
		CHECK(listing_decode(buf, len, "A", &uv, &hms, &out, &n) == -EBADMSG, "twice refused");
		free(buf);
	}
	/* an empty folder */
	CHECK(listing_encode("Empty", 3, 0, NULL, 0, &buf, &len) == 0 &&
	      listing_decode(buf, len, "Empty", &uv, &hms, &out, &n) == 0 && n == 0 && out == NULL && uv == 3,
	      "empty");
	free(buf);
	for (int i = 0; i < 3; i++) {
		free(in[i].keywords);
		free(in[i].gm_labels);
	}
	return check_finish("test_listing");
}
