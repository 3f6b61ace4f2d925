/*
 * session_sync — keeping up with changes made by other clients: the flag
 * FETCHes of polling and of CONDSTORE (CHANGEDSINCE), QRESYNC's VANISHED,
 * the UID list for servers with neither, IDLE and what it reported,
 * NOTIFY for the other mailboxes, and the check of an idle connection
 * before reuse.
 */
#include "session.h"
#include "session_int.h"
#include "deadline.h"
#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>

#include <libetpan/libetpan.h>

/* ---- changes made by others --------------------------------------------- */

/* More vanished UIDs than this in one answer are not expanded. */
#define SESSION_VANISHED_MAX (4u * 1024 * 1024)

/* [UID] FETCH SET (UID FLAGS), CHANGEDSINCE MODSEQ when not 0; SET (taken
 * over) holds UIDs when BY_UID, else sequence numbers. CB gets the
 * messages whose UID is within FIRST..LAST. */
static int fetch_flags(struct session *s, struct mailimap_set *set, bool by_uid, uint32_t first, uint32_t last,
		       uint64_t modseq, session_msg_cb *cb, void *ctx)
{
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	clistiter *it;
	int rc = 0;

	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (set == NULL || ft == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	/* a new size under an old UID: the bytes changed (vfs_resync.c) */
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	if (by_uid)
		session_doing(s, "UID FETCH %s %u:%u (FLAGS)", s->selected ? s->selected : "", first, last);
	else
		session_doing(s, "FETCH %s (FLAGS) of the messages IDLE named", s->selected ? s->selected : "");
	session_add_gmail_atts(s, ft);
	if (modseq != 0) {
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_modseq());
		rc = session_rc(s, mailimap_uid_fetch_changedsince(s->imap, set, ft, modseq, &res),
				"UID FETCH (CHANGEDSINCE)");
	} else if (by_uid) {
		rc = session_rc(s, mailimap_uid_fetch(s->imap, set, ft, &res), "UID FETCH (FLAGS)");
	} else {
		rc = session_rc(s, mailimap_fetch(s->imap, set, ft, &res), "FETCH (FLAGS)");
	}
	if (rc < 0)
		goto out;
	for (it = clist_begin(res); it != NULL && rc == 0; it = clist_next(it)) {
		struct session_msg m;
		char *kw;

		session_msg_att_parse(clist_content(it), &m, &kw);
		if (m.uid >= first && m.uid != 0 && m.uid <= last)
			rc = cb(ctx, &m);
		free(kw);
		free((char *)m.gm_labels);
	}
	mailimap_fetch_list_free(res);
out:
	if (set)
		mailimap_set_free(set);
	if (ft)
		mailimap_fetch_type_free(ft);
	return rc;
}

int session_fetch_flags_since(struct session *s, uint32_t last, uint64_t modseq,
			      session_msg_cb *cb, void *ctx)
{
	return fetch_flags(s, mailimap_set_new_interval(1, last), true, 1, last, modseq, cb, ctx);
}

int session_fetch_flags(struct session *s, uint32_t first, uint32_t last, session_msg_cb *cb, void *ctx)
{
	return fetch_flags(s, mailimap_set_new_interval(first, last), true, first, last, 0, cb, ctx);
}

int session_fetch_flags_seqs(struct session *s, const uint32_t *seqs, size_t n, session_msg_cb *cb, void *ctx)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	size_t i, j;

	/* runs as ranges: "mark all read" elsewhere is one "1:n" */
	for (i = 0; set != NULL && i < n; i = j) {
		for (j = i + 1; j < n && seqs[j] == seqs[j - 1] + 1; j++)
			;
		if (mailimap_set_add_interval(set, seqs[i], seqs[j - 1]) != MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			set = NULL;
		}
	}
	return fetch_flags(s, set, false, 1, UINT32_MAX, 0, cb, ctx);
}

int session_idle_news(const struct session *s, uint32_t **seqs, size_t *n, bool *expunged)
{
	const struct mailimap_response_info *ri = s->imap->imap_response_info;
	clistiter *it;
	size_t k = 0;

	*seqs = NULL;
	*n = 0;
	*expunged = ri != NULL && ri->rsp_expunged != NULL && clist_count(ri->rsp_expunged) > 0;
	if (ri == NULL || ri->rsp_fetch_list == NULL || clist_count(ri->rsp_fetch_list) == 0)
		return 0;
	*seqs = malloc(clist_count(ri->rsp_fetch_list) * sizeof(**seqs));
	if (*seqs == NULL)
		return -ENOMEM;
	for (it = clist_begin(ri->rsp_fetch_list); it != NULL; it = clist_next(it)) {
		const struct mailimap_msg_att *att = clist_content(it);

		if (att->att_number != 0)
			(*seqs)[k++] = att->att_number;
	}
	*n = k;
	return 0;
}

