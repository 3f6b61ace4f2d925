/*
 * vfs_xattr — extended attributes: user.imap.* on messages (flags, UID,
 * INTERNALDATE, MODSEQ, Gmail labels) and on mailboxes (attributes,
 * subscription, STATUS counters). getxattr and listxattr answer from the
 * model (a STATUS at most, reused for STATUS_TTL seconds); setxattr of
 * user.imap.flags is one flight of UID STORE (vfs_flags.c, also for
 * VFS_FLAG_XATTR on a folder: imapfs flag), of user.imap.subscribed one
 * SUBSCRIBE or UNSUBSCRIBE. Moved from vfs.c (reading) and vfs_change.c
 * (writing) unchanged.
 */
#include "cache.h"
#include "flags.h"
#include "log.h"
#include "names.h"
#include "pool.h"
#include "prefetch.h"
#include "rights.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_parts.h"
#include "vfs_base.h"
#include "vfs_flags.h"
#include "vfs_gmail.h"
#include "vfs_pending.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- extended attributes ----------------------------------------------- */

static const char *const file_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.modseq",
};
/* Gmail: user.imap.labels too (read-only modseq stays last, as above) */
static const char *const gmail_file_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.labels", "user.imap.modseq",
};
static const char *const dir_xattrs[] = {
	"user.imap.attributes", "user.imap.subscribed", "user.imap.messages", "user.imap.unseen",
	"user.imap.uidnext", "user.imap.uidvalidity",
};

static void date_string(const struct tree_msg *m, char *buf, size_t len)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t local = (time_t)(m->date + (int64_t)m->tz * 60);
	int tz = m->tz < 0 ? -m->tz : m->tz;
	struct tm tm;

	gmtime_r(&local, &tm);
	snprintf(buf, len, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, m->tz < 0 ? '-' : '+',
		 tz / 60, tz % 60);
}

/* user.imap.flags of M: whole up to FLAGS_XATTR_MAX bytes (what getxattr
 * can return), else cut after the last whole flag, with a log line. */
static int msg_flags_xattr(const struct tree_msg *m, char **val, size_t *len)
{
	size_t dropped;
	int rc = flags_format(m->sysflags, m->keywords, FLAGS_XATTR_MAX, val, len, &dropped);

	/* at warning level once (ls -l and getfattr ask again and again) */
	static bool warned;

	if (rc == 0 && dropped > 0)
		log_msg(__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED) ? LOG_DEBUG : LOG_WARNING,
			"UID %u: %zu of its flags are not shown in user.imap.flags (longer than %d "
			"bytes in all, or not IMAP atoms)", m->uid, dropped, FLAGS_XATTR_MAX);
	return rc;
}

/* A message this mount just moved in or stored is shown without its
 * MODSEQ there (0: no server gives that one); asked for when wanted. A
 * failure leaves 0 shown. */
static void modseq_known(struct vfs *v, uint64_t ino)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino), uid = tree_ino_uid(ino), uv;
	struct session *s;
	struct tree_msg *m;
	char *mailbox = NULL;

	if (vfs_lock_msg(v, ino, &m) < 0)
		return;
	if (m->modseq == 0)
		mailbox = strdup(t->nodes[idx].mailbox);
	uv = t->nodes[idx].uidvalidity;
	pthread_mutex_unlock(&t->lock);
	if (mailbox != NULL && vfs_session_checked(v, idx, mailbox, uv, uid, &s) == 0) {
		vfs_refresh_msg(v, s, idx, uv, uid);
		pool_checkin(v->pool, s);
	}
	free(mailbox);
}

