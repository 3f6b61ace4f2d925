/*
 * vfs_append — the APPEND of a new file's bytes (vfs_pending.c) when it
 * is closed: one attempt at a time on a session of the pool, the message
 * looked for (vfs_dedupe.c: Message-ID, then its bytes) before an APPEND
 * that may have reached the server is repeated, the stored message shown
 * at once: from what was sent when the server gave APPENDUID (one round
 * trip in all), else asked for (vfs_show_new). Moved from vfs_pending.c
 * (do_append there).
 */
#include "deadline.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_remove.h"
#include "vfs_pending.h"
#include "vfs_append.h"
#include "vfs_dedupe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * The message just stored as UID (APPENDUID, of UIDVALIDITY) in node IDX,
 * shown without asking: its size is what was sent (CSIZE, bare line ends
 * made CRLF), its INTERNALDATE DATE, its flags SYSFLAGS. Its MODSEQ is
 * not known (0) until the next look at the mailbox. Only where nothing
 * can differ: no keywords (a server may keep only those its
 * PERMANENTFLAGS allow), not on Gmail (labels). False when not shown so
 * (then vfs_show_new asks).
 */
static bool show_known(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, uint64_t csize,
		       int64_t date, uint8_t sysflags, const char *keywords)
{
	struct tree_msg m = { .uid = uid, .size = (uint32_t)csize, .claimed = (uint32_t)csize,
			      .date = date, .sysflags = sysflags };
	bool listed;

	if (uid == 0 || uidvalidity == 0 || csize > UINT32_MAX || v->gm.on ||
	    (keywords != NULL && keywords[0] != '\0'))
		return false;
	pthread_mutex_lock(&v->tree.lock);
	listed = v->tree.nodes[idx].state != TREE_READY || v->tree.nodes[idx].uidvalidity == uidvalidity;
	pthread_mutex_unlock(&v->tree.lock);
	/* (a mailbox not listed is listed with it when next needed) */
	return listed && vfs_insert_msg(v, idx, uidvalidity, &m, true) == 0;
}

/*
 * APPEND P's bytes to its mailbox. Called without locks, with p->busy set
 * by the caller (so no one else appends or frees it).
 */