int session_search_all(struct session *s, uint32_t **uids, size_t *n)
{
	struct mailimap_search_key *key = mailimap_search_key_new_all();
	clist *res = NULL;
	clistiter *it;
	size_t i = 0;
	int rc;

	*uids = NULL;
	*n = 0;
	if (key == NULL)
		return -ENOMEM;
	session_doing(s, "UID SEARCH %s ALL", s->selected ? s->selected : "");
	rc = session_rc(s, mailimap_uid_search(s->imap, NULL, key, &res), "UID SEARCH ALL");
	mailimap_search_key_free(key);
	if (rc < 0)
		return rc;
	*uids = malloc((clist_count(res) + 1) * sizeof(**uids));
	if (*uids == NULL) {
		mailimap_search_result_free(res);
		return -ENOMEM;
	}
	for (it = clist_begin(res); it != NULL; it = clist_next(it))
		(*uids)[i++] = *(uint32_t *)clist_content(it);
	*n = i;
	mailimap_search_result_free(res);
	return 0;
}

/* DONE, and the whole answer to IDLE kept (libetpan's mailimap_idle_done
 * keeps only what its response_info holds, where a STATUS replaces the
 * one before): its news into NEWS (may be NULL). */
static int idle_done(struct session *s, struct session_news *news)
{
	mailstream *stream = s->imap->imap_stream;
	struct mailimap_response *resp = NULL;
	int r, rc = 0;

	if (mailstream_write(stream, "DONE\r\n", 6) != 6 || mailstream_flush(stream) == -1)
		return MAILIMAP_ERROR_STREAM;
	if (mailimap_read_line(s->imap) == NULL)
		return MAILIMAP_ERROR_STREAM;
	/* checks the tag is IDLE's and turns a tagged BAD into an error */
	r = mailimap_parse_response(s->imap, &resp);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if (news != NULL)
		rc = session_news_collect(s, resp, news);
	if (resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type != MAILIMAP_RESP_COND_STATE_OK)
		r = MAILIMAP_ERROR_EXTENSION;	/* as mailimap_idle_done */
	mailimap_response_free(resp);
	return rc < 0 ? MAILIMAP_ERROR_MEMORY : r;
}

int session_idle(struct session *s, int timeout_ms, int cancel_fd, bool *changed, struct session_news *news)
{
	mailstream *stream = s->imap->imap_stream;
	struct pollfd p[2];
	int rc, r;

	*changed = false;
	if (news != NULL)
		session_news_free(news);
	/* the waiting is bounded by TIMEOUT_MS below; the commands around it
	 * each get a deadline of their own */
	deadline_start(s->cfg->timeout);
	rc = session_rc(s, mailimap_idle(s->imap), "IDLE");
	if (rc < 0)
		return rc;
	/* libetpan's own wait does not know our driver: poll the socket, and
	 * count bytes already buffered by libetpan or OpenSSL */
	if (stream->read_buffer_len == 0 && !tls_low_has_pending(mailstream_get_low(stream))) {
		p[0].fd = mailstream_low_get_fd(mailstream_get_low(stream));
		p[0].events = POLLIN;
		p[1].fd = cancel_fd;
		p[1].events = POLLIN;
		do
			r = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		*changed = r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR));
	} else {
		*changed = true;
	}
	deadline_start(s->cfg->timeout);
	rc = session_rc(s, idle_done(s, news), "IDLE DONE");
	/* news that came just as the wait ended is news all the same */
	if (rc == 0 && news != NULL && news->n > 0)
		*changed = true;
	return rc;
}

int session_check_idle(struct session *s)
{
	mailstream *stream = s->imap->imap_stream;
	struct pollfd p;
	int r;

	if (stream == NULL)
		return -EIO;
	p.fd = mailstream_low_get_fd(mailstream_get_low(stream));
	p.events = POLLIN;
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0 && stream->read_buffer_len == 0 && !tls_low_has_pending(mailstream_get_low(stream)))
		return 0;
	/* the server said something while nobody listened: a BYE (mailbox
	 * deleted, idle timeout) or news; NOOP reads it, or fails; a session
	 * that cannot even NOOP is not worth keeping */
	session_doing(s, "NOOP");
	if (session_rc(s, mailimap_noop(s->imap), "NOOP") < 0) {
		s->broken = true;
		return -EIO;
	}
	return 0;
}

