/*
 * vfs_remove — one stored message leaving or replaced: whether it can be
 * removed alone (vfs_can_remove) or replaced (vfs_may_replace), the rm
 * itself (vfs_remove_msg: UID STORE and UID EXPUNGE in one flight, an
 * unknown outcome checked; or UID MOVE to \Trash), keeping a
 * copy for names written as copies of it (vfs_keep_found_copy), and
 * showing the message that takes its place (vfs_show_new,
 * vfs_carry_flags). Shared by rm and mv (vfs_change.c) and by a new file's
 * APPEND at close (vfs_pending.c); moved here from vfs_change.c unchanged so
 * that neither of those calls the other.
 */
#include "log.h"
#include "pool.h"
#include "rights.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_remove.h"
#include "vfs_gmail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t vfs_show_new(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid, uint32_t *uidvalidity,
		      const char *mid, uint32_t since, bool *shown)
{
	struct session_mbox mb;
	struct session *s;
	bool made = uid != 0;	/* the server said our command made it (watcher: vfs_refresh_new) */

	*shown = false;
	if ((uid != 0 || (mid != NULL && since != 0)) && vfs_session(v, mailbox, &s, &mb) == 0) {
		if (uid == 0 && session_search_msgid(s, mid, since, &uid) == 0 && uid != 0)
			*uidvalidity = mb.uidvalidity;
		if (uid != 0 && (*uidvalidity == 0 || mb.uidvalidity == *uidvalidity))
			*shown = (made ? vfs_refresh_new : vfs_refresh_msg)(v, s, idx, mb.uidvalidity, uid) == 0;
		pool_checkin(v->pool, s);
	}
	if (!*shown) {
		pthread_mutex_lock(&v->tree.lock);
		if (v->tree.nodes[idx].state == TREE_READY)
			v->tree.nodes[idx].state = TREE_UNLOADED;
		pthread_mutex_unlock(&v->tree.lock);
	}
	return uid;
}

/* The \Trash special-use mailbox, or -1. Tree lock held. */
static long trash_mailbox(const struct tree *t)
{
	size_t i;

	for (i = 1; i < t->n; i++)
		if (!t->nodes[i].hidden && t->nodes[i].selectable && strstr(t->nodes[i].attrs, "\\Trash"))
			return (long)i;
	return -1;
}

/* Message UID of node IDX (MAILBOX, selected on S) is about to leave it
 * (rm, mv, replaced). A name written with its bytes while it was there
 * stands for a copy that was never stored (aliases.h, FOUND): that name
 * gets a real one first, UID COPY into the same mailbox, so it does not
 * lose its message with this one. *COPY: the copy's UID (0: the server
 * did not say; UINT32_MAX: none was needed). */
int vfs_keep_found_copy(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
			   const char *mailbox, uint32_t *copy)
{
	struct alias_target was = { .node = idx, .uid = uid, .uidvalidity = uidvalidity };
	int rc;

	*copy = UINT32_MAX;
	if (!aliases_found_to(&v->aliases, &was, vfs_now_s()))
		return 0;
	rc = session_copy(s, uid, mailbox, copy);
	if (rc < 0) {
		log_err("%s UID %u: a file written as a copy of it still needs it, and making that copy "
			"failed (%s); left where it is", mailbox, uid, strerror(-rc));
		return rc;
	}
	log_info("%s UID %u: copied (UID %u) for the names written as copies of it", mailbox, uid, *copy);
	if (*copy != 0)
		aliases_found_retarget(&v->aliases, &was,
				       &(struct alias_target){ .node = idx, .uid = *copy, .uidvalidity = uidvalidity,
							       .appended = true },
				       vfs_now_s());
	return 0;
}

/* Show COPY (vfs_keep_found_copy) in node IDX, or re-list it when that fails
 * or the copy's UID is not known; nothing for UINT32_MAX. */
void vfs_show_copy(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t copy)
{
	uint32_t any = 0;
	bool shown;

	if (copy != UINT32_MAX)
		vfs_show_new(v, idx, mailbox, copy, &any, NULL, 0, &shown);
}

bool vfs_can_remove(struct vfs *v, uint32_t idx)
{
	long tr;

	if (v->uidplus)
		return true;
	pthread_mutex_lock(&v->tree.lock);
	tr = trash_mailbox(&v->tree);
	pthread_mutex_unlock(&v->tree.lock);
	return v->move && tr >= 0 && (uint32_t)tr != idx;
}

bool vfs_may_replace(struct vfs *v, const struct alias_target *target, const char *name)
{
	/* (a name that found it already there gets its own copy first when
	 * it goes: vfs_remove_msg) */
	if (aliases_appended_elsewhere(&v->aliases, target, name, vfs_now_s())) {
		log_info("%s: UID %u was stored a moment ago for another file; not replaced", name,
			 target->uid);
		return false;
	}
	return true;
}

/* What a flags FETCH of one UID found (rm_check). */
struct rm_seen {
	bool found;
	uint8_t sysflags;
};

static int rm_seen_cb(void *ctx, const struct session_msg *m)
{
	struct rm_seen *r = ctx;

	r->found = true;
	r->sysflags = m->sysflags;
	return 0;
}

