/*
 * test_acctstate — the account's state as bytes and back
 * (src/acctstate.c): every field survives the round trip; another
 * account's state, one cut short at any length, one with any byte
 * changed, and ones holding what no server should send (unknown bits, a
 * line break in a name, prefix, attribute or delimiter) are refused
 * (EBADMSG), never half taken; the encoder leaves such names out (the
 * same predicates), so a hostile server cannot make a state that is
 * refused when read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acctstate.h"
#include "check.h"
#include "crc32c.h"

#define ACCOUNT "joe@mail.example:993"

static struct acctstate_box boxes[] = {
	{ (char *)"INBOX", '/', (char *)"\\HasChildren", ACCTSTATE_BOX_SUBSCRIBED },
	{ (char *)"INBOX/Caf&AOk-", '/', NULL, 0 },
	{ (char *)"Archive", '/', (char *)"\\Noselect \\HasChildren", ACCTSTATE_BOX_NOSELECT },
	{ (char *)"flat", '\0', (char *)"\\Sent", ACCTSTATE_BOX_SUBSCRIBED },
	{ (char *)"shared.bob.x", '.', (char *)"", ACCTSTATE_BOX_NOSELECT | ACCTSTATE_BOX_SUBSCRIBED },
};

static const struct acctstate sample = {
	.account = (char *)ACCOUNT, .saved = -1234567890123LL,
	.caps = ACCTSTATE_CONDSTORE | ACCTSTATE_MOVE | ACCTSTATE_QRESYNC | ACCTSTATE_SASL_IR,
	.append_limit = 0x123456789aULL, .personal_delim = '/',
	.ns_prefix = { (char *)"shared.", (char *)"Other Users/" }, .nns = 2,
	.boxes = boxes, .nboxes = sizeof(boxes) / sizeof(boxes[0]),
};

/* What no server should send, in a file with a good checksum: the
 * encoder leaves it out (the same predicates), so S is encoded with FROM
 * where it goes and the N bytes are changed to TO afterwards, the
 * checksum made again; the decoder must refuse it. */
static void refused(const struct acctstate *s, const char *from, const char *to, size_t n, const char *what)
{
	struct acctstate out;
	char *buf = NULL, *at = NULL;
	size_t len = 0, skipped = 1;
	uint32_t crc;

	CHECK(acctstate_encode(s, &buf, &len, &skipped) == 0 && skipped == 0, "encode %s", what);
	for (size_t i = 0; buf != NULL && i + n <= len && at == NULL; i++)
		if (memcmp(buf + i, from, n) == 0)
			at = buf + i;
	CHECK(at != NULL, "%s: nothing to change", what);
	if (at != NULL) {
		memcpy(at, to, n);
		crc = crc32c(0, buf, len - 4);
		for (int b = 0; b < 4; b++)
			buf[len - 4 + (size_t)b] = (char)(crc >> (8 * b));
	}
	CHECK(acctstate_decode(buf, len, ACCOUNT, &out) == -EBADMSG && out.account == NULL &&
	      out.boxes == NULL, "%s taken", what);
	free(buf);
}

