/*
 * session_news — what the server said during an IDLE, as plain data
 * (struct session_news, session.h), so the watcher can tell news it
 * already knows from news it must fetch.
 *
 * libetpan's IDLE DONE keeps only part of it: each response goes into the
 * session's response_info, where the FETCHes, EXPUNGEs and extension data
 * (VANISHED, [HIGHESTMODSEQ]) are kept in order but a STATUS replaces the
 * one before and EXISTS only sets a counter. So session_idle reads DONE's
 * answer itself (mailimap_parse_response, public) and this file walks the
 * whole answer in order: the kind of each response from the answer, its
 * payload from where libetpan moved it (the Nth FETCH of the answer is
 * the Nth of rsp_fetch_list, and so on). A STATUS whose payload libetpan
 * already freed (one of several) keeps its numbers unknown: mailbox NULL.
 */
#include "session.h"
#include "session_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

void session_news_free(struct session_news *news)
{
	size_t i;

	if (news == NULL)
		return;
	for (i = 0; i < news->n; i++) {
		free(news->v[i].keywords);
		free(news->v[i].mailbox);
	}
	free(news->v);
	memset(news, 0, sizeof(*news));
}

void session_status_fill(const struct mailimap_mailbox_data_status *st, struct session_status *out,
			 unsigned *have)
{
	clistiter *it;

	memset(out, 0, sizeof(*out));
	*have = 0;
	for (it = st->st_info_list ? clist_begin(st->st_info_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_status_info *si = clist_content(it);

		switch (si->st_att) {
		case MAILIMAP_STATUS_ATT_MESSAGES:
			out->messages = si->st_value;
			*have |= SESSION_ST_MESSAGES;
			break;
		case MAILIMAP_STATUS_ATT_UNSEEN:
			out->unseen = si->st_value;
			*have |= SESSION_ST_UNSEEN;
			break;
		case MAILIMAP_STATUS_ATT_UIDNEXT:
			out->uidnext = si->st_value;
			*have |= SESSION_ST_UIDNEXT;
			break;
		case MAILIMAP_STATUS_ATT_UIDVALIDITY:
			out->uidvalidity = si->st_value;
			*have |= SESSION_ST_UIDVALIDITY;
			break;
		default:
			if (si->st_ext_data != NULL &&
			    si->st_ext_data->ext_extension == &mailimap_extension_condstore &&
			    si->st_ext_data->ext_type == MAILIMAP_CONDSTORE_TYPE_STATUS_INFO) {
				struct mailimap_condstore_status_info *ci = si->st_ext_data->ext_data;

				out->highestmodseq = ci->cs_highestmodseq_value;
				*have |= SESSION_ST_HIGHESTMODSEQ;
			}
			break;
		}
	}
}

static int news_add(struct session_news *news, const struct session_news_item *item)
{
	if (news->n == news->cap) {
		size_t cap = news->cap ? news->cap * 2 : 16;
		struct session_news_item *nv = realloc(news->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		news->v = nv;
		news->cap = cap;
	}
	news->v[news->n++] = *item;
	return 0;
}

/* The walk through one answer: where the payloads libetpan moved are. */
struct walk {
	struct session_news *news;
	clistiter *fetch;	/* next of rsp_fetch_list */
	clistiter *ext;		/* next of rsp_extension_list */
	size_t statuses;	/* STATUS responses still to come */
	const struct mailimap_mailbox_data_status *last_status;	/* rsp_status */
	int rc;
};

static void add(struct walk *w, struct session_news_item *item)
{
	if (w->rc == 0 && news_add(w->news, item) < 0) {
		free(item->keywords);
		free(item->mailbox);
		w->rc = -ENOMEM;
	}
}

static void add_kind(struct walk *w, enum session_news_kind kind, uint32_t n)
{
	struct session_news_item item = { .kind = kind, .n = n };

	add(w, &item);
}

/* An extension payload: where the answer still has it, else the next one
 * libetpan moved to rsp_extension_list. */
static const struct mailimap_extension_data *next_ext(struct walk *w, const struct mailimap_extension_data *here)
{
	const struct mailimap_extension_data *ed = here;

	if (ed == NULL && w->ext != NULL) {
		ed = clist_content(w->ext);
		w->ext = clist_next(w->ext);
	}
	return ed;
}

static void ext_item(struct walk *w, const struct mailimap_extension_data *ed)
{
	if (ed != NULL && ed->ext_extension == &mailimap_extension_qresync &&
	    ed->ext_type == MAILIMAP_QRESYNC_TYPE_VANISHED && ed->ext_data != NULL) {
		const struct mailimap_qresync_vanished *van = ed->ext_data;
		clistiter *it;

		/* one item a range: "1:100000" stays one item */
		for (it = van->qr_known_uids ? clist_begin(van->qr_known_uids->set_list) : NULL; it;
		     it = clist_next(it)) {
			const struct mailimap_set_item *si = clist_content(it);
			struct session_news_item item = { .kind = SESSION_NEWS_VANISHED, .earlier = van->qr_earlier != 0 };
			uint32_t a = si->set_first, b = si->set_last;

			/* "*" (0 here) cannot occur in VANISHED (RFC 7162 3.2.10) */
			if (a == 0 || b == 0)
				item.kind = SESSION_NEWS_OTHER;
			item.uid = a < b ? a : b;
			item.last = a < b ? b : a;
			add(w, &item);
		}
		return;
	}
	if (ed != NULL && ed->ext_extension == &mailimap_extension_condstore &&
	    ed->ext_type == MAILIMAP_CONDSTORE_TYPE_RESP_TEXT_CODE && ed->ext_data != NULL) {
		const struct mailimap_condstore_resptextcode *rc = ed->ext_data;
		struct session_news_item item = { .kind = SESSION_NEWS_MODSEQ };

		if (rc->cs_type != MAILIMAP_CONDSTORE_RESPTEXTCODE_HIGHESTMODSEQ)
			return;	/* [NOMODSEQ], [MODIFIED]: nothing about the mailbox */
		item.modseq = rc->cs_data.cs_modseq_value;
		add(w, &item);
		return;
	}
	add_kind(w, SESSION_NEWS_OTHER, 0);
}

/* A response code of an untagged OK/NO/BAD. */
static void code_item(struct walk *w, const struct mailimap_resp_text_code *code)
{
	if (code == NULL)
		return;		/* "* OK still here" */
	switch (code->rc_type) {
	case MAILIMAP_RESP_TEXT_CODE_EXTENSION:
		ext_item(w, next_ext(w, code->rc_data.rc_ext_data));
		break;
	case MAILIMAP_RESP_TEXT_CODE_ALERT:
	case MAILIMAP_RESP_TEXT_CODE_PARSE:
	case MAILIMAP_RESP_TEXT_CODE_PERMANENTFLAGS:
	case MAILIMAP_RESP_TEXT_CODE_UIDNEXT:	/* no message came or went by itself */
	case MAILIMAP_RESP_TEXT_CODE_UNSEEN:
	case MAILIMAP_RESP_TEXT_CODE_READ_ONLY:
	case MAILIMAP_RESP_TEXT_CODE_READ_WRITE:
	case MAILIMAP_RESP_TEXT_CODE_BADCHARSET:
	case MAILIMAP_RESP_TEXT_CODE_TRY_CREATE:
	case MAILIMAP_RESP_TEXT_CODE_CAPABILITY_DATA:
		break;
	default:		/* [UIDVALIDITY], an unknown code: assume the worst */
		add_kind(w, SESSION_NEWS_OTHER, 0);
		break;
	}
}

/* An untagged FETCH: message number N. */
static void fetch_item(struct walk *w, uint32_t n, struct mailimap_msg_att *att)
{
	struct session_news_item item = { .kind = SESSION_NEWS_FETCH, .n = n };
	struct session_msg m;
	clistiter *it;
	char *kw = NULL;

	if (att == NULL && w->fetch != NULL) {
		att = clist_content(w->fetch);
		w->fetch = clist_next(w->fetch);
	}
	if (att == NULL) {
		add_kind(w, SESSION_NEWS_OTHER, n);
		return;
	}
	session_msg_att_parse(att, &m, &kw);
	free((char *)m.gm_labels);
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		const struct mailimap_msg_att_item *ai = clist_content(it);

		if (ai->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC)
			item.have_flags = true;
	}
	item.uid = m.uid;
	item.modseq = m.modseq;
	item.sysflags = m.sysflags;
	if (item.have_flags)
		item.keywords = kw;
	else
		free(kw);
	add(w, &item);
}

static void status_item(struct walk *w, const struct mailimap_mailbox_data_status *st)
{
	struct session_news_item item = { .kind = SESSION_NEWS_STATUS };

	w->statuses--;
	/* libetpan frees every STATUS but the last of an answer */
	if (st == NULL && w->statuses == 0)
		st = w->last_status;
	if (st != NULL && st->st_mailbox != NULL) {
		item.mailbox = strdup(st->st_mailbox);
		if (item.mailbox == NULL) {
			w->rc = -ENOMEM;
			return;
		}
		session_status_fill(st, &item.st, &item.st_have);
	}
	add(w, &item);
}

static void mailbox_item(struct walk *w, const struct mailimap_mailbox_data *mb)
{
	switch (mb->mbd_type) {
	case MAILIMAP_MAILBOX_DATA_EXISTS:
		add_kind(w, SESSION_NEWS_EXISTS, mb->mbd_data.mbd_exists);
		break;
	case MAILIMAP_MAILBOX_DATA_STATUS:
		status_item(w, mb->mbd_data.mbd_status);
		break;
	case MAILIMAP_MAILBOX_DATA_EXTENSION_DATA:
		ext_item(w, next_ext(w, mb->mbd_data.mbd_extension));
		break;
	case MAILIMAP_MAILBOX_DATA_FLAGS:	/* a new keyword may be used: says nothing of messages */
	case MAILIMAP_MAILBOX_DATA_RECENT:
	case MAILIMAP_MAILBOX_DATA_SEARCH:
		break;
	default:			/* LIST, LSUB: a mailbox came or went */
		add_kind(w, SESSION_NEWS_OTHER, 0);
		break;
	}
}

static void response_item(struct walk *w, const struct mailimap_response_data *rd)
{
	switch (rd->rsp_type) {
	case MAILIMAP_RESP_DATA_TYPE_COND_STATE:
		if (rd->rsp_data.rsp_cond_state->rsp_text != NULL)
			code_item(w, rd->rsp_data.rsp_cond_state->rsp_text->rsp_code);
		break;
	case MAILIMAP_RESP_DATA_TYPE_MAILBOX_DATA:
		mailbox_item(w, rd->rsp_data.rsp_mailbox_data);
		break;
	case MAILIMAP_RESP_DATA_TYPE_MESSAGE_DATA: {
		struct mailimap_message_data *md = rd->rsp_data.rsp_message_data;

		if (md->mdt_type == MAILIMAP_MESSAGE_DATA_EXPUNGE)
			add_kind(w, SESSION_NEWS_EXPUNGE, md->mdt_number);
		else
			fetch_item(w, md->mdt_number, md->mdt_msg_att);
		break;
	}
	case MAILIMAP_RESP_DATA_TYPE_EXTENSION_DATA:
		ext_item(w, next_ext(w, rd->rsp_data.rsp_extension_data));
		break;
	case MAILIMAP_RESP_DATA_TYPE_CAPABILITY_DATA:
		break;
	default:		/* BYE: the command fails anyway */
		add_kind(w, SESSION_NEWS_OTHER, 0);
		break;
	}
}

int session_news_collect(struct session *s, const struct mailimap_response *resp, struct session_news *news)
{
	const struct mailimap_response_info *ri = s->imap->imap_response_info;
	struct walk w = { .news = news };
	clistiter *it;

	if (ri != NULL) {
		w.fetch = ri->rsp_fetch_list ? clist_begin(ri->rsp_fetch_list) : NULL;
		w.ext = ri->rsp_extension_list ? clist_begin(ri->rsp_extension_list) : NULL;
		w.last_status = ri->rsp_status;
	}
	for (it = resp->rsp_cont_req_or_resp_data_list ? clist_begin(resp->rsp_cont_req_or_resp_data_list) : NULL;
	     it != NULL; it = clist_next(it)) {
		const struct mailimap_cont_req_or_resp_data *cr = clist_content(it);

		if (cr->rsp_type == MAILIMAP_RESP_RESP_DATA &&
		    cr->rsp_data.rsp_resp_data->rsp_type == MAILIMAP_RESP_DATA_TYPE_MAILBOX_DATA &&
		    cr->rsp_data.rsp_resp_data->rsp_data.rsp_mailbox_data->mbd_type == MAILIMAP_MAILBOX_DATA_STATUS)
			w.statuses++;
	}
	for (it = resp->rsp_cont_req_or_resp_data_list ? clist_begin(resp->rsp_cont_req_or_resp_data_list) : NULL;
	     it != NULL && w.rc == 0; it = clist_next(it)) {
		const struct mailimap_cont_req_or_resp_data *cr = clist_content(it);

		if (cr->rsp_type == MAILIMAP_RESP_RESP_DATA)
			response_item(&w, cr->rsp_data.rsp_resp_data);
	}
	/* the tagged OK's own code ([HIGHESTMODSEQ] after the news, say) */
	if (w.rc == 0 && resp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_text != NULL) {
		const struct mailimap_resp_text_code *code =
			resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_text->rsp_code;

		if (code != NULL && code->rc_type == MAILIMAP_RESP_TEXT_CODE_EXTENSION)
			ext_item(&w, next_ext(&w, code->rc_data.rc_ext_data));
	}
	return w.rc;
}
