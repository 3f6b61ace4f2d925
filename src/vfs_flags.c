/*
 * vfs_flags — the flags of stored messages changed: one message's
 * user.imap.flags (vfs_msg_setflags, from vfs_xattr.c's setxattr),
 * many messages of one folder at once (vfs_flag_batch, `imapfs flag`),
 * and an edited message's, taken over from the message it replaces
 * (vfs_carry_flags; moved from vfs_remove.c, where it sent a FETCH, the
 * STORE and another FETCH one after the other).
 *
 * Each is one flight (session_store_uids): UID STORE .SILENT (or +FLAGS
 * and -FLAGS) and a UID FETCH of the same UIDs' flags (MODSEQ, Gmail's
 * labels), which the server runs after the STOREs; what that FETCH says
 * is what the model shows, not what was asked for. Where it does not
 * show the change, the STORE is sent once more: the connection had not
 * yet been told of a message that arrived since its last command (the
 * STORE then did nothing), and is by then; a message the FETCH does not
 * return is gone. Moved from vfs_xattr.c (the single change: then STORE,
 * wait, FETCH) and grown by the batch.
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

/* Change C on UID of node IDX through session S, in one flight, and show
 * what the server's FETCH then says (also after a refusal: a +FLAGS may
 * have been done where the -FLAGS sent with it was not). The STORE is sent
 * once more when that answer does not show the change: the connection
 * had not been told of the message when the STORE ran (it learns of new
 * mail at the end of a command), and is by then. -ENOENT when no answer
 * showed the message (gone from the server). */
static int store_one(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid,
		     const struct flags_change *c)
{
	struct session_flags add = { .sysflags = c->add_sys, .keywords = c->add_kw };
	struct session_flags del = { .sysflags = c->del_sys, .keywords = c->del_kw };
	struct tree_msgbuf got = { 0 };
	int rc = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		tree_msgs_free(got.v, got.n);
		memset(&got, 0, sizeof(got));
		rc = session_store_uids(s, &uid, 1, c->replace, &add, &del, tree_msgbuf_add, &got);
		if (rc < 0 || (got.n > 0 && flags_satisfied(c, got.v[got.n - 1].sysflags, got.v[got.n - 1].keywords)))
			break;
	}
	if (got.n > 0)
		flags_apply(v, idx, uidvalidity, &got);
	else if (rc == 0)
		rc = -ENOENT;
	tree_msgs_free(got.v, got.n);
	return rc;
}

