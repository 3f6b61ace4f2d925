/*
 * vfs_dedupe — is a new message already in the mailbox it is written to?
 *
 * A restore with rsync (or a second `cp -r` of a Maildir) writes files
 * whose names the mount no longer shows: a stored message is listed
 * under its UID, not the name it was written as. Without this check each
 * run would append every message again. A new file whose bytes equal a
 * message the mailbox already holds is therefore not appended; its name
 * means that message (aliases.h).
 *
 * "Equal" is byte for byte, after turning every bare LF or CR of the new
 * file into CRLF, which is what APPEND sends and the server gives back (a Maildir
 * written by mbsync has LF line ends). Candidates are the messages of
 * exactly that RFC822.SIZE, from the listing, so a new message of a size
 * a listed mailbox does not have costs no command at all; in a mailbox
 * not listed yet, those UID SEARCH HEADER Message-ID finds (one command,
 * instead of listing it all for one cp). Each candidate's body is
 * compared with BODY.PEEK[] (never setting \Seen). Messages
 * without a Message-ID are always appended: a draft copied twice may be
 * meant twice.
 */
#include "crc32c.h"
#include "log.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_dedupe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEDUPE_CANDIDATES 8		/* messages of the same size compared at most */
#define DEDUPE_CHUNK (4u << 20)		/* bytes fetched per FETCH while comparing */
#define DEDUPE_CANON_MAX (64u << 20)	/* LF files above this are not converted to compare */

char *vfs_find_msgid(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && data[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && data[i] == '\r'))
			break;	/* end of the header */
		if (eol - i > 11 && strncasecmp(data + i, "Message-ID:", 11) == 0) {
			const char *lt = memchr(data + i, '<', eol - i);
			const char *gt = lt ? memchr(lt, '>', (size_t)(data + eol - lt)) : NULL;

			if (lt && gt && gt - lt < 1000)
				return strndup(lt, (size_t)(gt - lt + 1));
			return NULL;
		}
		i = eol + 1;
	}
	return NULL;
}

char *vfs_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid)
{
	char *buf = NULL, *mid = NULL;
	size_t got = 0;
	int rc = -ENOENT;

	/* a connection that had the mailbox selected before the message
	 * arrived sees it only after one more command (vfs_refresh_msg) */
	for (int attempt = 0; attempt < 2 && rc == -ENOENT; attempt++) {
		free(buf);
		buf = NULL;
		rc = vfs_fetch(v, idx, uidvalidity, uid, 0, 65536, &buf, &got);
	}
	if (rc == 0)
		mid = vfs_find_msgid(buf, got);
	free(buf);
	return mid;
}

bool vfs_same_msg_id(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b)
{
	char *ma = vfs_msg_id(v, idx, uidvalidity, a);
	char *mb = ma != NULL ? vfs_msg_id(v, idx, uidvalidity, b) : NULL;
	bool same = mb != NULL && strcmp(ma, mb) == 0;

	free(ma);
	free(mb);
	return same;
}

/* Whether byte I of DATA is a bare LF or a bare CR, which APPEND sends
 * as CRLF (imapfs.1, New messages: the IMAP library does). */
static bool bare_eol(const char *data, size_t size, size_t i)
{
	if (data[i] == '\n')
		return i == 0 || data[i - 1] != '\r';
	if (data[i] == '\r')
		return i + 1 == size || data[i + 1] != '\n';
	return false;
}

uint64_t vfs_crlf_size(const char *data, size_t size)
{
	uint64_t n = size;

	for (size_t i = 0; i < size; i++)
		if (bare_eol(data, size, i))
			n++;
	return n;
}

uint32_t vfs_crlf_crc(const char *data, size_t size, uint64_t *csize)
{
	uint32_t crc = 0;
	size_t start = 0;
	uint64_t n = size;

	/* as canonical() would make it, without the copy */
	for (size_t i = 0; i < size; i++) {
		if ((data[i] != '\n' && data[i] != '\r') || !bare_eol(data, size, i))
			continue;
		crc = crc32c(crc, data + start, i - start);
		crc = crc32c(crc, "\r\n", 2);
		start = i + 1;
		n++;
	}
	*csize = n;
	return crc32c(crc, data + start, size - start);
}

