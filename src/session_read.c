/*
 * session_read — the commands that look without changing anything:
 * NAMESPACE, LIST and LSUB (names libetpan cut at a NUL byte left out),
 * SELECT / EXAMINE and what this connection has open, STATUS, SEARCH for a
 * Message-ID, MYRIGHTS. The FETCHes are in session_fetch.c.
 */
#include "session.h"
#include "session_int.h"
#include "log.h"
#include "rights.h"
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

/* ---- NAMESPACE and LIST ---------------------------------------------- */

static void ns_item(struct mailimap_namespace_item *item, char kind, session_ns_cb *cb, void *ctx)
{
	clistiter *it;

	if (item == NULL || item->ns_data_list == NULL)
		return;
	for (it = clist_begin(item->ns_data_list); it != NULL; it = clist_next(it)) {
		struct mailimap_namespace_info *ni = clist_content(it);

		cb(ctx, kind, ni->ns_prefix, ni->ns_delimiter);
	}
}

int session_namespace(struct session *s, session_ns_cb *cb, void *ctx)
{
	struct mailimap_namespace_data *ns = NULL;
	int rc;

	session_doing(s, "NAMESPACE");
	rc = session_rc(s, mailimap_namespace(s->imap, &ns), "NAMESPACE");
	if (rc < 0)
		return rc;
	ns_item(ns->ns_personal, 'p', cb, ctx);
	ns_item(ns->ns_other, 'o', cb, ctx);
	ns_item(ns->ns_shared, 's', cb, ctx);
	mailimap_namespace_data_free(ns);
	return 0;
}

static void attr_add(char *buf, size_t len, const char *a, bool backslash)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s%s", n ? " " : "", backslash && a[0] != '\\' ? "\\" : "", a);
}

/* Whether NAME is what libetpan made of a name with a NUL byte (CUTS):
 * then it may stand for several mailboxes, and selecting it could act on
 * another one. */
static bool name_is_cut(const char *name, char *const *cuts, size_t ncuts)
{
	for (size_t i = 0; i < ncuts; i++)
		if (strcmp(name, cuts[i]) == 0)
			return true;
	return false;
}

/* Hand each mailbox of a LIST or LSUB answer to CB, then free the answer.
 * Names equal to one of CUTS are left out (see name_is_cut). */
static void list_deliver(struct session *s, clist *res, session_list_cb *cb, void *ctx,
			 char *const *cuts, size_t ncuts)
{
	clistiter *it;

	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		struct mailimap_mbx_list_flags *f = mb->mb_flag;
		char attrs[512] = "";
		bool noselect = false;

		if (name_is_cut(mb->mb_name, cuts, ncuts)) {
			/* once per process: the watcher lists again and again */
			static bool logged;

			if (!__atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
				log_err("imap[%d]: the server sent a mailbox name with a NUL byte; the "
					"names it cannot be told apart from (%zu bytes before the NUL) are "
					"left out (logged once)", s->id, strlen(mb->mb_name));
			continue;
		}
		if (f != NULL) {
			if (f->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG) {
				switch (f->mbf_sflag) {
				case MAILIMAP_MBX_LIST_SFLAG_NOSELECT:
					attr_add(attrs, sizeof(attrs), "Noselect", true);
					noselect = true;
					break;
				case MAILIMAP_MBX_LIST_SFLAG_MARKED:
					attr_add(attrs, sizeof(attrs), "Marked", true);
					break;
				case MAILIMAP_MBX_LIST_SFLAG_UNMARKED:
					attr_add(attrs, sizeof(attrs), "Unmarked", true);
					break;
				}
			}
			if (f->mbf_oflags != NULL) {
				clistiter *oi;

				for (oi = clist_begin(f->mbf_oflags); oi != NULL; oi = clist_next(oi)) {
					struct mailimap_mbx_list_oflag *of = clist_content(oi);

					if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_NOINFERIORS) {
						attr_add(attrs, sizeof(attrs), "Noinferiors", true);
					} else if (of->of_flag_ext != NULL) {
						attr_add(attrs, sizeof(attrs), of->of_flag_ext, true);
						if (strcasecmp(of->of_flag_ext, "NonExistent") == 0 ||
						    strcasecmp(of->of_flag_ext, "Noselect") == 0)
							noselect = true;
					}
				}
			}
		}
		cb(ctx, mb->mb_name, mb->mb_delimiter, attrs, noselect);
	}
	mailimap_list_result_free(res);
}

