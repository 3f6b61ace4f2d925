/*
 * session_store — flags changes and rm sent in one flight (session_pipe.c):
 * UID STORE .SILENT and the UID FETCH that shows what the messages have
 * then (setfattr of user.imap.flags, imapfs flag), UID STORE +\Deleted
 * and UID EXPUNGE of that one UID (rm; every outcome below). And the two
 * checks every STORE and APPEND of flags passes first (session_write.c
 * uses them too): flags that are IMAP atoms (wire.h), keywords the
 * selected mailbox keeps (PERMANENTFLAGS). The command text is built
 * only with wire.c's wire_cmd_*. Split from session_write.c, which
 * keeps the commands sent one at a time.
 */
#include "session.h"
#include "session_int.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

/* ---- the checks --------------------------------------------------------- */

/* Keywords and flags pass here (they are sent as bare atoms). */
int session_gate_flags(const struct session *s, const char *what, const struct session_flags *f)
{
	if (wire_flag_list(f->keywords) == 0)
		return 0;
	log_err("imap[%d]: %s: refusing flags that are not IMAP atoms: \"%s\"", s->id, what, f->keywords);
	return -EINVAL;
}

/* May the selected mailbox keep keyword KW (PERMANENTFLAGS)? */
static bool keyword_allowed(const struct session *s, const char *kw, size_t n)
{
	struct mailimap_selection_info *si = s->imap->imap_selection_info;
	clistiter *it;

	if (si == NULL || si->sel_perm_flags == NULL)
		return true;	/* no PERMANENTFLAGS: the server did not restrict */
	for (it = clist_begin(si->sel_perm_flags); it != NULL; it = clist_next(it)) {
		struct mailimap_flag_perm *fp = clist_content(it);

		if (fp->fl_type == MAILIMAP_FLAG_PERM_ALL)
			return true;
		if (fp->fl_flag != NULL && fp->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD &&
		    fp->fl_flag->fl_data.fl_keyword != NULL &&
		    strlen(fp->fl_flag->fl_data.fl_keyword) == n &&
		    strncasecmp(fp->fl_flag->fl_data.fl_keyword, kw, n) == 0)
			return true;
	}
	return false;
}

