/*
 * session_parts — what the parts view (.parts/UID/, issue 16) asks of the
 * server: a message's BODYSTRUCTURE as plain data (mime_parts.h), and a
 * window of one of its sections (BODY.PEEK[2.1]<off.len>, [HEADER],
 * [2.HEADER]) in the selected mailbox.
 *
 * libetpan parses BODYSTRUCTURE (guard.c has checked the framing of every
 * byte first); here its tree is copied into struct mime_part with the
 * IMAP part numbers RFC 3501 6.4.5 gives: a multipart's children are
 * N.1, N.2 ...; a non-multipart message's body is part 1; the body of a
 * message/rfc822 part N is N.1 when it is a single part, and its
 * children N.1, N.2 ... when it is a multipart (which itself has no
 * number of its own). File names are decoded (mime_param) from the
 * disposition's parameters, else from the content type's "name". The
 * depth is bounded (MIME_DEPTH), so a hostile structure cannot recurse
 * without end.
 */
#include "activity.h"
#include "guard.h"
#include "log.h"
#include "mime_decode.h"
#include "mime_parts.h"
#include "session.h"
#include "session_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIME_DEPTH 32
#define MIME_PARTS 2000	/* parts in all: more is no mail but an attack on the listing */
#define PARTS_HEADER_MAX (1u << 20)	/* a header larger is not taken with the structure */