static int msg_xattr(struct vfs *v, uint64_t ino, const char *name, char *out, size_t len,
		     char **big, size_t *biglen)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	struct tree_msg *m;
	int rc;

	if (v->condstore && strcmp(name, "user.imap.modseq") == 0)
		modseq_known(v, ino);
	rc = vfs_lock_msg(v, ino, &m);
	if (rc < 0)
		return rc;
	if (strcmp(name, "user.imap.flags") == 0)
		rc = msg_flags_xattr(m, big, biglen);
	else if (strcmp(name, "user.imap.uid") == 0)
		snprintf(out, len, "%" PRIu32, m->uid);
	else if (strcmp(name, "user.imap.internaldate") == 0)
		date_string(m, out, len);
	else if (strcmp(name, "user.imap.modseq") == 0 && v->condstore)
		snprintf(out, len, "%" PRIu64, m->modseq);
	else if (strcmp(name, "user.imap.labels") == 0)
		rc = vfs_gmail_labels_xattr(v, idx, m, big, biglen);
	else
		rc = -ENODATA;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int dir_status(struct vfs *v, uint32_t idx, struct session_status *st)
{
	struct tree *t = &v->tree;
	struct session *s;
	char *mailbox;
	time_t now = time(NULL);
	int rc;

	pthread_mutex_lock(&t->lock);
	if (t->nodes[idx].status_time != 0 && now - t->nodes[idx].status_time < STATUS_TTL) {
		*st = t->nodes[idx].status;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	mailbox = strdup(t->nodes[idx].mailbox);
	pthread_mutex_unlock(&t->lock);
	if (mailbox == NULL)
		return -ENOMEM;
	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		rc = session_status(s, mailbox, st);
		pool_checkin(v->pool, s);
	}
	free(mailbox);
	if (rc < 0)
		return rc;
	if (st->uidvalidity == 0)
		return 0;	/* not known yet (session_status): not kept */
	pthread_mutex_lock(&t->lock);
	t->nodes[idx].status = *st;
	t->nodes[idx].status_time = now;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int dir_xattr(struct vfs *v, uint64_t ino, const char *name, char *out, size_t len)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	struct session_status st;
	bool selectable;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, ino);
	if (rc == 0 && idx == 0)
		rc = -ENODATA;
	if (rc == 0 && strcmp(name, "user.imap.attributes") == 0) {
		snprintf(out, len, "%s", t->nodes[idx].attrs);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	if (rc == 0 && strcmp(name, "user.imap.subscribed") == 0) {
		snprintf(out, len, "%d", t->nodes[idx].subscribed ? 1 : 0);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	selectable = rc == 0 && t->nodes[idx].selectable;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (!selectable || strncmp(name, "user.imap.", 10) != 0)
		return -ENODATA;
	name += 10;
	if (strcmp(name, "messages") && strcmp(name, "unseen") && strcmp(name, "uidnext") &&
	    strcmp(name, "uidvalidity"))
		return -ENODATA;
	rc = dir_status(v, idx, &st);
	if (rc == 0 && st.uidvalidity == 0 && strcmp(name, "uidvalidity") == 0)
		rc = -EAGAIN;	/* the server has not told it yet (session_status) */
	if (rc < 0)
		return rc;
	snprintf(out, len, "%" PRIu32,
		 strcmp(name, "messages") == 0 ? st.messages :
		 strcmp(name, "unseen") == 0 ? st.unseen :
		 strcmp(name, "uidnext") == 0 ? st.uidnext : st.uidvalidity);
	return 0;
}

int vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, char **val, size_t *len)
{
	char buf[4096];
	int rc;

	/* only user.* exists here. Saying "not supported" (not "no such
	 * attribute") for security.selinux and system.posix_acl_access lets
	 * ls -l ask once per directory instead of twice per file */
	if (strncmp(name, "user.", 5) != 0)
		return -EOPNOTSUPP;
	if (vfs_ino_is_parts(ino))
		return vfs_parts_getxattr(v, ino, name, val, len);
	if (vfs_ino_is_pending(ino) || vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return -ENODATA;	/* set before close, applied by APPEND; a view or cur/ has none */
	rc = vfs_gmail_resolve(v, &ino);
	if (rc < 0)
		return rc;
	*val = NULL;
	rc = tree_ino_is_msg(ino) ? msg_xattr(v, ino, name, buf, sizeof(buf), val, len)
				  : dir_xattr(v, ino, name, buf, sizeof(buf));
	if (rc < 0 || *val != NULL)
		return rc;
	*val = strdup(buf);
	if (*val == NULL)
		return -ENOMEM;
	*len = strlen(buf);
	return 0;
}

int vfs_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len)
{
	const char *const *names;
	size_t n, i, total = 0;
	char *out;
	bool selectable = true;
	int rc = vfs_gmail_resolve(v, &ino);

	if (rc < 0)
		return rc;
	if (vfs_ino_is_parts(ino))
		return vfs_parts_listxattr(v, ino, list, len);
	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino)) {
		*list = NULL;	/* a search view or cur/ has no attributes */
		*len = 0;
		return 0;
	}

	if (vfs_ino_is_pending(ino)) {
		names = file_xattrs;
		n = 0;
	} else if (tree_ino_is_msg(ino)) {
		names = file_xattrs;
		n = v->condstore ? 4 : 3;
		if (v->gm.on) {
			names = gmail_file_xattrs;
			n = v->condstore ? 5 : 4;
		}
	} else {
		uint32_t idx = tree_ino_node(ino);

		pthread_mutex_lock(&v->tree.lock);
		if (vfs_check_dir_ino(v, ino) < 0) {
			pthread_mutex_unlock(&v->tree.lock);
			return -ENOENT;
		}
		selectable = v->tree.nodes[idx].selectable;
		pthread_mutex_unlock(&v->tree.lock);
		names = dir_xattrs;
		n = idx == 0 ? 0 : selectable ? 6 : 2;
	}
	for (i = 0; i < n; i++)
		total += strlen(names[i]) + 1;
	out = malloc(total + 1);
	if (out == NULL)
		return -ENOMEM;
	total = 0;
	for (i = 0; i < n; i++) {
		memcpy(out + total, names[i], strlen(names[i]) + 1);
		total += strlen(names[i]) + 1;
	}
	*list = out;
	*len = total;
	return 0;
}