/* LIST or LSUB "" PATTERN: the two answers have the same shape. */
static int list_cmd(struct session *s, bool lsub, const char *pattern, session_list_cb *cb, void *ctx)
{
	mailstream *stream = s->imap->imap_stream;
	char *const *cuts = NULL;
	clist *res = NULL;
	uint64_t from = 0;
	size_t ncuts = 0;
	bool unknown = false;
	int rc;

	rc = session_gate(s, lsub ? "LSUB" : "LIST", pattern);
	if (rc < 0)
		return rc;
	/* libetpan cuts names at a NUL byte (nulcut.c notes where): the answer
	 * starts with what libetpan holds unread, or with the next byte */
	if (stream != NULL) {
		from = tls_low_rx_offset(mailstream_get_low(stream));
		from = from > stream->read_buffer_len ? from - stream->read_buffer_len : 0;
	}
	session_doing(s, "%s \"\" %s", lsub ? "LSUB" : "LIST", pattern);
	rc = lsub ? session_rc(s, mailimap_lsub(s->imap, "", pattern, &res), "LSUB")
		  : session_rc(s, mailimap_list(s->imap, "", pattern, &res), "LIST");
	if (rc == 0 && stream != NULL)
		unknown = tls_low_nul_cuts(mailstream_get_low(stream), from, &cuts, &ncuts);
	if (rc == 0 && unknown) {
		log_err("imap[%d]: %s: the server sent a NUL byte where no name could hold it; "
			"its answer cannot be trusted", s->id, lsub ? "LSUB" : "LIST");
		mailimap_list_result_free(res);
		rc = -EIO;
	} else if (rc == 0) {
		list_deliver(s, res, cb, ctx, cuts, ncuts);
	}
	return rc;
}

int session_list(struct session *s, const char *pattern, session_list_cb *cb, void *ctx)
{
	return list_cmd(s, false, pattern, cb, ctx);
}

int session_lsub(struct session *s, const char *pattern, session_list_cb *cb, void *ctx)
{
	return list_cmd(s, true, pattern, cb, ctx);
}

/* ---- SELECT ----------------------------------------------------------- */

/* Note what the server has selected after a SELECT or EXAMINE of MAILBOX
 * (RO: EXAMINE) answered RC: nothing after a failure (RFC 3501 6.3.1).
 * Out of memory it is noted as nothing too, which at worst lets a server
 * refuse a DELETE; session_leave never CLOSEs what it does not know. */
void session_opened(struct session *s, const char *mailbox, bool ro, int rc)
{
	const struct mailimap_selection_info *si = s->imap->imap_selection_info;
	char *was = s->open;	/* MAILBOX may be it */

	s->open = rc == 0 ? strdup(mailbox) : NULL;
	free(was);
	/* read-only only when the server said so ([READ-ONLY], RFC 3501
	 * 6.3.2): a CLOSE of anything else may expunge */
	s->open_ro = ro && rc == 0 && si != NULL && si->sel_perm == MAILIMAP_MAILBOX_READONLY;
	/* what the server announced now: every UID below its UIDNEXT */
	s->view_uidnext = rc == 0 && si != NULL ? si->sel_uidnext : 0;
}

int session_see_uid(struct session *s, uint32_t uid)
{
	int rc;

	if (s->open == NULL || s->view_uidnext == 0 || uid < s->view_uidnext)
		return 0;
	/* UID came after this connection's last look (another connection
	 * moved or stored it): a NOOP makes the server announce it, or the
	 * command about to be sent would quietly act on nothing */
	session_doing(s, "NOOP %s (UID %u is new here)", s->open, uid);
	rc = session_rc(s, mailimap_noop(s->imap), "NOOP");
	if (rc == 0)
		s->view_uidnext = uid + 1;
	return rc;
}

int session_select(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
		   struct session_mbox *out)
{
	struct mailimap_selection_info *si;
	uint64_t modseq = 0;
	bool condstore = session_has_cap(s, "CONDSTORE");
	int r, rc;