static void lower_copy(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static char *lower_dup(const char *src)
{
	char *d = src != NULL ? strdup(src) : NULL;

	for (char *c = d; c != NULL && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d;
}

/* A parameter list's names and values as two arrays (pointers into L). */
static int params(clist *l, const char ***names, const char ***values, size_t *n)
{
	size_t k = 0;

	*n = l != NULL ? (size_t)clist_count(l) : 0;
	*names = calloc(*n + 1, sizeof(**names));
	*values = calloc(*n + 1, sizeof(**values));
	if (*names == NULL || *values == NULL) {
		free(*names);
		free(*values);
		*names = NULL;
		*values = NULL;
		return -ENOMEM;
	}
	for (clistiter *it = l != NULL ? clist_begin(l) : NULL; it != NULL; it = clist_next(it)) {
		struct mailimap_single_body_fld_param *p = clist_content(it);

		(*names)[k] = p->pa_name;
		(*values)[k++] = p->pa_value;
	}
	*n = k;
	return 0;
}

/* WANT from the parameter list L into *OUT (left as it is when absent). */
static int param(clist *l, const char *want, char **out)
{
	const char **names, **values;
	size_t n;
	char *v = NULL;
	int rc = params(l, &names, &values, &n);

	if (rc == 0)
		rc = mime_param(names, values, n, want, &v);
	free(names);
	free(values);
	if (rc == 1 && *out == NULL)
		*out = v;
	else
		free(v);
	return rc < 0 ? rc : 0;
}

static const char *const encodings[] = {
	[MAILIMAP_BODY_FLD_ENC_7BIT] = "7bit", [MAILIMAP_BODY_FLD_ENC_8BIT] = "8bit",
	[MAILIMAP_BODY_FLD_ENC_BINARY] = "binary", [MAILIMAP_BODY_FLD_ENC_BASE64] = "base64",
	[MAILIMAP_BODY_FLD_ENC_QUOTED_PRINTABLE] = "quoted-printable",
};

static const char *const media[] = {
	[MAILIMAP_MEDIA_BASIC_APPLICATION] = "application", [MAILIMAP_MEDIA_BASIC_AUDIO] = "audio",
	[MAILIMAP_MEDIA_BASIC_IMAGE] = "image", [MAILIMAP_MEDIA_BASIC_MESSAGE] = "message",
	[MAILIMAP_MEDIA_BASIC_VIDEO] = "video",
};

/* The fields every single part has: parameters, encoding, size. */
static int fields(const struct mailimap_body_fields *f, struct mime_part *p)
{
	int rc = 0;

	if (f == NULL)
		return 0;
	if (f->bd_encoding != NULL) {
		int t = f->bd_encoding->enc_type;

		p->encoding = t == MAILIMAP_BODY_FLD_ENC_OTHER || t < 0 || t > MAILIMAP_BODY_FLD_ENC_QUOTED_PRINTABLE ?
			lower_dup(f->bd_encoding->enc_value) : strdup(encodings[t]);
		if (p->encoding == NULL && (f->bd_encoding->enc_value != NULL || t != MAILIMAP_BODY_FLD_ENC_OTHER))
			return -ENOMEM;
	}
	p->size = f->bd_size;
	if (f->bd_parameter != NULL) {
		rc = param(f->bd_parameter->pa_list, "charset", &p->charset);
		if (rc == 0)
			rc = param(f->bd_parameter->pa_list, "name", &p->filename);
	}
	return rc;
}

/* The disposition (attachment or not, and its file name, which wins over
 * the content type's name). */
static int disposition(const struct mailimap_body_ext_1part *ext, struct mime_part *p)
{
	const struct mailimap_body_fld_dsp *d = ext != NULL ? ext->bd_disposition : NULL;
	char *fname = NULL;
	int rc;

	if (d == NULL)
		return 0;
	p->attachment = d->dsp_type != NULL && strcasecmp(d->dsp_type, "attachment") == 0;
	rc = d->dsp_attributes != NULL ? param(d->dsp_attributes->pa_list, "filename", &fname) : 0;
	if (fname != NULL) {
		free(p->filename);
		p->filename = fname;
	}
	return rc;
}

static int convert(const struct mailimap_body *b, const char *section, int depth, int *count, struct mime_part *p);

/* The children of multipart B as parts PREFIX.1, PREFIX.2 ... */
static int convert_children(const struct mailimap_body_type_mpart *m, const char *prefix, int depth,
			    int *count, struct mime_part *p)
{
	size_t n = m->bd_list != NULL ? (size_t)clist_count(m->bd_list) : 0, k = 0;
	char sec[sizeof(p->section)];
	int rc = 0;

	p->child = calloc(n ? n : 1, sizeof(*p->child));
	if (p->child == NULL)
		return -ENOMEM;
	for (clistiter *it = n ? clist_begin(m->bd_list) : NULL; it != NULL && rc == 0; it = clist_next(it)) {
		int w = snprintf(sec, sizeof(sec), "%s%s%zu", prefix, prefix[0] ? "." : "", k + 1);

		if (w < 0 || (size_t)w >= sizeof(sec))
			return -EPROTO;	/* nested deeper than a part number holds */
		rc = convert(clist_content(it), sec, depth + 1, count, &p->child[k]);
		p->nchild = ++k;
	}
	return rc;
}

/* B, which is part SECTION ("" for a message's multipart top), into P. */
static int convert(const struct mailimap_body *b, const char *section, int depth, int *count, struct mime_part *p)
{
	const struct mailimap_body_type_1part *one;
	int rc;

	memset(p, 0, sizeof(*p));
	if (depth > MIME_DEPTH || b == NULL || ++*count > MIME_PARTS)
		return -EPROTO;
	if (b->bd_type == MAILIMAP_BODY_MPART) {
		const struct mailimap_body_type_mpart *m = b->bd_data.bd_body_mpart;

		snprintf(p->type, sizeof(p->type), "multipart");
		lower_copy(p->subtype, sizeof(p->subtype), m->bd_media_subtype);
		/* a multipart has no number of its own but the one its
		 * parent gives it (a multipart inside a multipart) */
		snprintf(p->section, sizeof(p->section), "%s", section);
		return convert_children(m, section, depth, count, p);
	}
	one = b->bd_data.bd_body_1part;
	/* a single-part message's body is part 1 */
	snprintf(p->section, sizeof(p->section), "%s", section[0] ? section : "1");
	switch (one->bd_type) {
	case MAILIMAP_BODY_TYPE_1PART_TEXT:
		snprintf(p->type, sizeof(p->type), "text");
		lower_copy(p->subtype, sizeof(p->subtype), one->bd_data.bd_type_text->bd_media_text);
		rc = fields(one->bd_data.bd_type_text->bd_fields, p);
		break;
	case MAILIMAP_BODY_TYPE_1PART_MSG: {
		const struct mailimap_body_type_msg *msg = one->bd_data.bd_type_msg;

		snprintf(p->type, sizeof(p->type), "message");
		snprintf(p->subtype, sizeof(p->subtype), "rfc822");
		rc = fields(msg->bd_fields, p);
		if (rc == 0 && msg->bd_body != NULL) {
			p->child = calloc(1, sizeof(*p->child));
			if (p->child == NULL)
				return -ENOMEM;
			p->nchild = 1;
			if (msg->bd_body->bd_type == MAILIMAP_BODY_MPART) {
				/* its children are N.1, N.2 ...; the multipart
				 * itself has no number */
				const struct mailimap_body_type_mpart *m = msg->bd_body->bd_data.bd_body_mpart;
				struct mime_part *c = &p->child[0];

				snprintf(c->type, sizeof(c->type), "multipart");
				lower_copy(c->subtype, sizeof(c->subtype), m->bd_media_subtype);
				rc = depth + 1 > MIME_DEPTH ? -EPROTO : convert_children(m, p->section, depth + 1, count, c);
			} else {
				char sec[sizeof(p->section)];
				int w = snprintf(sec, sizeof(sec), "%s.1", p->section);

				rc = w < 0 || (size_t)w >= sizeof(sec) ? -EPROTO :
					convert(msg->bd_body, sec, depth + 1, count, &p->child[0]);
			}
		}
		break;
	}
	default: {
		const struct mailimap_media_basic *mb = one->bd_data.bd_type_basic->bd_media_basic;

		if (mb->med_type == MAILIMAP_MEDIA_BASIC_OTHER || mb->med_type < 0 ||
		    mb->med_type > MAILIMAP_MEDIA_BASIC_VIDEO)
			lower_copy(p->type, sizeof(p->type), mb->med_basic_type);
		else
			snprintf(p->type, sizeof(p->type), "%s", media[mb->med_type]);
		lower_copy(p->subtype, sizeof(p->subtype), mb->med_subtype);
		rc = fields(one->bd_data.bd_type_basic->bd_fields, p);
		break;
	}
	}
	if (rc == 0)
		rc = disposition(one->bd_ext_1part, p);
	return rc;
}

/* ---- sections ----------------------------------------------------------- */

/* SECTION ("", "HEADER", "2.1", "2.1.HEADER") as libetpan's section, or
 * NULL (-EINVAL: anything else, so no other byte can reach the wire; or
 * out of memory). Part numbers are 1 to 2^31 without leading zeros. */
static int section_new(const char *section, struct mailimap_section **out)
{
	struct mailimap_section_part *part = NULL;
	clist *ids = NULL;
	const char *p = section;
	bool header = false;
	int rc = -ENOMEM;

	*out = NULL;
	if (strcmp(section, "") == 0) {
		*out = mailimap_section_new(NULL);
		return *out != NULL ? 0 : -ENOMEM;
	}
	if (strcmp(section, "HEADER") == 0) {
		*out = mailimap_section_new_header();
		return *out != NULL ? 0 : -ENOMEM;
	}
	ids = clist_new();
	if (ids == NULL)
		return -ENOMEM;
	while (*p != '\0') {
		uint32_t *id;
		unsigned long v = 0;
		const char *start = p;

		if (strcmp(p, "HEADER") == 0 && p != section) {
			header = true;
			break;
		}
		while (*p >= '0' && *p <= '9' && p - start < 10)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == start || *start == '0' || v > 0x7fffffffUL || (*p != '.' && *p != '\0') ||
		    (*p == '.' && p[1] == '\0')) {
			rc = -EINVAL;
			goto fail;
		}
		if (*p == '.')
			p++;
		id = malloc(sizeof(*id));
		if (id == NULL || clist_append(ids, id) < 0) {
			free(id);
			goto fail;
		}
		*id = (uint32_t)v;
	}
	part = mailimap_section_part_new(ids);
	if (part == NULL)
		goto fail;
	ids = NULL;
	*out = header ? mailimap_section_new_part_header(part) : mailimap_section_new_part(part);
	if (*out == NULL) {
		mailimap_section_part_free(part);
		return -ENOMEM;
	}
	return 0;
fail:
	if (ids != NULL) {
		for (clistiter *it = clist_begin(ids); it != NULL; it = clist_next(it))
			free(clist_content(it));
		clist_free(ids);
	}
	return rc;
}

/* An answer's section written as section_new reads it, into BUF ("?" for
 * any other kind: it matches no request). */
static void section_str(const struct mailimap_section *sec, char *buf, size_t len)
{
	const struct mailimap_section_spec *sp = sec != NULL ? sec->sec_spec : NULL;
	size_t at = 0;

	buf[0] = '\0';
	if (sp == NULL)
		return;
	if (sp->sec_type == MAILIMAP_SECTION_SPEC_SECTION_MSGTEXT) {
		bool hdr = sp->sec_data.sec_msgtext != NULL &&
			sp->sec_data.sec_msgtext->sec_type == MAILIMAP_SECTION_MSGTEXT_HEADER;

		snprintf(buf, len, "%s", hdr ? "HEADER" : "?");
		return;
	}
	for (clistiter *it = sp->sec_data.sec_part != NULL ? clist_begin(sp->sec_data.sec_part->sec_id) : NULL;
	     it != NULL && at < len; it = clist_next(it)) {
		int w = snprintf(buf + at, len - at, "%s%" PRIu32, at ? "." : "", *(uint32_t *)clist_content(it));

		at = w < 0 ? len : at + (size_t)w;
	}
	if (sp->sec_text != NULL && at < len) {
		bool hdr = sp->sec_text->sec_type == MAILIMAP_SECTION_TEXT_SECTION_MSGTEXT &&
			sp->sec_text->sec_msgtext != NULL &&
			sp->sec_text->sec_msgtext->sec_type == MAILIMAP_SECTION_MSGTEXT_HEADER;

		snprintf(buf + at, len - at, hdr ? ".HEADER" : ".?");
	}
}

static void sections_drop(struct session_section *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(req[i].buf);
		req[i].buf = NULL;
		req[i].got = 0;
	}
}

