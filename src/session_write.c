/*
 * session_write — the commands that change the account, one at a time:
 * STORE of flags and Gmail labels, MOVE and COPY, CREATE, DELETE, RENAME,
 * SUBSCRIBE, APPEND (session_store.c sends the flags changes and rm's
 * STORE + UID EXPUNGE in one flight). Never a bare EXPUNGE and never a
 * CLOSE of a read-write selection: both would remove every message marked
 * \Deleted, by whichever client. Every name and flag passes the wire gate
 * first.
 */
#include "session.h"
#include "session_int.h"
#include "errmap.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>

/* ---- changes -------------------------------------------------------------- */

/* Build a libetpan flag list from our flag set. NULL on ENOMEM. */
static struct mailimap_flag_list *flag_list_new(const struct session_flags *f)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	const char *p;

	if (fl == NULL)
		return NULL;
	if (f->sysflags & SESSION_F_SEEN)
		mailimap_flag_list_add(fl, mailimap_flag_new_seen());
	if (f->sysflags & SESSION_F_ANSWERED)
		mailimap_flag_list_add(fl, mailimap_flag_new_answered());
	if (f->sysflags & SESSION_F_FLAGGED)
		mailimap_flag_list_add(fl, mailimap_flag_new_flagged());
	if (f->sysflags & SESSION_F_DELETED)
		mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
	if (f->sysflags & SESSION_F_DRAFT)
		mailimap_flag_list_add(fl, mailimap_flag_new_draft());
	for (p = f->keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0) {
			char *kw = p[0] == '\\' ? strndup(p + 1, n - 1) : strndup(p, n);

			if (kw == NULL) {
				mailimap_flag_list_free(fl);
				return NULL;
			}
			mailimap_flag_list_add(fl, p[0] == '\\' ? mailimap_flag_new_flag_extension(kw)
								: mailimap_flag_new_flag_keyword(kw));
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return fl;
}

int session_store(struct session *s, uint32_t uid, enum session_store_op op,
		  const struct session_flags *f)
{
	struct mailimap_store_att_flags *sa = NULL;
	struct mailimap_flag_list *fl;
	struct mailimap_set *set;
	int rc;

	if (session_gate_flags(s, "UID STORE", f) < 0)
		return -EINVAL;
	if (session_keywords_allowed(s, op, f) < 0)
		return -EPERM;
	fl = flag_list_new(f);
	set = mailimap_set_new_single(uid);
	if (fl != NULL)
		sa = op == SESSION_STORE_ADD ? mailimap_store_att_flags_new_add_flags_silent(fl) :
		     op == SESSION_STORE_REMOVE ? mailimap_store_att_flags_new_remove_flags_silent(fl) :
		     mailimap_store_att_flags_new_set_flags_silent(fl);
	if (sa == NULL || set == NULL) {
		if (sa == NULL && fl != NULL)
			mailimap_flag_list_free(fl);
		rc = -ENOMEM;
		goto out;
	}
	session_doing(s, "UID STORE %s %u FLAGS", s->selected ? s->selected : "", uid);
	rc = session_rc(s, mailimap_uid_store(s->imap, set, sa), "UID STORE");
out:
	if (sa)
		mailimap_store_att_flags_free(sa);
	if (set)
		mailimap_set_free(set);
	return rc;
}