	rc = session_gate(s, readonly ? "EXAMINE" : "SELECT", mailbox);
	if (rc < 0)
		return rc;
	if (s->selected != NULL && strcmp(s->selected, mailbox) == 0 && s->selected_ro == readonly &&
	    s->selected_epoch == epoch && s->imap->imap_selection_info != NULL) {
		si = s->imap->imap_selection_info;
		out->uidvalidity = si->sel_uidvalidity;
		out->uidnext = si->sel_uidnext;
		out->exists = si->sel_exists;
		out->highestmodseq = 0;
		return 0;
	}
	free(s->selected);
	s->selected = NULL;
	/* Dovecot creates INBOX on its first SELECT; when another client's
	 * session creates it at the same moment, the SELECT can fail with
	 * NO [ALREADYEXISTS] although the mailbox is there. Opening changes
	 * nothing on the server, so one more try is safe. */
	for (int attempt = 0; attempt < 2; attempt++) {
		session_doing(s, "%s %s", readonly ? "EXAMINE" : "SELECT", mailbox);
		if (condstore)
			r = readonly ? mailimap_examine_condstore(s->imap, mailbox, &modseq)
				     : mailimap_select_condstore(s->imap, mailbox, &modseq);
		else
			r = readonly ? mailimap_examine(s->imap, mailbox)
				     : mailimap_select(s->imap, mailbox);
		rc = session_rc_expected(s, r, readonly ? "EXAMINE" : "SELECT",
					 attempt == 0 ? "ALREADYEXISTS" : NULL);
		if (rc != -EEXIST || s->broken)
			break;
		if (attempt == 0)
			log_warn("imap[%d]: %s: the server said the mailbox already exists when "
				 "asked to open it; asking once more", s->id, mailbox);
	}
	return session_select_done(s, mailbox, readonly, epoch, modseq, rc, out);
}

int session_select_done(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
			uint64_t modseq, int rc, struct session_mbox *out)
{
	struct mailimap_selection_info *si;

	free(s->selected);
	s->selected = NULL;
	session_opened(s, mailbox, readonly, rc);
	if (rc < 0)
		return rc;
	si = s->imap->imap_selection_info;
	if (si == NULL || si->sel_uidvalidity == 0) {
		log_err("imap[%d]: %s: server sent no UIDVALIDITY; cannot trust UIDs", s->id, mailbox);
		s->broken = true;
		return -EIO;
	}
	s->selected = strdup(mailbox);
	if (s->selected == NULL)
		return -ENOMEM;
	s->selected_ro = readonly;
	s->selected_epoch = epoch;
	out->uidvalidity = si->sel_uidvalidity;
	out->uidnext = si->sel_uidnext;
	out->exists = si->sel_exists;
	out->highestmodseq = modseq;
	return 0;
}

void session_forget_selection(struct session *s)
{
	free(s->selected);
	s->selected = NULL;
}

/* ---- STATUS ----------------------------------------------------------- */

/* One STATUS of MAILBOX into OUT (the session's selection already dealt
 * with); *UV0: the answer carried UIDVALIDITY 0 (an absent one stays 0
 * in OUT without it: a server that never sends it is answered as
 * before). */
static int status_ask(struct session *s, const char *mailbox, struct session_status *out, bool *uv0)
{
	struct mailimap_status_att_list *sl;
	struct mailimap_mailbox_data_status *st = NULL;
	unsigned have;
	int rc;

	sl = mailimap_status_att_list_new_empty();
	if (sl == NULL)
		return -ENOMEM;
	mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_MESSAGES);
	mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_UNSEEN);
	mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_UIDNEXT);
	mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	if (session_has_cap(s, "CONDSTORE"))
		mailimap_status_att_list_add(sl, MAILIMAP_STATUS_ATT_HIGHESTMODSEQ);
	session_doing(s, "STATUS %s", mailbox);
	rc = session_rc(s, mailimap_status(s->imap, mailbox, sl, &st), "STATUS");
	mailimap_status_att_list_free(sl);
	if (rc < 0)
		return rc;
	session_status_fill(st, out, &have);
	*uv0 = (have & SESSION_ST_UIDVALIDITY) && out->uidvalidity == 0;
	mailimap_mailbox_data_status_free(st);
	return 0;
}

int session_status(struct session *s, const char *mailbox, struct session_status *out)
{
	bool uv0 = false;
	int rc;

	rc = session_gate(s, "STATUS", mailbox);
	if (rc < 0)
		return rc;
	/* For the mailbox this session has selected, servers answer STATUS
	 * from what the session has seen so far (Dovecot does), and after
	 * another client deleted and recreated it, from the old mailbox:
	 * NOOP does not help there. EXAMINE opens it afresh (read-only:
	 * nothing changes); the selection is forgotten so that the next user
	 * of this session selects again in its own mode. What the server
	 * has open counts, not what we would reuse: after this EXAMINE (or a
	 * forgotten selection) the server still has it open. */
	if (s->open != NULL && strcmp(s->open, mailbox) == 0) {
		session_forget_selection(s);
		session_doing(s, "EXAMINE %s", mailbox);
		rc = session_rc(s, mailimap_examine(s->imap, mailbox), "EXAMINE");
		session_opened(s, mailbox, true, rc);
		if (rc < 0)
			return rc;
	}
	rc = status_ask(s, mailbox, out, &uv0);
	/* UIDVALIDITY is a non-zero number (RFC 3501). Dovecot answers 0 for
	 * a mailbox just created while another client opens it at that moment
	 * (it has not assigned one yet); asked again, it mostly has. A 0 that
	 * stays is handed on: the messages count is still good (rmdir's check
	 * needs only that), and those who show or compare UIDVALIDITY take 0
	 * as "not known" (vfs_xattr.c answers EAGAIN; the watcher re-syncs). */
	if (rc == 0 && uv0) {
		log_warn("imap[%d]: %s: the server answered STATUS with UIDVALIDITY 0; asking once more",
			 s->id, mailbox);
		rc = status_ask(s, mailbox, out, &uv0);
		if (rc == 0 && uv0)
			log_warn("imap[%d]: %s: the server answered STATUS with UIDVALIDITY 0 twice; "
				 "taken as not known", s->id, mailbox);
	}
	return rc;
}