/* ---- setting extended attributes ---------------------------------------- */

static int dir_subscribe(struct vfs *v, uint64_t ino, const char *val, size_t len)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	struct session *s;
	char *mailbox = NULL;
	bool on;
	int rc;

	while (len > 0 && (val[len - 1] == '\n' || val[len - 1] == '\0'))
		len--;
	if (len != 1 || (val[0] != '0' && val[0] != '1'))
		return -EINVAL;
	on = val[0] == '1';
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, ino);
	if (rc == 0 && idx == 0)
		rc = -EPERM;
	if (rc == 0 && (mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		rc = session_subscribe(s, mailbox, on);
		pool_checkin(v->pool, s);
	}
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		if (t->nodes[idx].subscribed != on)
			t->gen++;	/* the kept account state holds it (vfs_acct_keep) */
		t->nodes[idx].subscribed = on;
		pthread_mutex_unlock(&t->lock);
	}
	free(mailbox);
	return rc;
}

/*
 * Attributes that describe what the server holds (UID, MODSEQ, STATUS
 * counters, LIST attributes; INTERNALDATE of a stored message): a backup
 * made with rsync -X or cp -a carries them, and restoring it writes them
 * back. Such a write is accepted and changes nothing (imapfs.1,
 * EXTENDED ATTRIBUTES), so the restore exits 0; what getxattr shows stays
 * the server's. MSG: of a message (else of a mailbox).
 */
static bool server_state(const char *name, bool msg)
{
	static const char *const of_msg[] = { "uid", "modseq", "internaldate" };
	static const char *const of_dir[] = { "messages", "unseen", "uidnext", "uidvalidity", "attributes" };
	const char *const *list = msg ? of_msg : of_dir;
	size_t n = msg ? sizeof(of_msg) / sizeof(of_msg[0]) : sizeof(of_dir) / sizeof(of_dir[0]);

	if (strncmp(name, "user.imap.", 10) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(name + 10, list[i]) == 0) {
			log_debug("%s: written back (a restore?); it is the server's, left as it is", name);
			return true;
		}
	return false;
}

