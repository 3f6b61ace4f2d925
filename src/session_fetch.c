/*
 * session_fetch — UID FETCH: every message's metadata (streamed through a
 * handler, one reply in memory at a time), a window of one body, whole
 * bodies streamed, and the parsing of a FETCH reply into a session_msg
 * that session_sync.c shares. Also Gmail's X-GM-LABELS, parsed leniently
 * (libetpan's own parser refuses the form Google documents).
 *
 * Every literal the server sends is bounded before libetpan buffers it
 * (session_literal_limit, guard.h): GUARD_LITERAL_META by default, the
 * window or the caller's MAX_LEN while bodies are fetched.
 */
#include "session.h"
#include "session_int.h"
#include "activity.h"
#include "guard.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>

/* ---- Gmail's labels, parsed leniently ---------------------------------- */

/*
 * X-GM-LABELS with system labels as bare flags: Google's documentation
 * shows "X-GM-LABELS (\Inbox \Sent Important)", and libetpan's own parser
 * takes only astrings there (it wants "\\Inbox" quoted, as Gmail sends it
 * today), so such a reply would break the connection and no folder could
 * be listed. libetpan tries its own parser first and this one only when
 * that fails: a list of quoted strings, atoms and \flags. A literal in
 * the list is left to libetpan (a parse error, as before).
 */
static bool label_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

/* A label list whose strings are plain malloc'd ones (ours), not
 * libetpan's parser strings, which mailimap_msg_att_xgmlabels_free
 * expects (it releases them with mmap_string_unref, a no-op on ours). */
void session_labels_list_free(struct mailimap_msg_att_xgmlabels *l)
{
	if (l == NULL)
		return;
	for (clistiter *it = clist_begin(l->att_labels); it != NULL; it = clist_next(it))
		free(clist_content(it));
	clist_free(l->att_labels);
	free(l);
}

void session_lenient_labels_free(struct mailimap_extension_data *ed)
{
	session_labels_list_free(ed->ext_data);
	free(ed);
}

static struct mailimap_extension_api lenient_labels = {
	.ext_name = (char *)"X-GM-LABELS (bare flags)",
	.ext_id = -1,
	.ext_parser = session_lenient_labels_parse,
	.ext_free = session_lenient_labels_free,
};

int session_lenient_labels_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
				 struct mailimap_parser_context *parser_ctx, size_t *indx,
				 struct mailimap_extension_data **result, size_t progr_rate,
				 progress_function *progr_fun)
{
	const char *b = buffer->str, *end = buffer->str + buffer->len, *p = b + *indx;
	struct mailimap_msg_att_xgmlabels *l = NULL;
	struct mailimap_extension_data *ed;
	int r = MAILIMAP_ERROR_PARSE;

	if (calling_parser != MAILIMAP_EXTENDED_PARSER_FETCH_DATA || (size_t)(end - p) < 14 ||
	    strncasecmp(p, "X-GM-LABELS (", 13) != 0)
		return MAILIMAP_ERROR_PARSE;
	p += 13;
	if ((l = mailimap_msg_att_xgmlabels_new_empty()) == NULL)
		return MAILIMAP_ERROR_MEMORY;
	for (;;) {
		const char *q;
		char *lab;
		size_t n = 0;

		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == ')')
			break;
		if (p >= end) {
			r = MAILIMAP_ERROR_PARSE;
			goto fail;
		}
		/* find the token's end first and allocate what it holds: sized
		 * to the rest of the line, a hostile "a a a ..." would cost
		 * the line's length per label */
		q = p;
		if (*q == '"') {
			for (q++; q < end && *q != '"' && *q != '\r' && *q != '\n'; q++)
				if (*q == '\\' && q + 1 < end)
					q++;
			if (q >= end || *q != '"')
				goto fail;
		} else {
			if (*q == '\\')
				q++;
			while (q < end && (label_char((unsigned char)*q) || *q == ']'))
				q++;
		}
		if ((lab = malloc((size_t)(q - p) + 1)) == NULL) {
			r = MAILIMAP_ERROR_MEMORY;
			goto fail;
		}
		if (*p == '"') {
			for (p++; p < q; p++) {
				if (*p == '\\' && p + 1 < q)
					p++;
				lab[n++] = *p;
			}
			p++;	/* the closing quote */
		} else {
			while (p < q)
				lab[n++] = *p++;
		}
		lab[n] = '\0';
		if (n == 0 || (n == 1 && lab[0] == '\\') || clist_append(l->att_labels, lab) < 0) {
			free(lab);
			goto fail;
		}
	}
	ed = mailimap_extension_data_new(&lenient_labels, 0, l);
	if (ed == NULL) {
		r = MAILIMAP_ERROR_MEMORY;
		goto fail;
	}
	*indx = (size_t)(p + 1 - b);
	*result = ed;
	return MAILIMAP_NO_ERROR;
