/*
 * listing — a mailbox's listing as bytes and back (see listing.h).
 */
#include "listing.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kept.h"

#define MAGIC "IMAPFSL1"
#define MSG_FIXED (4 + 4 + 8 + 8 + 8 + 2 + 1 + 1 + 4 + 4 + 4)	/* a message without its strings */

int listing_encode(const char *mailbox, uint32_t uidvalidity, uint64_t highestmodseq,
		   const struct tree_msg *msgs, size_t n, char **out, size_t *len)
{
	struct kept_out o;

	kept_out_init(&o, MAGIC);
	kept_put_str(&o, mailbox);
	kept_put_u(&o, uidvalidity, 4);
	kept_put_u(&o, highestmodseq, 8);
	kept_put_u(&o, n, 8);
	for (size_t i = 0; i < n; i++) {
		const struct tree_msg *m = &msgs[i];

		kept_put_u(&o, m->uid, 4);
		kept_put_u(&o, m->size, 4);
		kept_put_u(&o, (uint64_t)m->date, 8);
		kept_put_u(&o, m->modseq, 8);
		kept_put_u(&o, m->gm_msgid, 8);
		kept_put_u(&o, (uint16_t)m->tz, 2);
		kept_put_u(&o, m->sysflags, 1);
		kept_put_u(&o, m->size_exact ? 1 : 0, 1);
		kept_put_u(&o, m->claimed, 4);
		kept_put_str(&o, m->keywords);
		kept_put_str(&o, m->gm_labels);
	}
	return kept_out_seal(&o, out, len);
}

int listing_decode(const char *data, size_t len, const char *mailbox, uint32_t *uidvalidity,
		   uint64_t *highestmodseq, struct tree_msg **msgs, size_t *n)
{
	struct kept_in in;
	struct tree_msg *v = NULL;
	uint64_t count, namelen;
	size_t got = 0;
	int rc;

	*msgs = NULL;
	*n = 0;
	if (kept_in_open(&in, data, len, MAGIC) < 0)
		return -EBADMSG;
	namelen = kept_get_u(&in, 4);
	if (in.bad || namelen != strlen(mailbox) || namelen > kept_left(&in) ||
	    memcmp(in.p + in.at, mailbox, namelen) != 0)
		return -EBADMSG;	/* another mailbox's (a hash collision, a rename) */
	in.at += namelen;
	*uidvalidity = (uint32_t)kept_get_u(&in, 4);
	*highestmodseq = kept_get_u(&in, 8);
	count = kept_get_u(&in, 8);
	if (in.bad || count > kept_left(&in) / MSG_FIXED)
		return -EBADMSG;
	v = count ? calloc(count, sizeof(*v)) : NULL;
	if (count && v == NULL)
		return -ENOMEM;
	for (got = 0; got < count && !in.bad; got++) {
		struct tree_msg *m = &v[got];

		m->uid = (uint32_t)kept_get_u(&in, 4);
		m->size = (uint32_t)kept_get_u(&in, 4);
		m->date = (int64_t)kept_get_u(&in, 8);
		m->modseq = kept_get_u(&in, 8);
		m->gm_msgid = kept_get_u(&in, 8);
		m->tz = (int16_t)(uint16_t)kept_get_u(&in, 2);
		m->sysflags = (uint8_t)kept_get_u(&in, 1);
		m->size_exact = kept_get_u(&in, 1) != 0;
		m->claimed = (uint32_t)kept_get_u(&in, 4);
		m->keywords = kept_get_str(&in);
		m->gm_labels = kept_get_str(&in);
		if (m->uid == 0 || (got > 0 && m->uid <= v[got - 1].uid))
			in.bad = true;	/* sorted, each once: what the tree relies on */
	}
	rc = kept_in_done(&in);
	if (rc < 0) {
		tree_msgs_free(v, got);
		return rc;
	}
	*msgs = v;
	*n = (size_t)count;
	return 0;
}