int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name, const char *val, size_t len)
{
	struct flags_change c;
	/* any message of a Gmail mount: past the msgid table's bound, or
	 * out of memory, a message may have a plain inode of its own */
	bool gm = v->gm.on && !vfs_ino_is_pending(ino);
	uint32_t uidvalidity;
	uint64_t msgid;
	int rc;

	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return -EPERM;	/* a search view or cur/ has no attributes to set */
	if (strcmp(name, VFS_FLAG_XATTR) == 0)	/* imapfs flag, on a folder */
		return vfs_ino_is_pending(ino) || tree_ino_is_msg(ino) ? -ENOTDIR : vfs_flag_batch(v, ino, val, len);
	if (strncmp(name, "user.imap.", 10) != 0)
		return -ENOTSUP;
	if (v->cfg->ro)
		return -EROFS;
	/* vfs_writable only before what reaches the server: a new file's
	 * flags and date, and what changes nothing, are local (offline too) */
	if (!vfs_ino_is_pending(ino) && !tree_ino_is_msg(ino)) {
		if (strcmp(name, "user.imap.subscribed") == 0)
			return (rc = vfs_writable(v, "setxattr")) < 0 ? rc : dir_subscribe(v, ino, val, len);
		return server_state(name, false) ? 0 : -EPERM;
	}
	/* a message being written over: the attributes are the new one's */
	if (!vfs_ino_is_pending(ino) && !gmail_ino_is(ino) && pending_over_ino(v, ino) != 0)
		ino = pending_over_ino(v, ino);
	if (vfs_ino_is_pending(ino) && strcmp(name, "user.imap.internaldate") == 0)
		return pending_setdate(v, ino, val, len);
	if (server_state(name, true) || (vfs_ino_is_pending(ino) && strcmp(name, "user.imap.labels") == 0))
		return 0;
	if (strcmp(name, "user.imap.labels") != 0 && strcmp(name, "user.imap.flags") != 0)
		return -EPERM;
	if (strcmp(name, "user.imap.flags") == 0) {
		rc = flags_parse(val, len, &c);
		if (rc < 0) {
			log_err("user.imap.flags: cannot parse \"%.*s\" (expected e.g. \"\\Seen $Label1\", "
				"\"+\\Flagged\" or \"-\\Seen\")", (int)(len > 200 ? 200 : len), val);
			return rc;
		}
	}
	if (strcmp(name, "user.imap.flags") == 0 && gm && (c.add_sys & SESSION_F_DELETED)) {
		/* \Deleted would act on whichever folder the inode was found
		 * in, not the one named, and Gmail's auto-expunge takes it out
		 * of that folder at once (from All Mail: to Trash or for ever).
		 * Refused before anything is looked up or sent. */
		log_err("user.imap.flags: \\Deleted is refused on Gmail (it would act on the message in "
			"whatever folder, not on the name written to); use rm on the name instead");
		rc = -EPERM;
		goto out;
	}
	if (!vfs_ino_is_pending(ino) && (rc = vfs_writable(v, "setxattr")) < 0)
		goto out;
	/* Gmail: one inode, many folders; the kernel gives the inode, not
	 * the name written through, so the place is chosen here */
	rc = vfs_gmail_resolve_write(v, &ino, &uidvalidity, &msgid);
	if (rc < 0)
		goto out;
	if (strcmp(name, "user.imap.labels") == 0) {
		rc = vfs_ino_is_pending(ino) ? -EPERM : vfs_gmail_setlabels(v, ino, uidvalidity, msgid, val, len);
		return rc;
	}
	if (vfs_ino_is_pending(ino) && ((c.add_kw != NULL && (c.add_kw[0] == '\\' || strstr(c.add_kw, " \\"))) ||
					(c.del_kw != NULL && (c.del_kw[0] == '\\' || strstr(c.del_kw, " \\"))))) {
		/* a new message has no flag extension the server showed */
		log_err("user.imap.flags: a flag extension (\\Name) cannot be set on a new message");
		rc = -EINVAL;
	} else {
		rc = vfs_ino_is_pending(ino) ? pending_setflags(v, ino, &c) : vfs_msg_setflags(v, ino, uidvalidity, msgid, &c);
	}
out:
	if (strcmp(name, "user.imap.flags") == 0)
		flags_change_free(&c);
	return rc;
}

int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name)
{
	bool msg = vfs_ino_is_pending(ino) || tree_ino_is_msg(ino);
	struct flags_change none = { .replace = true };

	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return -EPERM;
	if (strncmp(name, "user.imap.", 10) != 0)
		return -ENOTSUP;
	/* (nothing here reaches the server: no vfs_writable, offline too) */
	if (v->cfg->ro)
		return -EROFS;
	/* rsync -X removes what its source lacks: nothing to remove there
	 * (a mailbox's subscription is changed by writing 0 or 1 only) */
	if (server_state(name, msg) || (vfs_ino_is_pending(ino) && strcmp(name, "user.imap.labels") == 0) ||
	    (!msg && strcmp(name, "user.imap.subscribed") == 0))
		return 0;
	/* a new file's flags are ours until it is stored */
	if (vfs_ino_is_pending(ino) && strcmp(name, "user.imap.flags") == 0)
		return pending_setflags(v, ino, &none);
	/* write "" to user.imap.flags to clear a message's flags */
	return -EPERM;
}