fail:
	session_labels_list_free(l);
	return r;
}

static pthread_once_t lenient_once = PTHREAD_ONCE_INIT;

/* libetpan's extension list is process-wide: registered once, before the
 * first connection exists (session_open from vfs_new). */
static void lenient_register(void)
{
	mailimap_extension_register(&lenient_labels);
}

void session_lenient_register(void)
{
	pthread_once(&lenient_once, lenient_register);
}

/* ---- FETCH ------------------------------------------------------------ */

/*
 * INTERNALDATE to epoch seconds and *TZ (minutes east of UTC). A date no
 * calendar has (day 31 of April, hour 25, a zone of +9999: libetpan keeps
 * +HHMM as a signed decimal and checks none of it) is garbage like any
 * other malformed reply: -1, and the caller shows the message with no
 * date (1970-01-01 +0000) and logs it. Zones are bounded at 15:59, which
 * every zone ever in use fits (the largest, local mean times, are about
 * 15:56).
 */
int session_date_to_epoch(const struct mailimap_date_time *dt, int64_t *date, int16_t *tz)
{
	struct tm tm = {
		.tm_year = dt->dt_year - 1900, .tm_mon = dt->dt_month - 1, .tm_mday = dt->dt_day,
		.tm_hour = dt->dt_hour, .tm_min = dt->dt_min, .tm_sec = dt->dt_sec,
	};
	int zone = dt->dt_zone, az = zone < 0 ? -zone : zone;
	int minutes = (az / 100) * 60 + az % 100;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap;
	time_t t;

	*date = 0;
	*tz = 0;
	if (dt->dt_year < 1 || dt->dt_year > 9999 || dt->dt_month < 1 || dt->dt_month > 12 ||
	    dt->dt_day < 1 || dt->dt_day > 31 || dt->dt_hour < 0 || dt->dt_hour > 23 ||
	    dt->dt_min < 0 || dt->dt_min > 59 || dt->dt_sec < 0 || dt->dt_sec > 60 ||
	    az > 1559 || az % 100 > 59)
		return -1;
	leap = dt->dt_year % 4 == 0 && (dt->dt_year % 100 != 0 || dt->dt_year % 400 == 0);
	if (dt->dt_day > mdays[dt->dt_month - 1] || (dt->dt_month == 2 && dt->dt_day == 29 && !leap))
		return -1;	/* no such day in that month */
	t = timegm(&tm);
	*tz = (int16_t)(zone < 0 ? -minutes : minutes);
	*date = (int64_t)t - (int64_t)*tz * 60;
	return 0;
}


static void kw_add(char **kw, size_t *len, const char *pre, const char *name)
{
	size_t add = strlen(pre) + strlen(name) + 1;
	char *n = realloc(*kw, *len + add + 1);

	if (n == NULL)
		return;
	*kw = n;
	*len += (size_t)snprintf(n + *len, add + 1, "%s%s%s", *len ? " " : "", pre, name);
}

