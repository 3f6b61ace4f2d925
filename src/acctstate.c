/*
 * acctstate — the account's state as bytes and back (see acctstate.h).
 */
#include "acctstate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kept.h"

#define MAGIC "IMAPFSA1"
#define BOX_FIXED (4 + 1 + 4 + 1)	/* a mailbox without its strings */

/* A line break in a name would be a line break in a log line or, were
 * it ever sent, in a command, and a delimiter of CR or LF splits nothing
 * a server could mean. No server should send one, but a hostile one can:
 * acctstate_encode leaves such an entry out and acctstate_decode refuses a
 * file holding one, both by these predicates, so what is written is
 * always what is read (a file written with one would be refused and
 * removed, and the account never mounted offline). */
static bool text_ok(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

static bool delim_ok(char d)
{
	return d != '\r' && d != '\n';
}

/* a namespace prefix or mailbox name: never empty (the personal prefix
 * is not kept; a mailbox has a name) */
static bool name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && text_ok(s);
}

static bool box_ok(const struct acctstate_box *b)
{
	return name_ok(b->name) && delim_ok(b->delim) && text_ok(b->attrs) &&
	       !(b->bits & ~ACCTSTATE_BOX_BITS);
}

int acctstate_encode(const struct acctstate *s, char **out, size_t *len, size_t *skipped)
{
	struct kept_out o;
	uint64_t n = 0;

	*skipped = 0;
	if (!delim_ok(s->personal_delim))
		return -EINVAL;	/* the whole mapping of names rests on it */
	kept_out_init(&o, MAGIC);
	kept_put_str(&o, s->account);
	kept_put_u(&o, (uint64_t)s->saved, 8);
	kept_put_u(&o, s->caps, 4);
	kept_put_u(&o, s->append_limit, 8);
	kept_put_u(&o, (unsigned char)s->personal_delim, 1);
	for (int i = 0; i < s->nns; i++)
		n += name_ok(s->ns_prefix[i]);
	*skipped += (size_t)s->nns - n;
	kept_put_u(&o, n, 4);
	for (int i = 0; i < s->nns; i++)
		if (name_ok(s->ns_prefix[i]))
			kept_put_str(&o, s->ns_prefix[i]);
	n = 0;
	for (size_t i = 0; i < s->nboxes; i++)
		n += box_ok(&s->boxes[i]);
	*skipped += s->nboxes - n;
	kept_put_u(&o, n, 8);
	for (size_t i = 0; i < s->nboxes; i++) {
		if (!box_ok(&s->boxes[i]))
			continue;
		kept_put_str(&o, s->boxes[i].name);
		kept_put_u(&o, (unsigned char)s->boxes[i].delim, 1);
		kept_put_str(&o, s->boxes[i].attrs);
		kept_put_u(&o, s->boxes[i].bits, 1);
	}
	return kept_out_seal(&o, out, len);
}

int acctstate_decode(const char *data, size_t len, const char *account, struct acctstate *s)
{
	struct kept_in in;
	uint64_t nns, count;
	int rc;

	*s = (struct acctstate){ 0 };
	if (kept_in_open(&in, data, len, MAGIC) < 0)
		return -EBADMSG;
	s->account = kept_get_str(&in);
	if (s->account == NULL || strcmp(s->account, account) != 0)
		in.bad = true;	/* another account's (cache_dir= shared, or a hash collision) */
	s->saved = (int64_t)kept_get_u(&in, 8);
	s->caps = (uint32_t)kept_get_u(&in, 4);
	s->append_limit = kept_get_u(&in, 8);
	s->personal_delim = (char)kept_get_u(&in, 1);
	nns = kept_get_u(&in, 4);
	if ((s->caps & ~(uint32_t)ACCTSTATE_CAPS) || nns > ACCTSTATE_NS_MAX || !delim_ok(s->personal_delim))
		in.bad = true;
	for (uint64_t i = 0; i < nns && !in.bad; i++) {
		s->ns_prefix[s->nns] = kept_get_str(&in);
		if (!name_ok(s->ns_prefix[s->nns]))
			in.bad = true;
		if (s->ns_prefix[s->nns] != NULL)
			s->nns++;
	}
	count = kept_get_u(&in, 8);
	if (count > kept_left(&in) / BOX_FIXED)
		in.bad = true;
	s->boxes = !in.bad && count > 0 ? calloc(count, sizeof(*s->boxes)) : NULL;
	if (!in.bad && count > 0 && s->boxes == NULL)
		in.oom = in.bad = true;
	for (; s->nboxes < count && !in.bad; s->nboxes++) {
		struct acctstate_box *b = &s->boxes[s->nboxes];

		b->name = kept_get_str(&in);
		b->delim = (char)kept_get_u(&in, 1);
		b->attrs = kept_get_str(&in);
		b->bits = (uint8_t)kept_get_u(&in, 1);
		if (!box_ok(b))
			in.bad = true;
	}
	rc = kept_in_done(&in);
	if (rc < 0)
		acctstate_free(s);
	return rc;
}

void acctstate_free(struct acctstate *s)
{
	free(s->account);
	for (int i = 0; i < s->nns; i++)
		free(s->ns_prefix[i]);
	for (size_t i = 0; i < s->nboxes; i++) {
		free(s->boxes[i].name);
		free(s->boxes[i].attrs);
	}
	free(s->boxes);
	*s = (struct acctstate){ 0 };
}
