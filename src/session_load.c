/*
 * session_load — a mailbox's listing in one flight. The first: SELECT
 * (or EXAMINE), UID FETCH 1:* of every message's metadata and, where the
 * server has ACL, MYRIGHTS, written together and answered in order
 * (session_pipe.c). Sent one after the other they cost three round trips;
 * over a link 80 ms away that was most of a cold `ls -l`. And the
 * catch-up of a listing kept from before (session_resync, with QRESYNC):
 * SELECT, the metadata of the messages after the last one known, and
 * UID FETCH 1:LAST (CHANGEDSINCE MODSEQ VANISHED) for the flags changed
 * and the messages expunged since, in one flight instead of three.
 *
 * session_pipe.c sends no command that changes the connection's state,
 * because libetpan would not know; here the SELECT's part that libetpan
 * does itself (mailimap_select_condstore_optional, 1.9.4) is done around
 * the pipe instead: a fresh imap_selection_info before its answer is read
 * (the parser fills it from the untagged FLAGS, EXISTS and OK [UIDVALIDITY]
 * lines), the HIGHESTMODSEQ code read from its answer, and the state
 * SELECTED after an OK, AUTHENTICATED (no selection) after anything else.
 *
 * The FETCH depends on the SELECT: RFC 3501 5.5 has the server run such
 * commands in order, as it does the STORE and EXPUNGE of rm
 * (session_store.c). The listing is taken only from replies that arrive
 * after the SELECT's OK (struct session_meta_ctx.closed until then), and
 * none at all when the SELECT failed: a server that kept the previous
 * mailbox selected after a failed SELECT would otherwise have its
 * messages listed here. A SELECT answered NO [ALREADYEXISTS] (Dovecot,
 * now and then, for INBOX) is asked again the ordinary way, as
 * session_select does.
 */
#include "session.h"
#include "session_int.h"
#include "log.h"
#include "rights.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

/* Each command's text: a mailbox name of up to 1 KiB, every byte escaped. */
#define LOAD_TEXT_MAX (2 * 1024 + 64)

/* What the flight's answers leave behind. */
struct load_answers {
	struct session_meta_ctx meta;
	struct session_pipe_cmd *fetch;	/* the listing's command (the first of them) */
	struct session_pipe_cmd *fetch2;	/* session_resync: the CHANGEDSINCE one */
	uint64_t modseq;	/* the SELECT's HIGHESTMODSEQ; 0: none */
	char *rights;		/* MYRIGHTS as RFC 4314 letters; NULL: none */
	/* session_resync: where each message goes (UIDs after LAST are new,
	 * the others changed), and the VANISHED UIDs collected */
	uint32_t last;
	session_msg_cb *fresh_cb, *changed_cb;
	void *fresh_ctx, *changed_ctx;
	uint32_t *vanished;
	size_t nvanished, cap;
	int vrc;
};

/* No selection info (libetpan's free functions take no NULL). */
static void selection_drop(struct session *s)
{
	if (s->imap->imap_selection_info != NULL)
		mailimap_selection_info_free(s->imap->imap_selection_info);
	s->imap->imap_selection_info = NULL;
}

/* SELECT answered: libetpan's own bookkeeping of it, and the listing
 * opens (or stays closed, with no selection, after a NO or BAD). */
static void select_answered(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct load_answers *a = c->ctx;
	clistiter *it;

	for (it = ri != NULL ? clist_begin(ri->rsp_extension_list) : NULL; it != NULL; it = clist_next(it)) {
		struct mailimap_extension_data *ed = clist_content(it);
		struct mailimap_condstore_resptextcode *code = ed->ext_data;

		if (ed->ext_extension != &mailimap_extension_condstore ||
		    ed->ext_type != MAILIMAP_CONDSTORE_TYPE_RESP_TEXT_CODE || code == NULL)
			continue;
		a->modseq = code->cs_type == MAILIMAP_CONDSTORE_RESPTEXTCODE_HIGHESTMODSEQ ?
			    code->cs_data.cs_modseq_value : 0;
	}
	if (c->result == SESSION_PIPE_OK) {
		s->imap->imap_state = MAILIMAP_STATE_SELECTED;
		a->meta.closed = false;
		return;
	}
	selection_drop(s);
	s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	/* the FETCH fails for that reason alone: the SELECT's refusal is the
	 * one logged */
	a->fetch->quiet = true;
	if (a->fetch2 != NULL)
		a->fetch2->quiet = true;
}