/* Turn one FETCH response into a session_msg; *KW gets the malloc'd
 * keyword string (or NULL) that m->keywords points to. */
/* X-GM-LABELS as one malloc'd string, labels joined by '\n' ("" for
 * none; NULL when out of memory). A label holding a byte that could not
 * be sent back (CR, LF) is dropped with a log line. */
static char *labels_join(const struct mailimap_msg_att_xgmlabels *l)
{
	size_t len = 0, cap = 64;
	char *out = malloc(cap);
	clistiter *it;

	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (it = l->att_labels ? clist_begin(l->att_labels) : NULL; it != NULL; it = clist_next(it)) {
		const char *lab = clist_content(it);
		size_t n = lab ? strlen(lab) : 0;

		if (n == 0 || strpbrk(lab, "\r\n") != NULL) {
			log_warn("a Gmail label with CR or LF in it is not shown");
			continue;
		}
		if (len + n + 2 > cap) {
			char *nv;

			while (len + n + 2 > cap)
				cap *= 2;
			if ((nv = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = nv;
		}
		if (len > 0)
			out[len++] = '\n';
		memcpy(out + len, lab, n + 1);
		len += n;
	}
	return out;
}

/* Fills *MP; *KWP and MP->gm_labels are the caller's to free. */
void session_msg_att_parse(struct mailimap_msg_att *att, struct session_msg *mp, char **kwp)
{
	struct session_msg m = { 0 };
	char *kw = NULL;
	size_t kwlen = 0;
	bool bad_date = false;
	clistiter *it;

	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);

		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
			struct mailimap_msg_att_static *st = item->att_data.att_static;

			switch (st->att_type) {
			case MAILIMAP_MSG_ATT_UID:
				m.uid = st->att_data.att_uid;
				break;
			case MAILIMAP_MSG_ATT_RFC822_SIZE:
				m.size = st->att_data.att_rfc822_size;
				m.have_size = true;
				break;
			case MAILIMAP_MSG_ATT_INTERNALDATE:
				if (session_date_to_epoch(st->att_data.att_internal_date, &m.date, &m.tz) < 0)
					bad_date = true;
				break;
			default:
				break;
			}
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			clist *fl = item->att_data.att_dyn->att_list;
			clistiter *fi;

			m.have_flags = true;
			for (fi = fl ? clist_begin(fl) : NULL; fi != NULL; fi = clist_next(fi)) {
				struct mailimap_flag_fetch *ff = clist_content(fi);
				struct mailimap_flag *f = ff->fl_flag;

				if (ff->fl_type == MAILIMAP_FLAG_FETCH_RECENT || f == NULL)
					continue;
				switch (f->fl_type) {
				case MAILIMAP_FLAG_SEEN: m.sysflags |= SESSION_F_SEEN; break;
				case MAILIMAP_FLAG_ANSWERED: m.sysflags |= SESSION_F_ANSWERED; break;
				case MAILIMAP_FLAG_FLAGGED: m.sysflags |= SESSION_F_FLAGGED; break;
				case MAILIMAP_FLAG_DELETED: m.sysflags |= SESSION_F_DELETED; break;
				case MAILIMAP_FLAG_DRAFT: m.sysflags |= SESSION_F_DRAFT; break;
				case MAILIMAP_FLAG_KEYWORD:
					if (f->fl_data.fl_keyword)
						kw_add(&kw, &kwlen, "", f->fl_data.fl_keyword);
					break;
				case MAILIMAP_FLAG_EXTENSION:
					if (f->fl_data.fl_extension)
						kw_add(&kw, &kwlen, "\\", f->fl_data.fl_extension);
					break;
				}
			}
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION) {
			struct mailimap_extension_data *ed = item->att_data.att_extension_data;

			if (ed->ext_extension == &mailimap_extension_xgmmsgid && ed->ext_data != NULL)
				m.gm_msgid = *(uint64_t *)ed->ext_data;
			else if ((ed->ext_extension == &mailimap_extension_xgmlabels ||
				  ed->ext_extension == &lenient_labels) && ed->ext_data != NULL) {
				/* a hostile server may repeat it: the last one counts */
				free((char *)m.gm_labels);
				m.gm_labels = labels_join(ed->ext_data);
			}
			else if (ed->ext_extension == &mailimap_extension_condstore &&
			    ed->ext_type == MAILIMAP_CONDSTORE_TYPE_FETCH_DATA) {
				struct mailimap_condstore_fetch_mod_resp *mr = ed->ext_data;

				m.modseq = mr->cs_modseq_value;
			}
		}
	}
	if (bad_date)
		log_err("UID %u: the server sent an impossible INTERNALDATE; shown as 1970-01-01 +0000",
			m.uid);
	m.keywords = kw;
	*mp = m;
	*kwp = kw;
}