/* ---- SEARCH and MYRIGHTS ---------------------------------------------- */

int session_search_msgid(struct session *s, const char *msgid, uint32_t min_uid, uint32_t *uid)
{
	uint32_t found[64];
	size_t n;
	int rc = session_search_msgid_all(s, msgid, false, found, 64, &n);

	*uid = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (found[i] >= min_uid && found[i] > *uid)
			*uid = found[i];
	return rc;
}

int session_search_msgid_all(struct session *s, const char *msgid, bool undeleted, uint32_t *uids,
			     size_t max, size_t *n)
{
	struct mailimap_search_key *key, *hdr, *und;
	clist *res = NULL;
	clistiter *it;
	char *name, *val;
	int rc;

	*n = 0;
	if (session_gate(s, "UID SEARCH", msgid) < 0)
		return -EINVAL;
	name = strdup("Message-ID");
	val = strdup(msgid);
	if (name == NULL || val == NULL) {
		free(name);
		free(val);
		return -ENOMEM;
	}
	key = hdr = mailimap_search_key_new_header(name, val);
	if (hdr == NULL) {
		free(name);
		free(val);
		return -ENOMEM;
	}
	if (undeleted) {
		/* HEADER Message-ID x UNDELETED */
		key = mailimap_search_key_new_multiple_empty();
		und = mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL, NULL, NULL,
					      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
					      NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL);
		if (key == NULL || und == NULL || mailimap_search_key_multiple_add(key, hdr) != MAILIMAP_NO_ERROR) {
			if (key != NULL)
				mailimap_search_key_free(key);
			if (und != NULL)
				mailimap_search_key_free(und);
			mailimap_search_key_free(hdr);
			return -ENOMEM;
		}
		if (mailimap_search_key_multiple_add(key, und) != MAILIMAP_NO_ERROR) {
			mailimap_search_key_free(und);
			mailimap_search_key_free(key);	/* frees HDR with it */
			return -ENOMEM;
		}
	}
	session_doing(s, "UID SEARCH %s HEADER Message-ID", s->selected ? s->selected : "");
	rc = session_rc(s, mailimap_uid_search(s->imap, NULL, key, &res), "UID SEARCH");
	mailimap_search_key_free(key);
	if (rc < 0)
		return rc;
	/* the highest (newest) MAX of them, in the order the server gave */
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		size_t lo = 0;

		if (*n < max) {
			uids[(*n)++] = u;
			continue;
		}
		for (size_t i = 1; i < max; i++)
			if (uids[i] < uids[lo])
				lo = i;
		if (max > 0 && u > uids[lo])
			uids[lo] = u;
	}
	mailimap_search_result_free(res);
	return 0;
}

int session_myrights(struct session *s, const char *mailbox, char **out)
{
	struct mailimap_acl_myrights_data *d = NULL;
	int rc;

	int state = s->imap->imap_state;

	if (session_gate(s, "MYRIGHTS", mailbox) < 0)
		return -EINVAL;

	/* libetpan 1.9.4 refuses MYRIGHTS in the selected state (RFC 4314
	 * allows it there): present the session as merely authenticated for
	 * this one command, then put the state back. */
	if (state == MAILIMAP_STATE_SELECTED)
		s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	session_doing(s, "MYRIGHTS %s", mailbox);
	rc = session_rc(s, mailimap_acl_myrights(s->imap, mailbox, &d), "MYRIGHTS");
	if (s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED)
		s->imap->imap_state = state;
	if (rc < 0)
		return rc;
	if (d == NULL) {
		*out = NULL;
		return -ENODATA;	/* OK without a MYRIGHTS line */
	}
	/* RFC 2086 letters become RFC 4314 ones here, once for every check */
	*out = rights_read(d->rights ? d->rights : "");
	mailimap_acl_myrights_data_free(d);
	return *out ? 0 : -ENOMEM;
}