int vfs_append(struct vfs *v, struct vfs_pending *p, uint32_t idx, const char *name,
		     uint64_t size, int64_t date, uint8_t sysflags, const char *keywords,
		     const struct alias_target *over, struct alias_target *stored)
{
	struct session_flags fl = { .sysflags = sysflags, .keywords = keywords };
	struct session_status st = { 0 };
	struct session *s = NULL;
	uint32_t uidvalidity = 0, uid = 0;
	char *mailbox, *data, *msgid = NULL, said[256];
	bool ambiguous = false, unsure = false, shown, searched;
	const struct tree_msg *m;
	uint64_t csize;
	uint32_t crc;
	int rc, attempt;

	pthread_mutex_lock(&v->tree.lock);
	mailbox = strdup(v->tree.nodes[idx].mailbox);
	pthread_mutex_unlock(&v->tree.lock);
	if (mailbox == NULL)
		return -ENOMEM;
	data = mmap(NULL, size, PROT_READ, MAP_SHARED, p->fd, 0);
	if (data == MAP_FAILED) {
		rc = -errno;
		free(mailbox);
		return rc;
	}
	msgid = vfs_find_msgid(data, size);
	crc = vfs_crlf_crc(data, size, &csize);

	/* already there (a restore run again): stored is what it is */
	rc = vfs_find_identical(v, idx, data, size, crc, over, &uid, &uidvalidity);
	if (rc == 1) {
		log_info("%s: %s is identical to UID %u already there; not appended again", mailbox, name,
			 uid);
		digests_note(&v->digests, idx, uidvalidity, uid, csize, crc);
		munmap(data, size);
		free(msgid);
		free(mailbox);
		*stored = (struct alias_target){ .node = idx, .uid = uid, .uidvalidity = uidvalidity,
						 .found = true };
		return 0;
	}
	if (rc < 0 && rc != -ENETDOWN)	/* (offline: the checkout below says so) */
		log_warn("%s: cannot check whether %s is already there (%s); appending it", mailbox, name,
			 strerror(-rc));

	/* the INTERNALDATE is always sent, so the stored message can be shown
	 * as it is without asking: the time set before closing, else now */
	if (date < 0)
		date = time(NULL);
	for (attempt = 0; attempt < 2; attempt++) {
		rc = pool_checkout(v->pool, mailbox, &s);
		if (rc < 0 && attempt == 1) {
			/* the first APPEND may have arrived: not knowable now */
			rc = -EIO;
			unsure = true;
		}
		if (rc < 0)
			break;
		ambiguous = false;	/* only an APPEND under way can be */
		/* Without UIDPLUS no APPENDUID will say which UID it got: the
		 * UIDs from here on are the new ones, where its Message-ID
		 * finds it (vfs_show_new). With it nothing is asked first. */
		rc = v->uidplus ? 0 : session_status(s, mailbox, &st);
		/* sending a large message takes its time: the deadline grows by
		 * a second per 64 KiB (imapfs.1, timeout=) */
		deadline_extend_ms((int64_t)(size / 65536) * 1000);
		said[0] = '\0';
		if (rc == 0) {
			rc = session_append(s, mailbox, &fl, date, data, size, &uidvalidity, &uid, &ambiguous);
			/* a refusal is final (never repeated) and the user needs the why */
			snprintf(said, sizeof(said), "%s", session_append_refusal(s));
		}
		/* ENETDOWN is kept for "offline, nothing sent" (vfs_append.h) */
		if (rc == -ENETDOWN)
			rc = -EIO;
		pool_checkin(v->pool, s);
		s = NULL;
		if (rc == 0 || !ambiguous)
			break;
		/* the outcome is unknown: look before doing anything again */
		log_warn("%s: connection lost during APPEND; checking whether the message arrived", mailbox);
		if (msgid == NULL) {
			log_err("%s: the message has no Message-ID, so whether it was stored cannot be "
				"checked; not repeating the APPEND", mailbox);
			rc = -EIO;
			unsure = true;
			break;
		}
		/* its bytes, not only its Message-ID: an older message with
		 * that Message-ID is not taken for it (UIDs >= STATUS's
		 * UIDNEXT, where that was asked, narrow the look) */
		rc = vfs_find_arrived(v, idx, data, size, st.uidnext, &uid, &uidvalidity);
		if (rc < 0) {
			log_err("%s: cannot check whether the message arrived; not repeating the APPEND", mailbox);
			rc = -EIO;
			unsure = true;
			break;
		}
		if (rc == 1) {
			log_info("%s: the message did arrive, as UID %u", mailbox, uid);
			rc = 0;
			break;
		}
		if (attempt == 1) {
			/* the repeat failed the same way: the close must say so
			 * (not succeed with nothing known to be stored) */
			rc = -EIO;
			unsure = true;
			break;
		}
		log_info("%s: the message did not arrive; sending it once more", mailbox);
	}
	munmap(data, size);
	if (rc == -ENETDOWN) {
		/* offline: the checkout sent nothing; pending_commit keeps it */
		free(msgid);
		free(mailbox);
		return rc;
	}
	if (rc < 0) {
		free(msgid);
		/* one line with all of it: `imapfs status` shows the last one */
		if (unsure)
			log_err("%s: APPEND of %s: the outcome is unknown (%s); it may have been stored: "
				"look in the mailbox before writing it again", mailbox, name, strerror(-rc));
		else if (said[0] != '\0')
			log_err("%s: APPEND of %s refused (%s), not stored; the server said: %s", mailbox,
				name, strerror(-rc), said);
		else
			log_err("%s: APPEND of %s failed (%s), not stored", mailbox, name, strerror(-rc));
		free(mailbox);
		return rc;
	}

	/* show it at once under its UID (or re-list when that fails). A
	 * server without UIDPLUS does not say the UID: the Message-ID among
	 * the UIDs new since the APPEND began tells it, so the name written
	 * can mean it (mv -t, sed -i look again) */
	searched = uid == 0;
	if (!show_known(v, idx, uid, uidvalidity, csize, date, sysflags, keywords))
		uid = vfs_show_new(v, idx, mailbox, uid, &uidvalidity, msgid, st.uidnext, &shown);
	if (searched && uid != 0) {
		/* another client's message with that Message-ID would have
		 * another size, most likely: then the name means nothing */
		pthread_mutex_lock(&v->tree.lock);
		m = shown ? tree_msg_find(&v->tree.nodes[idx], uid) : NULL;
		if (m == NULL || m->size != csize)
			uid = 0;
		pthread_mutex_unlock(&v->tree.lock);
	}
	if (uid != 0 && uidvalidity != 0)
		digests_note(&v->digests, idx, uidvalidity, uid, csize, crc);
	log_debug("%s: appended %" PRIu64 " bytes as UID %u", mailbox, size, uid);
	free(mailbox);
	free(msgid);
	*stored = (struct alias_target){ .node = idx, .uid = uid, .uidvalidity = uidvalidity, .appended = true };
	return 0;
}