/* MYRIGHTS answered: its untagged MYRIGHTS line, if any (the last one). */
static void myrights_answered(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct load_answers *a = c->ctx;
	clistiter *it;

	if (c->result != SESSION_PIPE_OK)
		return;
	for (it = ri != NULL ? clist_begin(ri->rsp_extension_list) : NULL; it != NULL; it = clist_next(it)) {
		struct mailimap_extension_data *ed = clist_content(it);
		struct mailimap_acl_myrights_data *d = ed->ext_data;

		if (ed->ext_extension->ext_id != MAILIMAP_EXTENSION_ACL ||
		    ed->ext_type != MAILIMAP_ACL_TYPE_MYRIGHTS_DATA || d == NULL)
			continue;
		free(a->rights);
		/* RFC 2086 letters become RFC 4314 ones, as session_myrights reads them */
		a->rights = rights_read(d->rights != NULL ? d->rights : "");
	}
}

/* The three commands' text, each into its own buffer of CAP bytes. */
static void load_texts(struct session *s, const char *mailbox, bool readonly, struct wire_cmd *t,
		       char (*buf)[LOAD_TEXT_MAX], size_t cap)
{
	wire_cmd_init(&t[0], buf[0], cap);
	wire_cmd_syntax(&t[0], readonly ? "EXAMINE " : "SELECT ");
	wire_cmd_quoted(&t[0], mailbox);
	if (session_has_cap(s, "CONDSTORE"))
		wire_cmd_syntax(&t[0], " (CONDSTORE)");
	/* what session_fetch_meta asks for, attribute for attribute */
	wire_cmd_init(&t[1], buf[1], cap);
	wire_cmd_syntax(&t[1], "UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS");
	if (session_has_cap(s, "CONDSTORE"))
		wire_cmd_syntax(&t[1], " MODSEQ");
	if (session_gmail(s))
		wire_cmd_syntax(&t[1], " X-GM-MSGID X-GM-LABELS");
	wire_cmd_syntax(&t[1], ")");
	wire_cmd_init(&t[2], buf[2], cap);
	wire_cmd_syntax(&t[2], "MYRIGHTS ");
	wire_cmd_quoted(&t[2], mailbox);
}

/* One flight; EXPECTED: the response code a refused SELECT may carry
 * that is only a warning (asked again). -> 0 or -errno as session_load;
 * A holds the rights. */
static int load_flight(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
		       struct session_mbox *out, struct load_answers *a, bool want_rights,
		       const char *expected, struct wire_cmd *text)
{
	struct session_pipe_cmd cmds[3];
	int rc;

	cmds[0] = (struct session_pipe_cmd){ .what = readonly ? "EXAMINE" : "SELECT", .text = &text[0],
					     .refused = MAILIMAP_ERROR_SELECT, .expected = expected,
					     .done = select_answered, .ctx = a };
	cmds[1] = (struct session_pipe_cmd){ .what = "UID FETCH (metadata)", .text = &text[1],
					     .refused = MAILIMAP_ERROR_UID_FETCH };
	cmds[2] = (struct session_pipe_cmd){ .what = "MYRIGHTS", .text = &text[2],
					     .refused = MAILIMAP_ERROR_EXTENSION, .done = myrights_answered,
					     .ctx = a };
	a->fetch = &cmds[1];
	a->meta.closed = true;

	/* from here on the session's selection is this SELECT's, whatever
	 * comes of it (libetpan replaces it the same way) */
	session_forget_selection(s);
	selection_drop(s);
	s->imap->imap_selection_info = mailimap_selection_info_new();
	mailimap_set_progress_callback(s->imap, NULL, session_no_progress, NULL);
	mailimap_set_msg_att_handler(s->imap, session_meta_handler, &a->meta);
	rc = session_pipe(s, cmds, want_rights ? 3 : 2);
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	mailimap_set_progress_callback(s->imap, NULL, NULL, NULL);
	if (rc < 0 && cmds[0].result == SESSION_PIPE_UNSENT) {
		/* nothing went out: the server still has what it had open */
		selection_drop(s);
		return rc;
	}
	if (rc < 0) {
		session_opened(s, mailbox, readonly, rc);	/* (the session is broken) */
		return rc;
	}
	rc = session_select_done(s, mailbox, readonly, epoch, a->modseq, cmds[0].rc, out);
	if (rc == 0)
		rc = cmds[1].rc;
	if (rc == 0 && a->meta.cbrc != 0)
		rc = a->meta.cbrc;
	return rc;
}