/*
 * An rm whose outcome is not known (session_remove_uid: the connection
 * broke after UID STORE and UID EXPUNGE were sent, say): look, on a fresh
 * selection of MAILBOX (another connection's expunge shows there only
 * then), whether UID is still there, rather than send anything again.
 * Gone: 0, the rm happened. There with a \Deleted it did not have before
 * (WAS_DELETED): the STORE ran and the EXPUNGE did not, so \Deleted is
 * taken off again (no later EXPUNGE by another client removes a message
 * whose rm failed), and RC stays; also when the check itself fails.
 */
static int rm_check(struct vfs *v, const char *mailbox, uint32_t uidvalidity, uint32_t uid, bool was_deleted,
		    const char *name, int rc)
{
	struct session_flags del = { .sysflags = SESSION_F_DELETED };
	struct rm_seen seen = { 0 };
	struct session_mbox mb;
	struct session *s;
	int r;

	r = pool_checkout(v->pool, mailbox, &s);
	if (r < 0)
		goto out;
	session_forget_selection(s);
	r = session_select(s, mailbox, v->cfg->ro, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST), &mb);
	if (r == 0 && mb.uidvalidity != uidvalidity)
		r = -ESTALE;
	if (r == 0)
		r = session_fetch_flags(s, uid, uid, rm_seen_cb, &seen);
	if (r == 0 && !seen.found) {
		log_info("rm %s/%s: the outcome was unknown; checked: UID %u is gone, so it was removed",
			 mailbox, name, uid);
		rc = 0;
	} else if (r == 0 && (seen.sysflags & SESSION_F_DELETED) && !was_deleted) {
		log_info("rm %s/%s: checked: UID %u is still there, marked \\Deleted; taking that off again",
			 mailbox, name, uid);
		r = session_store(s, uid, SESSION_STORE_REMOVE, &del);
	} else if (r == 0) {
		log_info("rm %s/%s: checked: UID %u is still there", mailbox, name, uid);
	}
	pool_checkin(v->pool, s);
out:
	if (r < 0)
		log_err("rm %s/%s: the outcome was unknown and checking it failed (%s): UID %u may or may not "
			"be gone", mailbox, name, strerror(-r), uid);
	return rc;
}

int vfs_remove_msg(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, const char *name)
{
	struct tree *t = &v->tree;
	struct session *s;
	uint32_t newuid, newuv, copy = UINT32_MAX;
	uint64_t msgid;
	char *mailbox = NULL, *trash = NULL;
	bool was_deleted = false, ambiguous = false;
	struct tree_msg *m;
	long tr;
	int rc;

	rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if ((m = tree_msg_find(&t->nodes[idx], uid)) == NULL)
		rc = -ENOENT;
	else if (uidvalidity != 0 && uidvalidity != t->nodes[idx].uidvalidity)
		rc = -ESTALE;	/* the mailbox was recreated: UID is another message */
	else
		rc = rights_check(t->nodes[idx].rights, "te", false, "rm in", t->nodes[idx].mailbox);
	if (rc == 0 && (mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		was_deleted = (m->sysflags & SESSION_F_DELETED) != 0;
	uidvalidity = t->nodes[idx].uidvalidity;
	if (rc == 0 && !v->uidplus) {
		tr = trash_mailbox(t);
		if (tr < 0 || (uint32_t)tr == idx || !v->move) {
			log_err("rm %s/%s: the server has no UIDPLUS, so it cannot expunge one message "
				"without possibly expunging others marked \\Deleted; refusing "
				"(a \\Trash mailbox and MOVE would be used instead)", mailbox, name);
			rc = -EPERM;
		} else if ((trash = strdup(t->nodes[tr].mailbox)) == NULL) {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		goto out;

	msgid = vfs_gmail_msgid(v, idx, uid);
	rc = vfs_session_checked(v, idx, mailbox, uidvalidity, uid, &s);
	if (rc < 0)
		goto out;
	rc = vfs_keep_found_copy(v, s, idx, uid, uidvalidity, mailbox, &copy);
	if (rc < 0) {
		pool_checkin(v->pool, s);
		goto out;
	}
	if (trash == NULL) {
		rc = session_remove_uid(s, uid, was_deleted, &ambiguous);
	} else {
		rc = session_move(s, uid, trash, &newuid, &newuv);
		if (rc == 0)
			log_info("rm %s/%s: moved to %s (server without UIDPLUS)", mailbox, name, trash);
	}
	pool_checkin(v->pool, s);
	if (rc < 0 && ambiguous)
		rc = rm_check(v, mailbox, uidvalidity, uid, was_deleted, name, rc);
	vfs_show_copy(v, idx, mailbox, copy);	/* also when the removal failed */
	if (rc < 0) {
		log_err("rm %s/%s failed: %s", mailbox, name, strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	tree_msg_remove(&t->nodes[idx], uid);
	t->nodes[idx].status_time = 0;
	if (trash != NULL && (tr = trash_mailbox(t)) >= 0 && t->nodes[tr].state == TREE_READY)
		t->nodes[tr].state = TREE_UNLOADED;	/* re-list to show it there */
	pthread_mutex_unlock(&t->lock);
	vfs_gmail_moved(v, idx, 0, msgid);	/* Gmail: its other folders see the change */
out:
	free(mailbox);
	free(trash);
	return rc;
}