void session_meta_handler(struct mailimap_msg_att *att, void *vctx)
{
	struct session_meta_ctx *c = vctx;
	struct session_msg m;
	char *kw;

	if (c->cbrc != 0 || c->closed)
		return;
	session_msg_att_parse(att, &m, &kw);
	/* an unsolicited FETCH (a flag change, with or without UID) is not
	 * an answer to our metadata request, which always has RFC822.SIZE;
	 * UID 0 does not exist in IMAP */
	if (m.uid != 0 && m.have_size)
		c->cbrc = c->cb(c->cbctx, &m);
	free(kw);
	free((char *)m.gm_labels);
}

void session_no_progress(size_t current, size_t maximum, void *ctx)
{
}

/* The largest literal the server may send for the next command
 * (session_int.h). */
void session_literal_limit(struct session *s, uint64_t bytes)
{
	if (s->imap->imap_stream != NULL)
		tls_low_set_literal_limit(mailstream_get_low(s->imap->imap_stream), bytes);
}

/* UID FETCH with each reply handed to HANDLER as it is parsed and then
 * freed, so no whole reply is held in memory. */
static int fetch_streamed(struct session *s, struct mailimap_set *set, struct mailimap_fetch_type *ft,
			  void (*handler)(struct mailimap_msg_att *, void *), void *ctx, const char *what)
{
	clist *res = NULL;
	int r;

	/* libetpan only streams through the handler when a progress callback is set */
	mailimap_set_progress_callback(s->imap, NULL, session_no_progress, NULL);
	mailimap_set_msg_att_handler(s->imap, handler, ctx);
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	mailimap_set_progress_callback(s->imap, NULL, NULL, NULL);
	if (r == MAILIMAP_NO_ERROR)
		mailimap_fetch_list_free(res);
	return session_rc(s, r, what);
}

bool session_gmail(struct session *s)
{
	return session_has_cap(s, "X-GM-EXT-1");
}

/* On Gmail every metadata FETCH also asks for the message's identity and
 * labels, so that a re-flag or a poll brings the labels up to date too. */
void session_add_gmail_atts(struct session *s, struct mailimap_fetch_type *ft)
{
	struct mailimap_fetch_att *a;

	if (!session_gmail(s))
		return;
	if ((a = mailimap_fetch_att_new_xgmmsgid()) != NULL &&
	    mailimap_fetch_type_new_fetch_att_list_add(ft, a) != MAILIMAP_NO_ERROR)
		mailimap_fetch_att_free(a);
	if ((a = mailimap_fetch_att_new_xgmlabels()) != NULL &&
	    mailimap_fetch_type_new_fetch_att_list_add(ft, a) != MAILIMAP_NO_ERROR)
		mailimap_fetch_att_free(a);
}