int session_load(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
		 struct session_mbox *out, session_msg_cb *cb, void *ctx, char **rights)
{
	struct load_answers a = { .meta = { .s = s, .cb = cb, .cbctx = ctx } };
	struct wire_cmd text[3];
	char buf[3][LOAD_TEXT_MAX];
	int rc;

	if (rights != NULL)
		*rights = NULL;
	rc = session_gate(s, readonly ? "EXAMINE" : "SELECT", mailbox);
	if (rc < 0)
		return rc;
	if (s->imap->imap_state != MAILIMAP_STATE_AUTHENTICATED &&
	    s->imap->imap_state != MAILIMAP_STATE_SELECTED)
		return -EIO;
	load_texts(s, mailbox, readonly, text, buf, sizeof(buf[0]));
	if (text[0].err != 0 || text[2].err != 0) {
		/* a name too long for the buffers: one command after the other */
		rc = session_select(s, mailbox, readonly, epoch, out);
		if (rc == 0)
			rc = session_fetch_meta(s, 1, 0, cb, ctx);
		if (rc == 0 && rights != NULL && session_myrights(s, mailbox, rights) < 0)
			*rights = NULL;
		return rc;
	}
	/* Dovecot creates INBOX on its first SELECT; when another client's
	 * session creates it at the same moment, the SELECT can fail with
	 * NO [ALREADYEXISTS] although the mailbox is there (session_select
	 * asks once more too). No listing reached CB then. */
	rc = load_flight(s, mailbox, readonly, epoch, out, &a, rights != NULL, "ALREADYEXISTS", text);
	if (rc == -EEXIST && !session_broken(s)) {
		log_warn("imap[%d]: %s: the server said the mailbox already exists when asked to open "
			 "it; asking once more", s->id, mailbox);
		free(a.rights);
		a.rights = NULL;
		rc = load_flight(s, mailbox, readonly, epoch, out, &a, rights != NULL, NULL, text);
	}
	if (rc == 0 && rights != NULL)
		*rights = a.rights;
	else
		free(a.rights);
	return rc;
}

/* ---- session_resync ------------------------------------------------------ */

/* session_resync's listing callback: new messages and changed ones apart. */
static int resync_msg(void *ctx, const struct session_msg *m)
{
	struct load_answers *a = ctx;

	return m->uid > a->last ? a->fresh_cb(a->fresh_ctx, m) : a->changed_cb(a->changed_ctx, m);
}

/* A FETCH of the flight answered: a VANISHED line read with it (the
 * server may send it before either FETCH's tagged answer). */
static void resync_fetched(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct load_answers *a = c->ctx;
	clistiter *it;

	for (it = ri != NULL ? clist_begin(ri->rsp_extension_list) : NULL; it != NULL; it = clist_next(it)) {
		struct mailimap_extension_data *ed = clist_content(it);

		if (ed->ext_extension->ext_id != MAILIMAP_EXTENSION_QRESYNC ||
		    ed->ext_type != MAILIMAP_QRESYNC_TYPE_VANISHED || ed->ext_data == NULL || a->vrc != 0 ||
		    a->meta.closed)
			continue;
		a->vrc = session_vanished_add(ed->ext_data, &a->vanished, &a->nvanished, &a->cap);
	}
}

