/*
 * vfs_flags — the flags of stored messages changed: one message's
 * user.imap.flags (vfs_msg_setflags, from vfs_xattr.c's setxattr) and
 * many messages of one folder at once (vfs_flag_batch, `imapfs flag`).
 *
 * Each is one flight: UID STORE (or +FLAGS and -FLAGS together) without
 * .SILENT, so the server answers with the flags each message has now
 * (and its MODSEQ under CONDSTORE), and that answer is what the model
 * shows, not what was asked for; no FETCH follows. Only where the server
 * said nothing about a message, and on Gmail (whose labels move with
 * some flags), is it asked, as before. Moved from vfs_xattr.c (the
 * single change, then STORE .SILENT and a FETCH) and grown by the batch.
 */
#include "flags.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_flags.h"
#include "vfs_gmail.h"
#include "vfs_resync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether every flag extension ("\\Foo") in the space-separated LIST is one
 * the server shows on some message of node N: those can be written back
 * (what getxattr shows, setxattr takes), while an unknown one would only
 * earn a BAD from the server. Tree lock held. */
static bool flag_exts_shown(const struct tree_node *n, const char *list)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");
		bool found = p[0] != '\\';

		for (size_t i = 0; !found && i < n->nmsgs; i++) {
			for (const char *q = n->msgs[i].keywords; q != NULL && *q != '\0';) {
				size_t ql = strcspn(q, " ");

				if (ql == len && strncasecmp(p, q, len) == 0) {
					found = true;
					break;
				}
				q += ql;
				while (*q == ' ')
					q++;
			}
		}
		if (!found) {
			log_err("user.imap.flags: %.*s is not a flag this server shows in %s", (int)len, p,
				n->mailbox);
			return false;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return true;
}

/* The flags a STORE was answered with (GOT) into node IDX, while it still
 * has UIDVALIDITY; the folder's mtime moves when flags did, and the
 * kernel is told (queued: safe inside a handler). Its STATUS is stale. */
static void flags_apply(struct vfs *v, uint32_t idx, uint32_t uidvalidity, struct tree_msgbuf *got)
{
	struct tree_node *n;
	bool moved = false;

	pthread_mutex_lock(&v->tree.lock);
	n = &v->tree.nodes[idx];
	if (n->state == TREE_READY && n->uidvalidity == uidvalidity) {
		int64_t seen = n->changed_ns;

		vfs_apply_flags(n, got, NULL, NULL);
		moved = n->changed_ns != seen;
	}
	n->status_time = 0;
	pthread_mutex_unlock(&v->tree.lock);
	if (moved)
		vfs_notify_inode(v, tree_dir_ino(idx));
}