int session_fetch_meta(struct session *s, uint32_t first, uint32_t last, session_msg_cb *cb, void *ctx)
{
	struct session_meta_ctx c = { .s = s, .cb = cb, .cbctx = ctx };
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	int rc;

	set = mailimap_set_new_interval(first, last);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (set == NULL || ft == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	if (session_has_cap(s, "CONDSTORE"))
		mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_modseq());
	session_add_gmail_atts(s, ft);

	/* LAST 0 is "*" to libetpan */
	if (last == 0)
		session_doing(s, "UID FETCH %s %u:* (metadata)", s->selected ? s->selected : "", first);
	else
		session_doing(s, "UID FETCH %s %u:%u (metadata)", s->selected ? s->selected : "", first, last);
	rc = fetch_streamed(s, set, ft, session_meta_handler, &c, "UID FETCH (metadata)");
	if (rc == 0 && c.cbrc != 0)
		rc = c.cbrc;
out:
	if (set)
		mailimap_set_free(set);
	if (ft)
		mailimap_fetch_type_free(ft);
	return rc;
}

/* The UID (0 if none) and the BODY[...] section (NULL if none) of one
 * FETCH reply. */
static uint32_t att_uid_body(struct mailimap_msg_att *att, struct mailimap_msg_att_body_section **body)
{
	uint32_t uid = 0;
	clistiter *it;

	*body = NULL;
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
			uid = item->att_data.att_static->att_data.att_uid;
		else if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
			*body = item->att_data.att_static->att_data.att_body_section;
	}
	return uid;
}

int session_fetch_body(struct session *s, uint32_t uid, uint64_t off, uint32_t len,
		       char **buf, size_t *got)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set = NULL;
	struct mailimap_section *sec;
	struct mailimap_fetch_att *fa;
	clist *res = NULL;
	clistiter *it;
	int rc, r;
	bool found = false;

	if (off > UINT32_MAX)
		return -EFBIG;	/* IMAP partial offsets are 32-bit */
	set = mailimap_set_new_single(uid);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	sec = mailimap_section_new(NULL);
	if (set == NULL || ft == NULL || sec == NULL) {
		if (sec)
			mailimap_section_free(sec);
		rc = -ENOMEM;
		goto out;
	}
	fa = mailimap_fetch_att_new_body_peek_section_partial(sec, (uint32_t)off, len);
	if (fa == NULL) {
		mailimap_section_free(sec);
		rc = -ENOMEM;
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, fa);
	/* the reply's literal is at most the window asked for */
	session_literal_limit(s, len);
	session_doing(s, "UID FETCH %s %u BODY.PEEK[]<%" PRIu64 ".%u>", s->selected ? s->selected : "",
		      uid, off, len);
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	session_literal_limit(s, GUARD_LITERAL_META);
	rc = session_rc(s, r, "UID FETCH (body)");
	if (rc < 0)
		goto out;
	for (it = clist_begin(res); it != NULL && !found; it = clist_next(it)) {
		struct mailimap_msg_att *att = clist_content(it);
		struct mailimap_msg_att_body_section *body;
		uint32_t this_uid = att_uid_body(att, &body);

		if (this_uid != uid || body == NULL)
			continue;
		found = true;
		if (body->sec_origin_octet != off && !(off == 0 && body->sec_origin_octet == 0)) {
			/* a server that ignored <off.len> would have us serve
			 * bytes at the wrong place */
			log_err("imap[%d]: UID %u: asked for bytes from %" PRIu64 ", got them from %u",
				s->id, uid, off, body->sec_origin_octet);
			s->broken = true;
			rc = -EIO;
			break;
		}
		if (body->sec_length > len) {
			log_err("imap[%d]: UID %u: server sent %zu bytes where at most %u were asked for",
				s->id, uid, body->sec_length, len);
			s->broken = true;
			rc = -EIO;
			break;
		}
		*got = body->sec_body_part ? body->sec_length : 0;
		*buf = malloc(*got + 1);
		if (*buf == NULL) {
			rc = -ENOMEM;
			break;
		}
		if (*got)
			memcpy(*buf, body->sec_body_part, *got);
		activity_fetched(0, *got);
	}
	if (rc == 0 && !found)
		rc = -ENOENT;
	mailimap_fetch_list_free(res);