/* DATA with every bare LF or CR made CRLF: *OUT is DATA itself when there
 * is none (*OWNED false), else a malloc'd copy. -EFBIG past
 * DEDUPE_CANON_MAX. */
static int canonical(const char *data, size_t size, const char **out, size_t *outlen, bool *owned)
{
	uint64_t len = vfs_crlf_size(data, size);
	size_t j = 0;
	char *c;

	*owned = false;
	*out = data;
	*outlen = (size_t)len;
	if (len == size)
		return 0;
	if (len > DEDUPE_CANON_MAX)
		return -EFBIG;
	c = malloc((size_t)len);
	if (c == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++) {
		if (bare_eol(data, size, i)) {
			c[j++] = '\r';
			c[j++] = '\n';
		} else {
			c[j++] = data[i];
		}
	}
	*out = c;
	*owned = true;
	return 0;
}

/* Whether message UID of node IDX has exactly the LEN bytes of CANON (the
 * last FETCH asks for one byte more: a longer message is not the same).
 * 1 yes, 0 no, -errno when it could not be read. */
static int same_body(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid, const char *canon,
		     size_t len)
{
	for (size_t off = 0; off < len;) {
		uint32_t want = len - off > DEDUPE_CHUNK ? DEDUPE_CHUNK : (uint32_t)(len - off);
		bool last = off + want == len;
		char *buf = NULL;
		size_t got = 0;
		int rc = vfs_fetch(v, idx, uidvalidity, uid, off, want + (last ? 1 : 0), &buf, &got);
		bool same = rc == 0 && got == want && memcmp(buf, canon + off, want) == 0;

		free(buf);
		if (rc < 0)
			return rc;
		if (!same)
			return 0;
		off += want;
	}
	return 1;
}

bool vfs_same_bytes(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t a, uint32_t b)
{
	const struct tree_msg *ma, *mb;
	uint32_t len = 0;
	char *buf = NULL;
	size_t got = 0;
	bool same;

	pthread_mutex_lock(&v->tree.lock);
	ma = tree_msg_find(&v->tree.nodes[idx], a);
	mb = tree_msg_find(&v->tree.nodes[idx], b);
	if (ma != NULL && mb != NULL && ma->size == mb->size && v->tree.nodes[idx].uidvalidity == uidvalidity)
		len = ma->size;
	pthread_mutex_unlock(&v->tree.lock);
	if (len == 0 || len > DEDUPE_CANON_MAX)
		return false;
	same = vfs_fetch(v, idx, uidvalidity, a, 0, len, &buf, &got) == 0 && got == len &&
	       same_body(v, idx, uidvalidity, b, buf, len) == 1;
	free(buf);
	return same;
}

/* The messages of node IDX with DATA's Message-ID (UID SEARCH HEADER),
 * newest first: at most DEDUPE_CANDIDATES into CAND (*N), and the
 * mailbox's UIDVALIDITY. */
static int search(struct vfs *v, uint32_t idx, const char *data, size_t size, uint32_t *cand, size_t *n,
		  uint32_t *uv)
{
	struct session_mbox mb;
	struct session *s;
	char *mailbox, *msgid = vfs_find_msgid(data, size);
	int rc;

	pthread_mutex_lock(&v->tree.lock);
	mailbox = strdup(v->tree.nodes[idx].mailbox);
	pthread_mutex_unlock(&v->tree.lock);
	rc = mailbox != NULL && msgid != NULL ? vfs_session(v, mailbox, &s, &mb) : -ENOMEM;
	if (rc == 0) {
		rc = session_search_msgid_all(s, msgid, true, cand, DEDUPE_CANDIDATES, n);
		*uv = mb.uidvalidity;
		pool_checkin(v->pool, s);
	}
	free(mailbox);
	free(msgid);
	return rc;
}