int vfs_msg_setflags(struct vfs *v, uint64_t ino, uint32_t resolved_uv, uint64_t resolved_id,
		     const struct flags_change *c)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino), uid = tree_ino_uid(ino);
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
	else if (resolved_uv != 0 && resolved_uv != t->nodes[idx].uidvalidity)
		rc = -ESTALE;	/* recreated since the name was resolved: UID is another message */
	else if (!flag_exts_shown(&t->nodes[idx], c->add_kw) || !flag_exts_shown(&t->nodes[idx], c->del_kw))
		rc = -EINVAL;
	else if ((mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		uidvalidity = resolved_uv != 0 ? resolved_uv : t->nodes[idx].uidvalidity;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	rc = vfs_store_session(v, idx, mailbox, uid, uidvalidity, resolved_id, &s);
	if (rc < 0)
		goto out;
	rc = store_one(v, s, idx, uidvalidity, uid, c);
	pool_checkin(v->pool, s);
	pthread_mutex_lock(&t->lock);
	t->nodes[idx].status_time = 0;
	pthread_mutex_unlock(&t->lock);
out:
	if (rc < 0)
		log_err("setting flags on %s UID %u failed: %s", mailbox, uid, strerror(-rc));
	free(mailbox);
	return rc;
}

/* ---- imapfs flag: many messages of one folder --------------------------- */

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One answer of GOT: its UID and where it is, to find a UID's last one. */
struct flags_at {
	uint32_t uid;
	size_t at;
};

static int flags_at_cmp(const void *a, const void *b)
{
	const struct flags_at *x = a, *y = b;

	return x->uid != y->uid ? (x->uid < y->uid ? -1 : 1) : (x->at < y->at ? -1 : x->at > y->at);
}

/* The UIDS (N, sorted) whose last answer in GOT does not show change C
 * into OUT (room for N): *GONE of them have no answer at all. Returns
 * how many. */
static size_t flags_unshown(const struct flags_change *c, const uint32_t *uids, size_t n,
			    const struct tree_msgbuf *got, uint32_t *out, size_t *gone)
{
	struct flags_at *at = malloc((got->n + 1) * sizeof(*at));
	size_t k = 0, j = 0;

	*gone = 0;
	if (at == NULL) {
		memcpy(out, uids, n * sizeof(*uids));
		return n;	/* (then sent once more: harmless) */
	}
	for (size_t i = 0; i < got->n; i++)
		at[i] = (struct flags_at){ .uid = got->v[i].uid, .at = i };
	qsort(at, got->n, sizeof(*at), flags_at_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct tree_msg *m = NULL;

		while (j < got->n && at[j].uid <= uids[i]) {
			if (at[j].uid == uids[i])
				m = &got->v[at[j].at];
			j++;
		}
		if (m == NULL)
			(*gone)++;
		if (m == NULL || !flags_satisfied(c, m->sysflags, m->keywords))
			out[k++] = uids[i];
	}
	free(at);
	return k;
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
	size_t speclen = strnlen(val, len), n = 0, gone = 0, left = 0;
	struct flags_change c = { 0 };
	struct tree_msgbuf got = { 0 };
	struct session_flags add, del;
	struct session *s;
	char *mailbox = NULL;
	bool eq = speclen > 0 && val[0] == '=';
	int rc;

	rc = vfs_writable(v, "imapfs flag");
	if (rc < 0)
		return rc;
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
	/* those whose answer does not show the change: once more (the
	 * connection may not have known them yet: vfs_msg_setflags) */
	if (rc == 0 && (left = flags_unshown(&c, uids, n, &got, uids, &gone)) > 0)
		rc = session_store_uids(s, uids, left, c.replace, &add, &del, tree_msgbuf_add, &got);
	if (rc == 0 && left > 0)
		left = flags_unshown(&c, uids, left, &got, uids, &gone);
	pool_checkin(v->pool, s);
	flags_apply(v, idx, uidvalidity, &got);
	if (rc == 0 && left > 0) {
		log_warn("imapfs flag: %s: %zu of the %zu messages were gone from the server, %zu did not "
			 "take the change", mailbox, gone, n, left - gone);
		rc = gone > 0 ? -ENOENT : -EIO;
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

/* ---- an edit takes over the flags of the message it replaces ------------ */

void vfs_carry_flags(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t olduid, uint32_t newuid)
{
	struct tree *t = &v->tree;
	const struct tree_msg *o, *n;
	struct flags_change c = { .replace = true };
	struct session *s;
	char *mailbox = NULL;
	bool carry, nomem = false;
	int rc;

	pthread_mutex_lock(&t->lock);
	o = tree_msg_find(&t->nodes[idx], olduid);
	n = tree_msg_find(&t->nodes[idx], newuid);
	carry = o != NULL && n != NULL && t->nodes[idx].uidvalidity == uidvalidity && n->sysflags == 0 &&
		(n->keywords == NULL || n->keywords[0] == '\0') &&
		((o->sysflags & ~SESSION_F_DELETED) != 0 || (o->keywords != NULL && o->keywords[0] != '\0'));
	if (carry) {
		c.add_sys = o->sysflags & ~SESSION_F_DELETED;
		c.add_kw = o->keywords != NULL ? strdup(o->keywords) : NULL;
		mailbox = strdup(t->nodes[idx].mailbox);
		nomem = mailbox == NULL || (o->keywords != NULL && c.add_kw == NULL);
	}
	pthread_mutex_unlock(&t->lock);
	if (!carry)
		return;
	/* (vfs_store_session makes the connection learn of NEWUID first, or
	 * the STORE would quietly act on nothing); FLAGS.SILENT and the FETCH
	 * that shows the result, together, as setxattr */
	rc = nomem ? -ENOMEM : vfs_store_session(v, idx, mailbox, newuid, uidvalidity, 0, &s);
	if (rc == 0) {
		rc = store_one(v, s, idx, uidvalidity, newuid, &c);
		pool_checkin(v->pool, s);
	}
	if (rc < 0)
		log_warn("%s: UID %u replaces UID %u, but taking over its flags failed: %s",
			 mailbox ? mailbox : "?", newuid, olduid, strerror(-rc));
	free(c.add_kw);
	free(mailbox);
}