out:
	if (set)
		mailimap_set_free(set);
	if (ft)
		mailimap_fetch_type_free(ft);
	return rc;
}

/* ---- FETCH of whole bodies, streamed ------------------------------------ */

struct bodies_ctx {
	struct session *s;
	const uint32_t *uids;	/* sorted */
	size_t n;
	session_body_cb *cb;
	void *cbctx;
	int cbrc;
};

static bool uid_wanted(const struct bodies_ctx *c, uint32_t uid)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->uids[mid] == uid)
			return true;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void bodies_handler(struct mailimap_msg_att *att, void *vctx)
{
	struct bodies_ctx *c = vctx;
	struct mailimap_msg_att_body_section *body;
	uint32_t uid;

	if (c->cbrc != 0)
		return;
	uid = att_uid_body(att, &body);
	/* unsolicited FETCHes (flag changes) carry no body; a body for a UID
	 * we did not ask for, or a part or a partial range of one, is not
	 * what we are filing */
	if (uid == 0 || body == NULL || !uid_wanted(c, uid))
		return;
	if ((body->sec_section != NULL && body->sec_section->sec_spec != NULL) || body->sec_origin_octet != 0) {
		log_err("imap[%d]: UID %u: asked for the whole body, got a part of it", c->s->id, uid);
		c->s->broken = true;
		c->cbrc = -EIO;
		return;
	}
	if (body->sec_body_part == NULL) {
		/* BODY[] NIL: the server could not give it; not an empty body */
		log_err("imap[%d]: UID %u: the server sent no body (NIL)", c->s->id, uid);
		return;
	}
	c->cbrc = c->cb(c->cbctx, uid, body->sec_body_part, body->sec_length);
	activity_fetched(1, body->sec_length);
}

int session_fetch_bodies(struct session *s, const uint32_t *uids, size_t n, uint64_t max_len,
			 session_body_cb *cb, void *ctx)
{
	struct bodies_ctx c = { .s = s, .uids = uids, .n = n, .cb = cb, .cbctx = ctx };
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set;
	struct mailimap_fetch_att *fa;
	struct mailimap_section *sec;
	int rc, r;

	set = mailimap_set_new_empty();
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (set == NULL || ft == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* runs of consecutive UIDs as ranges keep the command short */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		r = j == i ? mailimap_set_add_single(set, uids[i]) : mailimap_set_add_interval(set, uids[i], uids[j]);
		if (r != MAILIMAP_NO_ERROR) {
			rc = -ENOMEM;
			goto out;
		}
		i = j + 1;
	}
	sec = mailimap_section_new(NULL);
	fa = sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
	if (fa == NULL) {
		if (sec)
			mailimap_section_free(sec);
		rc = -ENOMEM;
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, fa);

	session_literal_limit(s, max_len);
	if (n > 0)
		session_doing(s, "UID FETCH %s %u:%u BODY.PEEK[] (%zu message%s)",
			      s->selected ? s->selected : "", uids[0], uids[n - 1], n, n == 1 ? "" : "s");
	rc = fetch_streamed(s, set, ft, bodies_handler, &c, "UID FETCH (bodies)");
	session_literal_limit(s, GUARD_LITERAL_META);
	/* a body over MAX_LEN: the caller may read it in windows instead */
	if (rc < 0 && s->imap->imap_stream != NULL &&
	    tls_low_last_errno(mailstream_get_low(s->imap->imap_stream)) == EFBIG)
		rc = -EFBIG;
	if (rc == 0 && c.cbrc != 0)
		rc = c.cbrc;
out:
	if (set)
		mailimap_set_free(set);
	if (ft)
		mailimap_fetch_type_free(ft);
	return rc;
}