int vfs_msg_setflags(struct vfs *v, uint64_t ino, uint32_t resolved_uv, uint64_t resolved_id,
		     const struct flags_change *c)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino), uid = tree_ino_uid(ino);
	struct session_flags add = { .sysflags = c->add_sys, .keywords = c->add_kw };
	struct session_flags del = { .sysflags = c->del_sys, .keywords = c->del_kw };
	struct tree_msgbuf got = { 0 };
	struct session *s;
	char *mailbox = NULL;
	uint32_t uidvalidity = 0;
	int rc;

	rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (idx >= t->n || tree_msg_find(&t->nodes[idx], uid) == NULL ||
	    !vfs_gmail_still(v, idx, uid, resolved_uv, resolved_id))
		rc = -ENOENT;	/* (Gmail: it left, or the folder was recreated, since resolved) */
	else if (!flag_exts_shown(&t->nodes[idx], c->add_kw) || !flag_exts_shown(&t->nodes[idx], c->del_kw))
		rc = -EINVAL;
	else if ((mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		uidvalidity = resolved_id != 0 ? resolved_uv : t->nodes[idx].uidvalidity;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	rc = vfs_store_session(v, idx, mailbox, uid, uidvalidity, resolved_id, &s);
	if (rc < 0)
		goto out;
	rc = session_store_uids(s, &uid, 1, c->replace, &add, &del, tree_msgbuf_add, &got);
	/* show what the server now has, not what we asked for: what its STORE
	 * answered (also after a refusal: a +FLAGS may have been done where
	 * the -FLAGS sent with it was not). Asked only when it said nothing,
	 * or left out MODSEQ under CONDSTORE (user.imap.modseq would lag),
	 * and on Gmail, where \Flagged moves a label */
	if (got.n > 0)
		flags_apply(v, idx, uidvalidity, &got);
	if (rc == 0 && (got.n == 0 || v->gm.on || (v->condstore && got.v[got.n - 1].modseq == 0)))
		rc = vfs_refresh_msg(v, s, idx, uidvalidity, uid);
	pool_checkin(v->pool, s);
	pthread_mutex_lock(&t->lock);
	t->nodes[idx].status_time = 0;
	pthread_mutex_unlock(&t->lock);
out:
	if (rc < 0)
		log_err("setting flags on %s UID %u failed: %s", mailbox, uid, strerror(-rc));
	tree_msgs_free(got.v, got.n);
	free(mailbox);
	return rc;
}

/* ---- imapfs flag: many messages of one folder --------------------------- */

/* The UIDs a batch names, sorted: a FETCH of their flags keeps only those
 * the STORE's answer left out (flags_missing). */
struct flags_wanted {
	const uint32_t *uids;
	size_t n;
	struct tree_msgbuf *got;
};

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int flags_wanted_cb(void *ctx, const struct session_msg *m)
{
	struct flags_wanted *w = ctx;

	if (bsearch(&m->uid, w->uids, w->n, sizeof(*w->uids), uid_cmp) == NULL)
		return 0;
	return tree_msgbuf_add(w->got, m);
}

/* The UIDS (N) a STORE's answer (GOT) said nothing of are asked for, in
 * one UID FETCH of their range (a server may not answer a STORE that
 * changed nothing); *GONE: how many are still missing, gone from the
 * server. 0 or the FETCH's -errno. */
static int flags_missing(struct session *s, const uint32_t *uids, size_t n, struct tree_msgbuf *got,
			 size_t *gone)
{
	uint32_t *miss = malloc(n * sizeof(*miss));
	size_t k = 0, before = got->n, i, j;
	int rc = 0;

	*gone = 0;
	if (miss == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (j = 0; j < got->n && got->v[j].uid != uids[i]; j++)
			;
		if (j == got->n)
			miss[k++] = uids[i];
	}
	if (k > 0) {
		struct flags_wanted w = { .uids = miss, .n = k, .got = got };

		rc = session_fetch_flags(s, miss[0], miss[k - 1], flags_wanted_cb, &w);
		*gone = k - (got->n - before);
	}
	free(miss);
	return rc;
}

/* The names in VAL (LEN bytes: "SPEC" then "\0name" per message) as the
 * sorted UIDs of node IDX, into malloc'd *UIDS (*N) and their folder's
 * *UIDVALIDITY. Nothing is sent: -ENOENT (logged) for a name that is not
 * a message of the folder, -EINVAL for an empty one or none at all. */
static int batch_uids(struct vfs *v, uint32_t idx, const char *val, size_t len, uint32_t **uids, size_t *n,
		      uint32_t *uidvalidity)
{
	const char *p = memchr(val, '\0', len), *end = val + len;
	size_t cap = 0, k = 0;
	uint32_t *u = NULL;
	int rc = 0;

	for (const char *q = p; q != NULL && q < end; q = memchr(q + 1, '\0', (size_t)(end - q - 1)))
		cap++;
	if (cap == 0 || (u = malloc(cap * sizeof(*u))) == NULL)
		return cap == 0 ? -EINVAL : -ENOMEM;
	while (rc == 0 && p != NULL && p + 1 < end) {
		size_t nlen = strnlen(p + 1, (size_t)(end - p - 1));
		char *name = strndup(p + 1, nlen);
		uint32_t uv;

		if (name == NULL) {
			rc = -ENOMEM;
		} else if (nlen == 0 || strchr(name, '/') != NULL) {
			log_err("imapfs flag: an empty name, or one with '/' in it; nothing changed");
			rc = -EINVAL;
		} else if (vfs_resolve_name(v, idx, name, &u[k], &uv, NULL) < 0) {
			log_err("imapfs flag: %s is not a message of that folder; nothing changed", name);
			rc = -ENOENT;
		} else if (k > 0 && uv != *uidvalidity) {
			rc = -ESTALE;	/* the folder was recreated meanwhile */
		} else {
			*uidvalidity = uv;
			k++;
		}
		free(name);
		p += nlen + 1;
	}
	if (rc == 0 && k == 0)
		rc = -EINVAL;
	if (rc < 0) {
		free(u);
		return rc;
	}
	qsort(u, k, sizeof(*u), uid_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (*n == 0 || u[i] != u[*n - 1])
			u[(*n)++] = u[i];
	*uids = u;
	return 0;
}

int vfs_flag_batch(struct vfs *v, uint64_t dir, const char *val, size_t len)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(dir), *uids = NULL, uidvalidity = 0;
	size_t speclen = strnlen(val, len), n = 0, gone = 0;
	struct flags_change c = { 0 };
	struct tree_msgbuf got = { 0 };
	struct session_flags add, del;
	struct session *s;
	char *mailbox = NULL;
	bool eq = speclen > 0 && val[0] == '=';
	int rc;

	if (v->cfg->ro)
		return -EROFS;
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, dir);
	if (rc == 0 && (idx == 0 || !t->nodes[idx].selectable))
		rc = -EINVAL;	/* no messages in it */
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	/* "=LIST" sets exactly LIST; else the grammar of user.imap.flags */
	rc = flags_parse(val + eq, speclen - eq, &c);
	if (rc == 0 && eq && !c.replace)
		rc = -EINVAL;
	if (rc < 0) {
		log_err("imapfs flag: cannot parse \"%.*s\" (expected e.g. \"+\\Seen\", \"-\\Flagged -$Todo\" "
			"or \"=\\Seen\")", (int)(speclen > 200 ? 200 : speclen), val);
		goto out;
	}
	if (v->gm.on && (c.add_sys & SESSION_F_DELETED)) {
		log_err("imapfs flag: \\Deleted is refused on Gmail (it takes the message out of the folder at "
			"once); use rm");
		rc = -EPERM;
		goto out;
	}
	rc = batch_uids(v, idx, val, len, &uids, &n, &uidvalidity);
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&t->lock);
	if (!flag_exts_shown(&t->nodes[idx], c.add_kw) || !flag_exts_shown(&t->nodes[idx], c.del_kw))
		rc = -EINVAL;
	else if ((mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		goto out;
	rc = vfs_session_checked(v, idx, mailbox, uidvalidity, uids[0], &s);
	if (rc < 0)
		goto out;
	add = (struct session_flags){ .sysflags = c.add_sys, .keywords = c.add_kw };
	del = (struct session_flags){ .sysflags = c.del_sys, .keywords = c.del_kw };
	rc = session_store_uids(s, uids, n, c.replace, &add, &del, tree_msgbuf_add, &got);
	if (rc == 0)
		rc = flags_missing(s, uids, n, &got, &gone);
	pool_checkin(v->pool, s);
	flags_apply(v, idx, uidvalidity, &got);
	if (rc == 0 && gone > 0) {
		log_warn("imapfs flag: %s: %zu of the %zu messages were gone from the server", mailbox, gone, n);
		rc = -ENOENT;
	}
	if (rc == 0)
		log_info("imapfs flag: %s: %zu messages changed (one UID STORE%s)", mailbox, n,
			 !c.replace && (add.sysflags || add.keywords) && (del.sysflags || del.keywords) ?
			 " of each kind" : "");
out:
	if (rc < 0 && rc != -ENOENT)
		log_err("imapfs flag failed: %s", strerror(-rc));
	tree_msgs_free(got.v, got.n);
	flags_change_free(&c);
	free(uids);
	free(mailbox);
	return rc;
}