/* The first of the N messages CAND of node IDX (UIDVALIDITY UV) that has
 * the CLEN bytes of CANON: 1 and *UID; 0 when none has; -errno when one
 * could not be read. A candidate expunged meanwhile is none. */
static int first_same(struct vfs *v, uint32_t idx, uint32_t uv, const uint32_t *cand, size_t n,
		      const char *canon, size_t clen, uint32_t *uid)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = same_body(v, idx, uv, cand[i], canon, clen);
		if (rc == 1)
			*uid = cand[i];
		else if (rc == -ENOENT)
			rc = 0;	/* expunged since listed: not this one */
	}
	return rc;
}

int vfs_find_arrived(struct vfs *v, uint32_t idx, const char *data, size_t size, uint32_t since,
		     uint32_t *uid, uint32_t *uidvalidity)
{
	uint32_t cand[DEDUPE_CANDIDATES], uv = 0;
	const char *canon;
	size_t clen, n = 0, k = 0;
	bool owned;
	int rc;

	*uid = 0;
	rc = canonical(data, size, &canon, &clen, &owned);
	if (rc < 0)
		return rc;
	rc = search(v, idx, data, size, cand, &n, &uv);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (cand[i] >= since)
			cand[k++] = cand[i];
	if (rc == 0)
		rc = first_same(v, idx, uv, cand, k, canon, clen, uid);
	if (rc == 1)
		*uidvalidity = uv;
	if (owned)
		free((char *)canon);
	return rc;
}

int vfs_find_identical(struct vfs *v, uint32_t idx, const char *data, size_t size, uint32_t crc,
		       const struct alias_target *over, uint32_t *uid, uint32_t *uidvalidity)
{
	struct tree *t = &v->tree;
	uint32_t cand[DEDUPE_CANDIDATES], uv = 0;
	const char *canon;
	char *msgid;
	size_t clen, n = 0;
	bool owned, ready, only_over;
	int rc;

	msgid = vfs_find_msgid(data, size);
	/* without a Message-ID only the message written over counts (sed -i
	 * that changed nothing): a draft copied twice may be meant twice */
	only_over = msgid == NULL;
	free(msgid);
	if (only_over && over == NULL)
		return 0;
	rc = canonical(data, size, &canon, &clen, &owned);
	if (rc < 0)
		return rc == -EFBIG ? 0 : rc;
	if (clen > UINT32_MAX)
		goto out;
	pthread_mutex_lock(&t->lock);
	ready = t->nodes[idx].state == TREE_READY;
	if (only_over) {
		const struct tree_msg *m = tree_msg_find(&t->nodes[idx], over->uid);

		ready = true;	/* no search: that one message or none */
		uv = over->uidvalidity;
		if (m != NULL && m->size == clen && t->nodes[idx].uidvalidity == uv)
			cand[n++] = over->uid;
	} else if (ready) {
		const struct tree_node *nd = &t->nodes[idx];

		uv = nd->uidvalidity;
		/* newest first: a restore finds what the last run stored */
		for (size_t i = nd->nmsgs; i > 0 && n < DEDUPE_CANDIDATES; i--)
			if (nd->msgs[i - 1].size == clen && !(nd->msgs[i - 1].sysflags & SESSION_F_DELETED))
				cand[n++] = nd->msgs[i - 1].uid;
	}
	pthread_mutex_unlock(&t->lock);
	/* one this mount stored, with other bytes: not fetched to see so
	 * (digests.h; digests.lock is taken without tree.lock) */
	for (size_t i = 0, k = n; i < k; i++)
		if (digests_differ(&v->digests, idx, uv, cand[i], clen, crc))
			n--;
		else
			cand[i - (k - n)] = cand[i];
	/* not listed (cp into a mailbox nobody looked at): ask the server
	 * for the Message-ID rather than list every message */
	rc = ready ? 0 : search(v, idx, data, size, cand, &n, &uv);
	if (rc == 0)
		rc = first_same(v, idx, uv, cand, n, canon, clen, uid);
	if (rc == 1)
		*uidvalidity = uv;
out:
	if (owned)
		free((char *)canon);
	return rc;
}