/* One body section of the answer into the request it answers. */
static int section_take(struct session *s, uint32_t uid, const struct mailimap_msg_att_body_section *b,
			struct session_section *req, size_t n)
{
	char name[96];
	size_t i, best = n, len = b->sec_body_part != NULL ? b->sec_length : 0;

	section_str(b->sec_section, name, sizeof(name));
	/* a partial answer names its origin, a whole one none (0); of two
	 * pieces from one place (a whole section and its first KiB) the
	 * smallest the answer fits, whatever order the server answers in */
	for (i = 0; i < n; i++) {
		const struct session_section *r = &req[i];
		uint32_t lim = r->len ? r->len : r->max;

		if (r->buf == NULL && strcmp(r->section, name) == 0 && r->off == b->sec_origin_octet &&
		    len <= lim && (best == n || lim < (req[best].len ? req[best].len : req[best].max)))
			best = i;
	}
	if (best == n) {
		for (i = 0; i < n; i++)
			if (req[i].buf == NULL && strcmp(req[i].section, name) == 0 &&
			    req[i].off == b->sec_origin_octet)
				break;
	} else {
		i = best;
	}
	if (i == n) {
		/* nothing we asked for: a server that ignored <off.len> would
		 * have us serve bytes at the wrong place */
		log_err("imap[%d]: UID %u: an answer for section [%s]<%u> that was not asked for", s->id, uid,
			name[0] == '?' ? "other" : name, b->sec_origin_octet);
		s->broken = true;
		return -EIO;
	}
	if (b->sec_length > (req[i].len ? req[i].len : req[i].max)) {
		log_err("imap[%d]: UID %u: server sent %zu bytes of [%s] where at most %u were asked for", s->id,
			uid, b->sec_length, name, req[i].len ? req[i].len : req[i].max);
		s->broken = true;
		return -EIO;
	}
	req[i].got = b->sec_body_part != NULL ? b->sec_length : 0;
	req[i].buf = malloc(req[i].got + 1);
	if (req[i].buf == NULL)
		return -ENOMEM;
	if (req[i].got)
		memcpy(req[i].buf, b->sec_body_part, req[i].got);
	req[i].buf[req[i].got] = '\0';
	activity_fetched(0, req[i].got);
	return 0;
}