int session_store_labels(struct session *s, uint32_t uid, enum session_store_op op, const char *labels)
{
	struct mailimap_msg_att_xgmlabels *l = NULL;
	struct mailimap_set *set = NULL;
	const char *p;
	int rc;

	if (wire_label_list(labels) < 0) {
		log_err("imap[%d]: UID STORE X-GM-LABELS: refusing a label that is not printable ASCII",
			s->id);
		return -EINVAL;
	}
	l = mailimap_msg_att_xgmlabels_new_empty();
	set = mailimap_set_new_single(uid);
	if (l == NULL || set == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (p = labels; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		char *one = strndup(p, n);

		if (one == NULL || mailimap_msg_att_xgmlabels_add(l, one) != 0) {
			free(one);
			rc = -ENOMEM;
			goto out;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	session_doing(s, "UID STORE %s %u X-GM-LABELS", s->selected ? s->selected : "", uid);
	rc = session_rc(s, mailimap_uid_store_xgmlabels(s->imap, set,
							 op == SESSION_STORE_ADD ? 1 : op == SESSION_STORE_REMOVE ? -1 : 0,
							 1, l), "UID STORE X-GM-LABELS");
out:
	session_labels_list_free(l);
	if (set)
		mailimap_set_free(set);
	return rc;
}

static uint32_t set_first_uid(struct mailimap_set *set)
{
	struct mailimap_set_item *item;

	if (set == NULL || set->set_list == NULL || clist_begin(set->set_list) == NULL)
		return 0;
	item = clist_content(clist_begin(set->set_list));
	return item->set_first;
}

/* UID MOVE (MOVE) or UID COPY of UID to DEST; *NEW_UID and *UIDVALIDITY
 * from COPYUID (0 when the server did not say). */
static int uid_transfer(struct session *s, uint32_t uid, const char *dest, bool move, uint32_t *new_uid,
			uint32_t *uidvalidity)
{
	struct mailimap_set *set, *src = NULL, *dst = NULL;
	int rc;

	*new_uid = 0;
	*uidvalidity = 0;
	rc = session_gate(s, move ? "UID MOVE" : "UID COPY", dest);
	if (rc < 0)
		return rc;
	set = mailimap_set_new_single(uid);
	if (set == NULL)
		return -ENOMEM;
	session_doing(s, "UID %s %s %u %s", move ? "MOVE" : "COPY", s->selected ? s->selected : "", uid, dest);
	if (move)
		rc = session_rc(s, mailimap_uidplus_uid_move(s->imap, set, dest, uidvalidity, &src, &dst),
				"UID MOVE");
	else
		rc = session_rc(s, mailimap_uidplus_uid_copy(s->imap, set, dest, uidvalidity, &src, &dst),
				"UID COPY");
	*new_uid = set_first_uid(dst);
	if (*new_uid == 0)
		*uidvalidity = 0;
	if (src)
		mailimap_set_free(src);
	if (dst)
		mailimap_set_free(dst);
	mailimap_set_free(set);
	return rc;
}

int session_copy(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid)
{
	uint32_t uidvalidity;

	return uid_transfer(s, uid, dest, false, new_uid, &uidvalidity);
}

int session_move(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid, uint32_t *uidvalidity)
{
	int rc;

	*new_uid = 0;
	*uidvalidity = 0;
	if (session_has_cap(s, "MOVE"))
		return uid_transfer(s, uid, dest, true, new_uid, uidvalidity);
	if (!session_has_cap(s, "UIDPLUS")) {
		/* COPY would work, but removing the original then needs a bare
		 * EXPUNGE that takes every other \Deleted message too */
		log_err("imap[%d]: the server has neither MOVE nor UIDPLUS: a message cannot be moved "
			"without risking other messages marked \\Deleted; refusing", s->id);
		return -EPERM;
	}
	rc = uid_transfer(s, uid, dest, false, new_uid, uidvalidity);
	/* the copy exists now: only then remove this one UID from here */
	if (rc == 0)
		rc = session_expunge_uid(s, uid);
	return rc;
}

/*
 * Leave MAILBOX if this connection has it selected (with SUBTREE, also a
 * mailbox whose name begins with it: a child, or now and then a sibling
 * that shares the prefix, which costs one needless round trip). Some
 * servers refuse DELETE, RENAME and APPEND of the mailbox the connection
 * has open ("NO Cannot delete currently-open folder."). UNSELECT where
 * offered (RFC 3691); otherwise EXAMINE it, since switching the selection
 * expunges nothing, and then CLOSE, which after EXAMINE expunges nothing
 * either. A read-write selection is never CLOSEd: that would expunge
 * every message marked \Deleted, by whichever client.
 */
static int session_leave(struct session *s, const char *mailbox, bool subtree)
{
	size_t n = strlen(mailbox);
	int rc = 0;

	if (s->open == NULL || strncmp(s->open, mailbox, n) != 0 || (!subtree && s->open[n] != '\0'))
		return 0;
	session_forget_selection(s);
	if (session_has_cap(s, "UNSELECT")) {
		rc = session_rc(s, mailimap_custom_command(s->imap, "UNSELECT"), "UNSELECT");
	} else {
		if (!s->open_ro) {
			rc = session_rc(s, mailimap_examine(s->imap, s->open), "EXAMINE");
			session_opened(s, s->open, true, rc);
		}
		/* a failed EXAMINE leaves nothing selected (RFC 3501 6.3.1):
		 * no CLOSE then, and above all none on the read-write one */
		if (rc == 0 && s->open != NULL && !s->open_ro) {
			/* EXAMINE answered without [READ-ONLY]: a CLOSE might
			 * expunge. Dropping the connection expunges nothing. */
			log_warn("imap[%d]: %s: EXAMINE did not say READ-ONLY; dropping the connection "
				 "rather than CLOSE it", s->id, s->open);
			s->broken = true;
			rc = -EIO;
		} else if (rc == 0) {
			rc = session_rc(s, mailimap_close(s->imap), "CLOSE");
		} else if (!s->broken) {
			rc = 0;
		}
	}
	session_opened(s, mailbox, false, -1);
	if (rc == 0)
		s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return rc;
}

int session_create(struct session *s, const char *mailbox)
{
	if (session_gate(s, "CREATE", mailbox) < 0)
		return -EINVAL;
	session_doing(s, "CREATE %s", mailbox);
	/* NO [ALREADYEXISTS] is checked by the caller (vfs_mkdir), which logs
	 * an error if it is one */
	return session_rc_expected(s, mailimap_create(s->imap, mailbox), "CREATE", "ALREADYEXISTS");
}

int session_delete(struct session *s, const char *mailbox)
{
	if (session_gate(s, "DELETE", mailbox) < 0)
		return -EINVAL;
	if (session_leave(s, mailbox, true) < 0)
		return -EIO;
	session_doing(s, "DELETE %s", mailbox);
	return session_rc(s, mailimap_delete(s->imap, mailbox), "DELETE");
}

int session_rename(struct session *s, const char *from, const char *to)
{
	if (session_gate(s, "RENAME", from) < 0 || session_gate(s, "RENAME", to) < 0)
		return -EINVAL;
	if (session_leave(s, from, true) < 0)
		return -EIO;
	if (s->selected != NULL) {
		/* our idea of the selected name is stale after a rename */
		free(s->selected);
		s->selected = NULL;
	}
	session_doing(s, "RENAME %s %s", from, to);
	return session_rc(s, mailimap_rename(s->imap, from, to), "RENAME");
}

int session_subscribe(struct session *s, const char *mailbox, bool on)
{
	if (session_gate(s, on ? "SUBSCRIBE" : "UNSUBSCRIBE", mailbox) < 0)
		return -EINVAL;
	return on ? session_rc(s, mailimap_subscribe(s->imap, mailbox), "SUBSCRIBE")
		  : session_rc(s, mailimap_unsubscribe(s->imap, mailbox), "UNSUBSCRIBE");
}

uint64_t session_append_limit(const struct session *s)
{
	struct mailimap_connection_info *ci = s->imap->imap_connection_info;
	uint64_t limit = WIRE_LITERAL_MAX;
	clistiter *it;

	if (ci == NULL || ci->imap_capability == NULL)
		return limit;
	for (it = clist_begin(ci->imap_capability->cap_list); it != NULL; it = clist_next(it)) {
		struct mailimap_capability *c = clist_content(it);
		const char *v;
		char *end;
		unsigned long long n;

		if (c->cap_type != MAILIMAP_CAPABILITY_NAME || c->cap_data.cap_name == NULL ||
		    strncasecmp(c->cap_data.cap_name, "APPENDLIMIT=", 12) != 0)
			continue;
		/* RFC 7889: APPENDLIMIT=N is the server-wide limit; a bare
		 * APPENDLIMIT (per mailbox) tells us nothing we can use here */
		v = c->cap_data.cap_name + 12;
		errno = 0;
		n = strtoull(v, &end, 10);
		if (*v >= '0' && *v <= '9' && *end == '\0' && errno == 0 && n < limit)
			limit = n;
	}
	return limit;
}

/* May LEN bytes of DATA go out as one APPEND literal? libetpan sends them
 * with every bare CR or LF made CRLF, so that is the size that counts. */
static int session_append_fits(struct session *s, const char *mailbox, const char *data, size_t len)
{
	uint64_t limit = session_append_limit(s);
	uint64_t wire_len;

	if (len > limit)
		wire_len = len;	/* no need to count: too big already */
	else
		wire_len = mailstream_get_data_crlf_size(data, len);
	if (wire_len <= limit)
		return 0;
	log_err("imap[%d]: APPEND to %s: the message is %" PRIu64 " bytes on the wire, more than %s "
		"(%" PRIu64 "); not sent", s->id, mailbox, wire_len,
		limit < WIRE_LITERAL_MAX ? "the server's APPENDLIMIT" : "IMAP can send in one piece",
		limit);
	return -EFBIG;
}

/* The largest message sent in one flight with its APPEND (LITERAL+). */
#define APPEND_ONE_FLIGHT_MAX (1u << 20)

/* libetpan's APPEND, which waits for "+ go ahead" before the message: for
 * servers without a non-synchronizing literal, and large messages. As
 * session_append_pipe. */
static int append_classic(struct session *s, const char *mailbox, const struct session_flags *f, int64_t date,
			  const char *data, size_t len, bool quiet_no, uint32_t *uidvalidity, uint32_t *uid,
			  bool *refused, bool *ambiguous)
{
	struct mailimap_date_time *dt = NULL;
	struct mailimap_flag_list *fl = flag_list_new(f);
	int r;

	if (fl == NULL)
		return -ENOMEM;
	if (date >= 0) {
		time_t t = (time_t)date;
		struct tm tm;

		gmtime_r(&t, &tm);
		dt = mailimap_date_time_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
					    tm.tm_hour, tm.tm_min, tm.tm_sec, 0);
		if (dt == NULL) {
			mailimap_flag_list_free(fl);
			return -ENOMEM;
		}
	}
	r = mailimap_uidplus_append(s->imap, mailbox, fl, dt, data, len, uidvalidity, uid);
	mailimap_flag_list_free(fl);
	if (dt)
		mailimap_date_time_free(dt);
	*refused = r == MAILIMAP_ERROR_APPEND;
	if (errmap_is_fatal(r))
		*ambiguous = true;	/* it may have been stored before the link broke */
	else if (r != MAILIMAP_NO_ERROR)
		session_note_refusal(s);
	if (*refused && quiet_no) {
		/* the caller asks once more: not logged as a refusal */
		session_rc(s, MAILIMAP_NO_ERROR, "APPEND");
		return -errmap_etpan(r, session_code(s));
	}
	return session_rc(s, r, "APPEND");
}

int session_append(struct session *s, const char *mailbox, const struct session_flags *f,
		   int64_t date, const char *data, size_t len, uint32_t *uidvalidity,
		   uint32_t *uid, bool *ambiguous)
{
	struct mailimap_selection_info *si = s->imap->imap_selection_info;
	uint32_t exists = si != NULL ? si->sel_exists : 0;
	bool refused = false, open_here;
	int rc;

	*ambiguous = false;
	*uid = 0;
	*uidvalidity = 0;
	s->refusal[0] = '\0';
	if (session_gate(s, "APPEND", mailbox) < 0 || session_gate_flags(s, "APPEND", f) < 0)
		return -EINVAL;
	rc = session_append_fits(s, mailbox, data, len);
	if (rc < 0)
		return rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		open_here = s->open != NULL && strcmp(s->open, mailbox) == 0;
		s->refusal[0] = '\0';
		session_doing(s, "APPEND %s (%zu bytes)", mailbox, len);
		/* a large one waits for the go-ahead: a server that refuses it
		 * (over quota, too big) then does so before the bytes go out */
		rc = len > APPEND_ONE_FLIGHT_MAX ? -ENOTSUP :
		     session_append_pipe(s, mailbox, f, date, data, len, open_here, uidvalidity, uid,
					 &refused, ambiguous);
		if (rc == -ENOTSUP)
			rc = append_classic(s, mailbox, f, date, data, len, open_here, uidvalidity, uid,
					    &refused, ambiguous);
		if (!refused || !open_here || attempt == 1)
			break;
		/* A NO: nothing was stored. RFC 3501 allows APPEND to the
		 * selected mailbox, but some servers refuse it ("NO Current box
		 * is selected READ-ONLY."): leave it and send once more. Only
		 * then, so that servers that allow it pay no round trips. */
		log_info("imap[%d]: APPEND to %s refused while it is open here; leaving it and sending "
			 "the message once more", s->id, mailbox);
		if (session_leave(s, mailbox, false) < 0)
			break;
		exists = 0;
	}
	/* appended to the mailbox open here, and the server announced it
	 * (EXISTS, RFC 3501 6.3.11): a UID command on it needs no NOOP */
	si = s->imap->imap_selection_info;
	if (rc == 0 && *uid != 0 && s->open != NULL && strcmp(s->open, mailbox) == 0 && si != NULL &&
	    si->sel_exists > exists && *uid >= s->view_uidnext && s->view_uidnext != 0)
		s->view_uidnext = *uid + 1;
	return rc;
}

const char *session_append_refusal(const struct session *s)
{
	return s->refusal;
}