int session_keywords_allowed(const struct session *s, enum session_store_op op, const struct session_flags *f)
{
	for (const char *p = f->keywords; op != SESSION_STORE_REMOVE && p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0 && p[0] != '\\' && !keyword_allowed(s, p, n)) {
			log_err("imap[%d]: %s does not allow the keyword %.*s (PERMANENTFLAGS)",
				s->id, s->selected ? s->selected : "mailbox", (int)n, p);
			return -EPERM;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* ---- in one flight ------------------------------------------------------ */

static const struct {
	uint8_t bit;
	const char *name;
} sysflag_names[] = {
	{ SESSION_F_SEEN, "\\Seen" }, { SESSION_F_ANSWERED, "\\Answered" }, { SESSION_F_FLAGGED, "\\Flagged" },
	{ SESSION_F_DELETED, "\\Deleted" }, { SESSION_F_DRAFT, "\\Draft" },
};

/* "UID STORE set [+|-]FLAGS.SILENT (flags)" for UIDS (N, ascending)
 * into a malloc'd *BUF behind C: every piece through wire.c. */
static int store_text(struct wire_cmd *c, char **buf, const uint32_t *uids, size_t n, enum session_store_op op,
		      const struct session_flags *f)
{
	size_t cap = 64 + WIRE_UIDSET_MAX(n) + (f->keywords ? strlen(f->keywords) : 0);
	bool sep = false;

	*buf = malloc(cap);
	if (*buf == NULL)
		return -ENOMEM;
	wire_cmd_init(c, *buf, cap);
	wire_cmd_syntax(c, "UID STORE ");
	wire_cmd_uidset(c, uids, n);
	wire_cmd_syntax(c, op == SESSION_STORE_ADD ? " +FLAGS" : op == SESSION_STORE_REMOVE ? " -FLAGS" : " FLAGS");
	wire_cmd_syntax(c, ".SILENT (");
	for (size_t i = 0; i < sizeof(sysflag_names) / sizeof(sysflag_names[0]); i++) {
		if (!(f->sysflags & sysflag_names[i].bit))
			continue;
		wire_cmd_syntax(c, sep ? " " : "");
		wire_cmd_flag(c, sysflag_names[i].name, strlen(sysflag_names[i].name));
		sep = true;
	}
	for (const char *p = f->keywords; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");

		if (len > 0) {
			wire_cmd_syntax(c, sep ? " " : "");
			wire_cmd_flag(c, p, len);
			sep = true;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	wire_cmd_syntax(c, ")");
	return 0;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* What the answers of session_store_uids's flight hand its callback. */
struct store_answer {
	const uint32_t *uids;
	size_t n;
	session_msg_cb *cb;
	void *cbctx;
	int cbrc;
};

/* One answer of the flight is in: the untagged FETCHes that came with it
 * carry flags the messages have now. Each answer's are read, not just the
 * FETCH's: untagged data belongs to the connection, not to a command,
 * and Dovecot sends the FETCH's before the STORE's tagged OK (it runs the
 * two together, the FETCH seeing the STORE's result). Only the UIDs asked
 * for are passed on; a later FETCH of one is newer. */
static void flags_answered(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct store_answer *a = c->ctx;
	clistiter *it;

	for (it = ri != NULL ? clist_begin(ri->rsp_fetch_list) : NULL; it != NULL; it = clist_next(it)) {
		struct session_msg m;
		char *kw;

		session_msg_att_parse(clist_content(it), &m, &kw);
		if (m.uid != 0 && m.have_flags && a->cbrc == 0 &&
		    bsearch(&m.uid, a->uids, a->n, sizeof(*a->uids), uid_cmp) != NULL)
			a->cbrc = a->cb(a->cbctx, &m);
		free(kw);
		free((char *)m.gm_labels);
	}
}

/* "UID FETCH set (UID FLAGS [MODSEQ] [X-GM-MSGID X-GM-LABELS])" into a
 * malloc'd *BUF behind C. */
static int flags_fetch_text(struct session *s, struct wire_cmd *c, char **buf, const uint32_t *uids, size_t n)
{
	size_t cap = 96 + WIRE_UIDSET_MAX(n);

	*buf = malloc(cap);
	if (*buf == NULL)
		return -ENOMEM;
	wire_cmd_init(c, *buf, cap);
	wire_cmd_syntax(c, "UID FETCH ");
	wire_cmd_uidset(c, uids, n);
	wire_cmd_syntax(c, " (UID FLAGS");
	if (session_has_cap(s, "CONDSTORE"))
		wire_cmd_syntax(c, " MODSEQ");
	if (session_gmail(s))
		wire_cmd_syntax(c, " X-GM-MSGID X-GM-LABELS");	/* \Flagged moves a label */
	wire_cmd_syntax(c, ")");
	return 0;
}

int session_store_uids(struct session *s, const uint32_t *uids, size_t n, bool replace,
		       const struct session_flags *add, const struct session_flags *del,
		       session_msg_cb *cb, void *ctx)
{
	struct store_answer ans = { .uids = uids, .n = n, .cb = cb, .cbctx = ctx };
	struct session_pipe_cmd cmds[3];
	struct wire_cmd text[3];
	char *buf[3] = { NULL, NULL, NULL };
	size_t k = 0, i;
	int rc = 0;

	if (session_gate_flags(s, "UID STORE", add) < 0 || (!replace && session_gate_flags(s, "UID STORE", del) < 0))
		return -EINVAL;
	if (session_keywords_allowed(s, replace ? SESSION_STORE_SET : SESSION_STORE_ADD, add) < 0)
		return -EPERM;
	if (replace || add->sysflags || (add->keywords && *add->keywords)) {
		rc = store_text(&text[k], &buf[k], uids, n, replace ? SESSION_STORE_SET : SESSION_STORE_ADD,
				add);
		k++;
	}
	if (rc == 0 && !replace && (del->sysflags || (del->keywords && *del->keywords))) {
		rc = store_text(&text[k], &buf[k], uids, n, SESSION_STORE_REMOVE, del);
		k++;
	}
	for (i = 0; rc == 0 && i < k; i++)
		cmds[i] = (struct session_pipe_cmd){ .what = "UID STORE", .refused = MAILIMAP_ERROR_UID_STORE,
						     .text = &text[i], .done = flags_answered, .ctx = &ans };
	/* then what the messages have now: the server runs the FETCH after
	 * the STOREs (RFC 3501 5.5), whether they were done or refused */
	if (rc == 0 && (rc = flags_fetch_text(s, &text[k], &buf[k], uids, n)) == 0) {
		cmds[k] = (struct session_pipe_cmd){ .what = "UID FETCH", .refused = MAILIMAP_ERROR_UID_FETCH,
						     .text = &text[k], .done = flags_answered, .ctx = &ans };
		k++;
		rc = session_pipe(s, cmds, k);
	}
	/* every command answered: the first refusal counts */
	for (i = 0; rc == 0 && i < k; i++)
		rc = cmds[i].rc;
	if (rc == 0)
		rc = ans.cbrc;
	for (i = 0; i < 3; i++)
		free(buf[i]);
	return rc;
}

/* What rm's answers said was expunged: any message at all, and UID
 * itself (a VANISHED naming it; a plain EXPUNGE names a sequence number,
 * so without QRESYNC any EXPUNGE counts as UID's). */
struct expunge_seen {
	uint32_t uid;
	bool any, ours;
};

/* An answer of rm's flight is in: did the server report a message gone
 * (EXPUNGE, or VANISHED under QRESYNC)? Into the struct expunge_seen at
 * C->ctx. Both answers are looked at: an EXPUNGE may come before the
 * STORE's tagged OK (flags_answered says why). */
static void expunge_answered(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct expunge_seen *e = c->ctx;
	clistiter *it, *si;

	if (ri == NULL)
		return;
	if (ri->rsp_expunged != NULL && clist_count(ri->rsp_expunged) > 0)
		e->any = e->ours = true;
	for (it = clist_begin(ri->rsp_extension_list); it != NULL; it = clist_next(it)) {
		struct mailimap_extension_data *ed = clist_content(it);
		struct mailimap_qresync_vanished *v = ed->ext_data;

		if (ed->ext_extension != &mailimap_extension_qresync || ed->ext_type != MAILIMAP_QRESYNC_TYPE_VANISHED)
			continue;
		e->any = true;
		if (v == NULL || v->qr_known_uids == NULL)
			continue;
		for (si = clist_begin(v->qr_known_uids->set_list); si != NULL; si = clist_next(si)) {
			struct mailimap_set_item *item = clist_content(si);

			if (item->set_first <= e->uid && e->uid <= item->set_last)
				e->ours = true;
		}
	}
}

/* Both commands of rm's flight said OK, but no answer said UID went.
 * Dovecot runs the two side by side and its EXPUNGE may miss the \Deleted
 * the STORE is setting (seen once in 30 rm's over an 80 ms link: both OK,
 * the message left with \Deleted): UID EXPUNGE UID once more, alone, now
 * that the STORE is done (it names only UID, which has our \Deleted).
 * Still not reported gone: asked (UID FETCH); a message that is still
 * there is -EIO, with \Deleted taken off again unless it had it before;
 * one that is not was gone already (another client). */
/* Still there: the FETCH returned UID (the uint32_t at CTX), set to 0. */
static int uid_there_cb(void *ctx, const struct session_msg *m)
{
	uint32_t *uid = ctx;

	if (m->uid == *uid)
		*uid = 0;
	return 0;
}

static int expunge_confirm(struct session *s, uint32_t uid, bool was_deleted, struct session_pipe_cmd *cmds,
			   struct wire_cmd *store_cmd, struct expunge_seen *e)
{
	struct session_flags del = { .sysflags = SESSION_F_DELETED };
	uint32_t look = uid;
	char *store = NULL;
	int rc;

	e->any = e->ours = false;
	rc = session_pipe(s, &cmds[1], 1);
	if (rc < 0 || cmds[1].rc < 0 || e->ours)
		return rc < 0 ? rc : cmds[1].rc;
	rc = session_fetch_flags(s, uid, uid, uid_there_cb, &look);
	if (rc < 0 || look != 0)
		return rc;	/* (gone: another client's doing, or ours after all) */
	log_err("imap[%d]: UID EXPUNGE %u answered OK twice and the message is still there", s->id, uid);
	if (!was_deleted && store_text(store_cmd, &store, &uid, 1, SESSION_STORE_REMOVE, &del) == 0 &&
	    (session_pipe(s, cmds, 1) < 0 || cmds[0].rc < 0))
		log_err("imap[%d]: UID %u keeps \\Deleted: another client's EXPUNGE would remove it", s->id, uid);
	free(store);
	return -EIO;
}

/*
 * rm of UID: UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE UID in one
 * flight. The EXPUNGE names only UID, so whatever else is \Deleted stays.
 * The server should run the two in order (RFC 3501 5.5: the STORE changes
 * what the EXPUNGE does); Dovecot does not always, so the answers must
 * say UID went (expunge_confirm). Every outcome:
 *   both done: 0 (UID is gone, or was gone before);
 *   the STORE refused (a read-only mailbox, no right): its errno; the
 *     EXPUNGE still ran, and removed UID only if it had \Deleted already:
 *     ambiguous when its answer reported any message expunged;
 *   the STORE done, the EXPUNGE refused: its errno; UID now has \Deleted,
 *     taken off again here unless it had it before (WAS_DELETED), so that
 *     a message whose rm failed is not removed by the next client's
 *     EXPUNGE;
 *   the connection lost after sending (or a reply out of step): -EIO or
 *     -ETIMEDOUT, ambiguous;
 *   both OK but no answer said UID went: expunge_confirm.
 */
int session_remove_uid(struct session *s, uint32_t uid, bool was_deleted, bool *ambiguous)
{
	struct session_flags del = { .sysflags = SESSION_F_DELETED };
	struct session_pipe_cmd cmds[2];
	struct wire_cmd text[2];
	char *store = NULL, eb[32];
	struct expunge_seen expunged = { .uid = uid };
	int rc;

	*ambiguous = false;
	rc = store_text(&text[0], &store, &uid, 1, SESSION_STORE_ADD, &del);
	if (rc < 0)
		return rc;
	wire_cmd_init(&text[1], eb, sizeof(eb));
	wire_cmd_syntax(&text[1], "UID EXPUNGE ");
	wire_cmd_uidset(&text[1], &uid, 1);
	cmds[0] = (struct session_pipe_cmd){ .what = "UID STORE", .refused = MAILIMAP_ERROR_UID_STORE,
					     .text = &text[0], .done = expunge_answered, .ctx = &expunged };
	cmds[1] = (struct session_pipe_cmd){ .what = "UID EXPUNGE", .text = &text[1], .done = expunge_answered,
					     .ctx = &expunged };
	rc = session_pipe(s, cmds, 2);
	free(store);
	if (rc < 0) {
		*ambiguous = cmds[0].result != SESSION_PIPE_UNSENT;
		return rc;
	}
	if (cmds[0].result != SESSION_PIPE_OK) {
		*ambiguous = cmds[1].result == SESSION_PIPE_OK && expunged.any;
		return cmds[0].rc;
	}
	if (cmds[1].result == SESSION_PIPE_OK && !expunged.ours) {
		rc = expunge_confirm(s, uid, was_deleted, cmds, &text[0], &expunged);
		*ambiguous = rc < 0 && session_broken(s);
		return rc;
	}
	if (cmds[1].result != SESSION_PIPE_OK && !was_deleted) {
		log_info("imap[%d]: UID EXPUNGE %u refused: taking \\Deleted off it again", s->id, uid);
		if (store_text(&text[0], &store, &uid, 1, SESSION_STORE_REMOVE, &del) < 0 ||
		    session_pipe(s, cmds, 1) < 0 || cmds[0].rc < 0)
			log_err("imap[%d]: UID %u keeps \\Deleted: another client's EXPUNGE would remove it",
				s->id, uid);
		free(store);
	}
	return cmds[1].rc;
}

int session_expunge_uid(struct session *s, uint32_t uid)
{
	bool ambiguous;

	return session_remove_uid(s, uid, false, &ambiguous);
}