bool session_qresync(const struct session *s)
{
	return s->qresync;
}

int session_vanished_add(const struct mailimap_qresync_vanished *van, uint32_t **v, size_t *n, size_t *cap)
{
	clistiter *it;
	int rc = 0;

	if (van->qr_known_uids == NULL)
		return 0;
	/* "*" cannot occur in it (RFC 7162 3.2.10) */
	for (it = clist_begin(van->qr_known_uids->set_list); it != NULL && rc == 0; it = clist_next(it)) {
		struct mailimap_set_item *item = clist_content(it);
		uint32_t u, end = item->set_last ? item->set_last : item->set_first;

		for (u = item->set_first; u <= end && rc == 0; u++) {
			if (*n >= SESSION_VANISHED_MAX) {
				/* a hostile or absurd set: let the caller fall
				 * back to comparing UID lists */
				rc = -E2BIG;
				break;
			}
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				uint32_t *nv = realloc(*v, nc * sizeof(*nv));

				if (nv == NULL) {
					rc = -ENOMEM;
					break;
				}
				*v = nv;
				*cap = nc;
			}
			(*v)[(*n)++] = u;
			if (u == UINT32_MAX)
				break;
		}
	}
	return rc;
}

int session_fetch_vanished(struct session *s, uint32_t last, uint64_t modseq, session_msg_cb *cb,
			   void *ctx, uint32_t **vanished, size_t *nvanished)
{
	struct mailimap_qresync_vanished *van = NULL;
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	clist *res = NULL;
	clistiter *it;
	size_t n = 0, cap = 0;
	int rc;

	*vanished = NULL;
	*nvanished = 0;
	set = mailimap_set_new_interval(1, last);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (set == NULL || ft == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	session_add_gmail_atts(s, ft);
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_modseq());
	/* UID FETCH 1:last (UID FLAGS MODSEQ) (CHANGEDSINCE modseq VANISHED) */
	session_doing(s, "UID FETCH %s 1:%u (CHANGEDSINCE %" PRIu64 " VANISHED)", s->selected ? s->selected : "", last, modseq);
	rc = session_rc(s, mailimap_uid_fetch_qresync(s->imap, set, ft, modseq, &res, &van),
			"UID FETCH (CHANGEDSINCE VANISHED)");
	if (rc < 0)
		goto out;
	for (it = res ? clist_begin(res) : NULL; it != NULL && rc == 0; it = clist_next(it)) {
		struct session_msg m;
		char *kw;

		session_msg_att_parse(clist_content(it), &m, &kw);
		if (m.uid != 0)
			rc = cb(ctx, &m);
		free(kw);
		free((char *)m.gm_labels);
	}
	if (rc == 0 && van != NULL)
		rc = session_vanished_add(van, vanished, &n, &cap);
	*nvanished = n;
out:
	if (res)
		mailimap_fetch_list_free(res);
	if (van)
		mailimap_qresync_vanished_free(van);
	if (set)
		mailimap_set_free(set);
	if (ft)
		mailimap_fetch_type_free(ft);
	if (rc < 0) {
		free(*vanished);
		*vanished = NULL;
		*nvanished = 0;
	}
	return rc;
}

int session_notify(struct session *s, bool flags)
{
	if (!session_has_cap(s, "NOTIFY"))
		return -ENOTSUP;
	/* RFC 5465: tell us about new, expunged and re-flagged messages in
	 * every personal mailbox, not only the selected one. (MailboxName is
	 * left out: its LIST replies may carry extended data libetpan does
	 * not parse; the LIST comparison covers mailbox changes.) FLAGS: a
	 * new message in the selected one comes with its flags and MODSEQ
	 * (RFC 7162's fetch item, so only with CONDSTORE): a server says
	 * nothing of a flag change to a message it has not yet told us of, so
	 * what the watcher may already hold of it (vfs_watch_news.c) is
	 * compared with those. */
	if (flags && session_has_cap(s, "CONDSTORE"))
		return session_rc(s, mailimap_custom_command(s->imap,
			"NOTIFY SET (selected (MessageNew (UID FLAGS MODSEQ) MessageExpunge FlagChange)) "
			"(personal (MessageNew MessageExpunge FlagChange))"), "NOTIFY SET");
	return session_rc(s, mailimap_custom_command(s->imap,
		"NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange)) "
		"(personal (MessageNew MessageExpunge FlagChange))"), "NOTIFY SET");
}