/* REQ's items added to FT. */
static int sections_add(struct mailimap_fetch_type *ft, const struct session_section *req, size_t n,
			uint32_t *limit)
{
	for (size_t i = 0; i < n; i++) {
		struct mailimap_section *sec;
		struct mailimap_fetch_att *fa;
		int rc = section_new(req[i].section, &sec);

		if (rc < 0)
			return rc;
		if (req[i].off > UINT32_MAX) {
			mailimap_section_free(sec);
			return -EFBIG;	/* IMAP partial offsets are 32-bit */
		}
		fa = req[i].len ? mailimap_fetch_att_new_body_peek_section_partial(sec, (uint32_t)req[i].off,
										   req[i].len)
				: mailimap_fetch_att_new_body_peek_section(sec);
		if (fa == NULL) {
			mailimap_section_free(sec);
			return -ENOMEM;
		}
		if (mailimap_fetch_type_new_fetch_att_list_add(ft, fa) != MAILIMAP_NO_ERROR) {
			mailimap_fetch_att_free(fa);
			return -ENOMEM;
		}
		if ((req[i].len ? req[i].len : req[i].max) > *limit)
			*limit = req[i].len ? req[i].len : req[i].max;
	}
	return 0;
}

int session_fetch_sections(struct session *s, uint32_t uid, struct session_section *req, size_t n)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_single(uid);
	uint32_t limit = 0;
	clist *res = NULL;
	bool found = false;
	int rc, r;

	for (size_t i = 0; i < n; i++) {
		req[i].buf = NULL;
		req[i].got = 0;
	}
	rc = ft != NULL && set != NULL ? sections_add(ft, req, n, &limit) : -ENOMEM;
	if (rc == 0 && mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) !=
			       MAILIMAP_NO_ERROR)
		rc = -ENOMEM;
	if (rc < 0)
		goto out;
	/* each literal of the answer is at most the largest piece asked for */
	session_literal_limit(s, limit ? limit : 1);
	session_doing(s, "UID FETCH %s %u (%zu sections, first [%s])", s->selected ? s->selected : "", uid, n,
		      n ? req[0].section : "");
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	session_literal_limit(s, GUARD_LITERAL_META);
	rc = session_rc(s, r, "UID FETCH (sections)");
	if (rc < 0)
		goto out;
	for (clistiter *it = clist_begin(res); it != NULL && rc == 0; it = clist_next(it)) {
		struct mailimap_msg_att *att = clist_content(it);
		uint32_t got = 0;

		for (clistiter *i = clist_begin(att->att_list); i != NULL; i = clist_next(i)) {
			struct mailimap_msg_att_item *item = clist_content(i);

			if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
			    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
				got = item->att_data.att_static->att_data.att_uid;
		}
		if (got != uid)
			continue;
		found = true;
		for (clistiter *i = clist_begin(att->att_list); i != NULL && rc == 0; i = clist_next(i)) {
			struct mailimap_msg_att_item *item = clist_content(i);

			if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
			    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
				rc = section_take(s, uid, item->att_data.att_static->att_data.att_body_section,
						  req, n);
		}
	}
	if (rc == 0 && !found)
		rc = -ENOENT;
	mailimap_fetch_list_free(res);