int main(void)
{
	struct acctstate out, v;
	struct acctstate_box bad[3];
	char *buf = NULL, *copy;
	size_t len = 0, skipped = 0;
	int rc, n = 0;

	CHECK(acctstate_encode(&sample, &buf, &len, &skipped) == 0, "encode");
	rc = acctstate_decode(buf, len, ACCOUNT, &out);
	CHECK(rc == 0, "decode: %d", rc);
	if (rc == 0) {
		CHECK(strcmp(out.account, ACCOUNT) == 0 && out.saved == sample.saved && out.caps == sample.caps &&
		      out.append_limit == sample.append_limit && out.personal_delim == '/' && out.nns == 2,
		      "header");
		for (int i = 0; i < out.nns; i++)
			CHECK(strcmp(out.ns_prefix[i], sample.ns_prefix[i]) == 0, "prefix %d", i);
		CHECK(out.nboxes == sample.nboxes, "count %zu", out.nboxes);
		for (size_t i = 0; i < out.nboxes && i < sample.nboxes; i++) {
			const struct acctstate_box *a = &out.boxes[i], *b = &sample.boxes[i];

			CHECK(strcmp(a->name, b->name) == 0 && a->delim == b->delim && a->bits == b->bits,
			      "box %zu", i);
			/* an empty attribute string comes back as none */
			CHECK(b->attrs == NULL || b->attrs[0] == '\0' ? a->attrs == NULL :
			      a->attrs != NULL && strcmp(a->attrs, b->attrs) == 0, "attrs %zu", i);
		}
		acctstate_free(&out);
	}

	/* another account's state (cache_dir= shared by two accounts) */
	CHECK(acctstate_decode(buf, len, "joe@mail.example:143", &out) == -EBADMSG && out.account == NULL,
	      "other account");
	/* cut short anywhere, or any byte changed */
	for (size_t cut = 0; cut < len; cut++)
		n += acctstate_decode(buf, cut, ACCOUNT, &out) != -EBADMSG || out.boxes != NULL;
	CHECK(n == 0, "%d cuts taken", n);
	copy = malloc(len);
	n = 0;
	for (size_t at = 0; copy != NULL && at < len; at++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, buf, len);
			copy[at] ^= (char)(1 << bit);
			n += acctstate_decode(copy, len, ACCOUNT, &out) != -EBADMSG || out.boxes != NULL;
		}
	}
	CHECK(n == 0, "%d altered bytes taken", n);
	free(copy);
	free(buf);

	/* what no server should send, written with a good checksum */
	v = sample;
	v.caps |= 1u << 20;
	CHECK(acctstate_encode(&v, &buf, &len, &skipped) == 0, "encode caps");
	CHECK(acctstate_decode(buf, len, ACCOUNT, &out) == -EBADMSG && out.boxes == NULL,
	      "unknown capability bit taken");
	free(buf);
	v = sample;
	bad[0] = boxes[0];
	bad[0].name = (char *)"BITS";
	bad[0].attrs = NULL;
	v.boxes = bad;
	v.nboxes = 1;
	refused(&v, "BITS/\0\0\0\0\x02", "BITS/\0\0\0\0\x80", 10, "unknown mailbox bit");
	refused(&v, "BITS/", "BITS\n", 5, "line break as a delimiter");
	bad[0].name = (char *)"INBOXxxA1 DELETE x";
	refused(&v, "INBOXxx", "INBOX\r\n", 7, "line break in a name");
	bad[0] = boxes[0];
	bad[0].attrs = (char *)"\\Sentx";
	refused(&v, "\\Sentx", "\\Sent\n", 6, "line break in attributes");
	v = sample;
	refused(&v, "Other Users/", "Other\nUsers/", 12, "line break in a namespace prefix");
	refused(&v, "\0\0\0/", "\0\0\0\n", 4, "line break as the personal delimiter");
	v.ns_prefix[1] = (char *)"";
	CHECK(acctstate_encode(&v, &buf, &len, &skipped) == 0 && skipped == 1, "empty prefix left out");
	free(buf);

	/* a hostile server's names are left out when kept, not written to be
	 * refused when read (the account would never mount offline) */
	bad[0] = boxes[1];
	bad[1] = boxes[0];
	bad[1].name = (char *)"Evil\r\nName";
	bad[2] = boxes[2];
	bad[2].delim = '\n';
	v = sample;
	v.boxes = bad;
	v.nboxes = 3;
	v.ns_prefix[0] = (char *)"shared\n";
	rc = acctstate_encode(&v, &buf, &len, &skipped);
	CHECK(rc == 0 && skipped == 3, "hostile names: %d, %zu left out", rc, skipped);
	rc = rc == 0 ? acctstate_decode(buf, len, ACCOUNT, &out) : rc;
	CHECK(rc == 0, "hostile names: the rest refused (%d)", rc);
	if (rc == 0) {
		CHECK(out.nboxes == 1 && strcmp(out.boxes[0].name, boxes[1].name) == 0 && out.nns == 1 &&
		      strcmp(out.ns_prefix[0], "Other Users/") == 0, "hostile names: what is kept");
		acctstate_free(&out);
	}
	free(buf);
	v.personal_delim = '\r';
	CHECK(acctstate_encode(&v, &buf, &len, &skipped) == -EINVAL, "line break as the personal delimiter kept");

	/* an account with nothing listed yet */
	v = sample;
	v.nboxes = 0;
	v.boxes = NULL;
	v.nns = 0;
	CHECK(acctstate_encode(&v, &buf, &len, &skipped) == 0 && acctstate_decode(buf, len, ACCOUNT, &out) == 0 &&
	      out.nboxes == 0 && out.boxes == NULL && out.nns == 0, "empty");
	acctstate_free(&out);
	free(buf);
	return check_finish("test_acctstate");
}