int session_resync(struct session *s, const char *mailbox, bool readonly, uint64_t epoch, uint32_t last,
		   uint64_t modseq, struct session_mbox *out, session_msg_cb *fresh_cb, void *fresh_ctx,
		   session_msg_cb *changed_cb, void *changed_ctx, uint32_t **vanished, size_t *nvanished)
{
	struct load_answers a = { .last = last, .fresh_cb = fresh_cb, .fresh_ctx = fresh_ctx,
				  .changed_cb = changed_cb, .changed_ctx = changed_ctx };
	struct session_pipe_cmd cmds[3];
	struct wire_cmd text[3];
	char buf[3][LOAD_TEXT_MAX];
	int rc;

	*vanished = NULL;
	*nvanished = 0;
	a.meta = (struct session_meta_ctx){ .s = s, .cb = resync_msg, .cbctx = &a, .closed = true };
	rc = session_gate(s, readonly ? "EXAMINE" : "SELECT", mailbox);
	if (rc < 0)
		return rc;
	if (!session_qresync(s) || last == 0 || modseq == 0 ||
	    (s->imap->imap_state != MAILIMAP_STATE_AUTHENTICATED && s->imap->imap_state != MAILIMAP_STATE_SELECTED))
		return -EINVAL;
	load_texts(s, mailbox, readonly, text, buf, sizeof(buf[0]));
	/* the new ones: what load_texts wrote for all, from LAST + 1 */
	wire_cmd_init(&text[1], buf[1], sizeof(buf[1]));
	wire_cmd_syntax(&text[1], "UID FETCH ");
	wire_cmd_number(&text[1], (uint64_t)last + 1);
	wire_cmd_syntax(&text[1], ":* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ");
	if (session_gmail(s))
		wire_cmd_syntax(&text[1], " X-GM-MSGID X-GM-LABELS");
	wire_cmd_syntax(&text[1], ")");
	/* the known ones: what session_fetch_vanished asks */
	wire_cmd_init(&text[2], buf[2], sizeof(buf[2]));
	wire_cmd_syntax(&text[2], "UID FETCH 1:");
	wire_cmd_number(&text[2], last);
	wire_cmd_syntax(&text[2], " (UID FLAGS RFC822.SIZE");
	if (session_gmail(s))
		wire_cmd_syntax(&text[2], " X-GM-MSGID X-GM-LABELS");
	wire_cmd_syntax(&text[2], " MODSEQ) (CHANGEDSINCE ");
	wire_cmd_number(&text[2], modseq);
	wire_cmd_syntax(&text[2], " VANISHED)");
	if (text[0].err != 0)
		return -ENAMETOOLONG;	/* a name too long for the buffer: the caller's commands one by one */

	cmds[0] = (struct session_pipe_cmd){ .what = readonly ? "EXAMINE" : "SELECT", .text = &text[0],
					     .refused = MAILIMAP_ERROR_SELECT, .expected = "ALREADYEXISTS",
					     .done = select_answered, .ctx = &a };
	cmds[1] = (struct session_pipe_cmd){ .what = "UID FETCH (new since)", .text = &text[1],
					     .refused = MAILIMAP_ERROR_UID_FETCH, .done = resync_fetched, .ctx = &a };
	cmds[2] = (struct session_pipe_cmd){ .what = "UID FETCH (CHANGEDSINCE VANISHED)", .text = &text[2],
					     .refused = MAILIMAP_ERROR_UID_FETCH, .done = resync_fetched, .ctx = &a };
	a.fetch = &cmds[1];
	a.fetch2 = &cmds[2];

	session_forget_selection(s);
	selection_drop(s);
	s->imap->imap_selection_info = mailimap_selection_info_new();
	mailimap_set_progress_callback(s->imap, NULL, session_no_progress, NULL);
	mailimap_set_msg_att_handler(s->imap, session_meta_handler, &a.meta);
	rc = session_pipe(s, cmds, 3);
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	mailimap_set_progress_callback(s->imap, NULL, NULL, NULL);
	if (rc < 0 && cmds[0].result == SESSION_PIPE_UNSENT) {
		selection_drop(s);	/* nothing went out */
		goto out;
	}
	if (rc < 0) {
		session_opened(s, mailbox, readonly, rc);	/* (the session is broken) */
		goto out;
	}
	rc = session_select_done(s, mailbox, readonly, epoch, a.modseq, cmds[0].rc, out);
	if (rc == 0)
		rc = cmds[1].rc;
	if (rc == 0)
		rc = cmds[2].rc;
	if (rc == 0 && a.meta.cbrc != 0)
		rc = a.meta.cbrc;
	if (rc == 0)
		rc = a.vrc;
out:
	if (rc == 0) {
		*vanished = a.vanished;
		*nvanished = a.nvanished;
	} else {
		free(a.vanished);
	}
	return rc;
}