out:
	if (rc < 0)
		sections_drop(req, n);
	if (set != NULL)
		mailimap_set_free(set);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	return rc;
}

/* ---- the commands ------------------------------------------------------- */

int session_fetch_structure(struct session *s, uint32_t uid, struct mime_part *out, char **header,
			    size_t *hlen)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_fetch_att *fa = mailimap_fetch_att_new_bodystructure();
	struct mailimap_set *set = mailimap_set_new_single(uid);
	clist *res = NULL;
	uint32_t limit = 0;
	int rc = -ENOENT, r;

	memset(out, 0, sizeof(*out));
	if (ft == NULL || fa == NULL || set == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, fa) != MAILIMAP_NO_ERROR) {
		if (fa != NULL)
			mailimap_fetch_att_free(fa);
		rc = -ENOMEM;
		goto out;
	}
	fa = NULL;
	if (mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR) {
		rc = -ENOMEM;
		goto out;
	}
	if (header != NULL) {
		/* one byte more than taken: a header that long is read later,
		 * in windows, like a part */
		struct session_section hs = { .section = "HEADER", .off = 0, .len = PARTS_HEADER_MAX + 1 };

		*header = NULL;
		*hlen = 0;
		rc = sections_add(ft, &hs, 1, &limit);
		if (rc < 0)
			goto out;
	}
	session_doing(s, "UID FETCH %s %u (BODYSTRUCTURE%s)", s->selected ? s->selected : "", uid,
		      header != NULL ? " BODY.PEEK[HEADER]" : "");
	session_literal_limit(s, limit > GUARD_LITERAL_META ? limit : GUARD_LITERAL_META);
	r = mailimap_uid_fetch(s->imap, set, ft, &res);
	session_literal_limit(s, GUARD_LITERAL_META);
	rc = session_rc(s, r, "UID FETCH (BODYSTRUCTURE)");
	if (r == MAILIMAP_ERROR_PARSE)
		rc = -EPROTO;	/* a structure that cannot be read, not a lost connection */
	if (rc < 0)
		goto out;
	rc = -ENOENT;
	for (clistiter *it = clist_begin(res); it != NULL && rc == -ENOENT; it = clist_next(it)) {
		struct mailimap_msg_att *att = clist_content(it);
		const struct mailimap_body *body = NULL;
		const struct mailimap_msg_att_body_section *hdr = NULL;
		uint32_t got = 0;

		for (clistiter *i = clist_begin(att->att_list); i != NULL; i = clist_next(i)) {
			struct mailimap_msg_att_item *item = clist_content(i);

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
				got = item->att_data.att_static->att_data.att_uid;
			else if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODYSTRUCTURE)
				body = item->att_data.att_static->att_data.att_bodystructure;
			else if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
				hdr = item->att_data.att_static->att_data.att_body_section;
		}
		if (hdr != NULL) {
			char name[16];

			section_str(hdr->sec_section, name, sizeof(name));
			if (strcmp(name, "HEADER") != 0 || hdr->sec_origin_octet != 0)
				hdr = NULL;	/* not what was asked for: not the header */
		}
		if (got == uid && body != NULL && header != NULL && hdr != NULL && hdr->sec_length <= PARTS_HEADER_MAX) {
			*hlen = hdr->sec_body_part != NULL ? hdr->sec_length : 0;
			*header = malloc(*hlen + 1);
			if (*header == NULL) {
				rc = -ENOMEM;
				break;
			}
			if (*hlen)
				memcpy(*header, hdr->sec_body_part, *hlen);
			(*header)[*hlen] = '\0';
		}
		if (got == uid && body != NULL) {
			int count = 0;

			rc = convert(body, "", 0, &count, out);
			if (rc == -EPROTO)
				log_err("imap[%d]: UID %u: a MIME structure nested deeper than %d parts, or of "
					"more than %d", s->id, uid, MIME_DEPTH, MIME_PARTS);
			if (rc < 0)
				mime_part_clear(out);
		}
	}
	if (rc < 0 && header != NULL) {
		free(*header);
		*header = NULL;
	}
	mailimap_fetch_list_free(res);
out:
	if (set != NULL)
		mailimap_set_free(set);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	return rc;
}
