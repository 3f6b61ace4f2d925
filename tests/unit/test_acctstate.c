/*
 * test_acctstate — the account's state as bytes and back
 * (src/acctstate.c): every field survives the round trip; another
 * account's state, one cut short at any length, one with any byte
 * changed, and ones holding what no server sends (unknown bits, a line
 * break in a name, an empty name, too many namespaces) are refused
 * (EBADMSG), never half taken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acctstate.h"
#include "check.h"

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

/* Encode a variant of the sample and expect it refused. */
static void refused(const struct acctstate *s, const char *what)
{
	struct acctstate out;
	char *buf = NULL;
	size_t len = 0;

	CHECK(acctstate_encode(s, &buf, &len) == 0, "encode %s", what);
	CHECK(acctstate_decode(buf, len, ACCOUNT, &out) == -EBADMSG && out.account == NULL &&
	      out.boxes == NULL, "%s taken", what);
	free(buf);
}

int main(void)
{
	struct acctstate out, v;
	struct acctstate_box bad[1];
	char *buf = NULL, *copy;
	size_t len = 0;
	int rc, n = 0;

	CHECK(acctstate_encode(&sample, &buf, &len) == 0, "encode");
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

	/* what no server sends, written with a good checksum */
	v = sample;
	v.caps |= 1u << 20;
	refused(&v, "unknown capability bit");
	v = sample;
	bad[0] = boxes[0];
	bad[0].bits = 0x80;
	v.boxes = bad;
	v.nboxes = 1;
	refused(&v, "unknown mailbox bit");
	bad[0] = boxes[0];
	bad[0].name = (char *)"INBOX\r\nA1 DELETE x";
	refused(&v, "line break in a name");
	bad[0] = boxes[0];
	bad[0].name = NULL;
	refused(&v, "empty name");
	bad[0] = boxes[0];
	bad[0].attrs = (char *)"\\Sent\n";
	refused(&v, "line break in attributes");
	v = sample;
	v.ns_prefix[1] = NULL;
	refused(&v, "empty namespace prefix");

	/* an account with nothing listed yet */
	v = sample;
	v.nboxes = 0;
	v.boxes = NULL;
	v.nns = 0;
	CHECK(acctstate_encode(&v, &buf, &len) == 0 && acctstate_decode(buf, len, ACCOUNT, &out) == 0 &&
	      out.nboxes == 0 && out.boxes == NULL && out.nns == 0, "empty");
	acctstate_free(&out);
	free(buf);
	return check_finish("test_acctstate");
}
