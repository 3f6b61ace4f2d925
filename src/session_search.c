/*
 * session_search — a query of the search views (search_query.h) sent as
 * one UID SEARCH in the selected mailbox.
 *
 * The query tree becomes libetpan's search keys one to one; every string
 * in it passes wire.h's checks (session_gate) before libetpan formats it,
 * although sq_parse has already refused control bytes. CHARSET UTF-8 is
 * sent only when a value is not plain ASCII: RFC 3501 lets a server know
 * no charset but US-ASCII, and some answer any CHARSET with [BADCHARSET].
 * Such values go as literals where the server offers LITERAL+ (a quoted
 * string is 7-bit by the grammar), else quoted, which Dovecot, Gmail and
 * most others take.
 */
#include "errmap.h"
#include "log.h"
#include "search_query.h"
#include "session.h"
#include "session_int.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct mailimap_search_key *plain(int type)
{
	return mailimap_search_key_new(type, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
				       NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0,
				       NULL, NULL, NULL);
}

/* A key with one string: libetpan takes the copy over. */
static struct mailimap_search_key *with_str(struct mailimap_search_key *(*mk)(char *), const char *v)
{
	char *c = strdup(v);
	struct mailimap_search_key *k = c != NULL ? mk(c) : NULL;

	if (k == NULL)
		free(c);
	return k;
}

static struct mailimap_search_key *with_date(struct mailimap_search_key *(*mk)(struct mailimap_date *),
					     const struct sq_node *q)
{
	struct mailimap_date *d = mailimap_date_new(q->day, q->month, q->year);
	struct mailimap_search_key *k = d != NULL ? mk(d) : NULL;

	if (k == NULL && d != NULL)
		mailimap_date_free(d);
	return k;
}

static struct mailimap_search_key *uid_key(const struct sq_node *q)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	struct mailimap_search_key *k;

	if (set == NULL)
		return NULL;
	for (size_t i = 0; i < q->nranges; i++) {
		if (mailimap_set_add_interval(set, q->ranges[i][0], q->ranges[i][1]) != MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return NULL;
		}
	}
	k = mailimap_search_key_new_uid(set);
	if (k == NULL)
		mailimap_set_free(set);
	return k;
}

static struct mailimap_search_key *build(struct session *s, const struct sq_node *q, int *rc);

/* The terms of the AND chain Q added to the list K in order: 0 or -1. */
static int add_and(struct session *s, struct mailimap_search_key *k, const struct sq_node *q, int *rc)
{
	struct mailimap_search_key *t;

	if (q->kind == SQ_AND)
		return add_and(s, k, q->a, rc) < 0 ? -1 : add_and(s, k, q->b, rc);
	t = build(s, q, rc);
	if (t == NULL)
		return -1;
	if (mailimap_search_key_multiple_add(k, t) != MAILIMAP_NO_ERROR) {
		mailimap_search_key_free(t);
		return -1;
	}
	return 0;
}

/* Q as search keys, or NULL (-ENOMEM, or -EINVAL in *RC when a string
 * fails the wire's checks). */
static struct mailimap_search_key *build(struct session *s, const struct sq_node *q, int *rc)
{
	struct mailimap_search_key *k = NULL, *a = NULL, *b = NULL;

	if ((q->value != NULL && session_gate(s, "UID SEARCH", q->value) < 0) ||
	    (q->name != NULL && session_gate(s, "UID SEARCH", q->name) < 0) ||
	    (q->kind == SQ_KEYWORD && wire_flag(q->value, strlen(q->value)) < 0)) {
		*rc = -EINVAL;
		return NULL;
	}
	switch (q->kind) {
	case SQ_AND:
		/* one list for a chain of ANDs, in the order written */
		k = mailimap_search_key_new_multiple_empty();
		if (k != NULL && add_and(s, k, q, rc) < 0) {
			mailimap_search_key_free(k);
			k = NULL;
		}
		return k;
	case SQ_OR:
		a = build(s, q->a, rc);
		b = a != NULL ? build(s, q->b, rc) : NULL;
		k = b != NULL ? mailimap_search_key_new_or(a, b) : NULL;
		break;
	case SQ_NOT:
		a = build(s, q->a, rc);
		b = NULL;
		k = a != NULL ? mailimap_search_key_new_not(a) : NULL;
		break;
	case SQ_HEADER: {
		char *n = strdup(q->name), *v = strdup(q->value);

		k = n != NULL && v != NULL ? mailimap_search_key_new_header(n, v) : NULL;
		if (k == NULL) {
			free(n);
			free(v);
		}
		return k;
	}
	case SQ_FROM: return with_str(mailimap_search_key_new_from, q->value);
	case SQ_TO: return with_str(mailimap_search_key_new_to, q->value);
	case SQ_CC: return with_str(mailimap_search_key_new_cc, q->value);
	case SQ_SUBJECT: return with_str(mailimap_search_key_new_subject, q->value);
	case SQ_BODY: return with_str(mailimap_search_key_new_body, q->value);
	case SQ_TEXT: return with_str(mailimap_search_key_new_text, q->value);
	case SQ_KEYWORD: return with_str(mailimap_search_key_new_keyword, q->value);
	case SQ_SINCE: return with_date(mailimap_search_key_new_since, q);
	case SQ_BEFORE: return with_date(mailimap_search_key_new_before, q);
	case SQ_ON: return with_date(mailimap_search_key_new_on, q);
	case SQ_LARGER: return mailimap_search_key_new_larger(q->num);
	case SQ_SMALLER: return mailimap_search_key_new_smaller(q->num);
	case SQ_SEEN: return plain(MAILIMAP_SEARCH_KEY_SEEN);
	case SQ_UNSEEN: return plain(MAILIMAP_SEARCH_KEY_UNSEEN);
	case SQ_FLAGGED: return plain(MAILIMAP_SEARCH_KEY_FLAGGED);
	case SQ_ANSWERED: return plain(MAILIMAP_SEARCH_KEY_ANSWERED);
	case SQ_DRAFT: return plain(MAILIMAP_SEARCH_KEY_DRAFT);
	case SQ_DELETED: return plain(MAILIMAP_SEARCH_KEY_DELETED);
	case SQ_UID: return uid_key(q);
	}
	/* OR and NOT: free what was built when the pair could not be */
	if (k == NULL) {
		if (a != NULL)
			mailimap_search_key_free(a);
		if (b != NULL)
			mailimap_search_key_free(b);
	}
	return k;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int session_uid_search(struct session *s, const struct sq_node *q, uint32_t **uids, size_t *n)
{
	struct mailimap_search_key *key;
	const char *charset = sq_needs_utf8(q) ? "UTF-8" : NULL;
	clist *res = NULL;
	clistiter *it;
	size_t i = 0, k;
	int rc = -ENOMEM, r;

	*uids = NULL;
	*n = 0;
	key = build(s, q, &rc);
	if (key == NULL)
		return rc;
	session_doing(s, "UID SEARCH %s (a search view)", s->selected ? s->selected : "");
	if (charset != NULL && session_has_cap(s, "LITERAL+"))
		r = mailimap_uid_search_literalplus(s->imap, charset, key, &res);
	else
		r = mailimap_uid_search(s->imap, charset, key, &res);
	mailimap_search_key_free(key);
	if (r == MAILIMAP_ERROR_PROTOCOL) {
		/* libetpan's answer to a tagged BAD: the server did not take
		 * the query. The connection is dropped, as after any BAD (its
		 * tag was checked, but one out of order reads the same) */
		session_doing(s, "%s", "");
		log_warn("imap[%d]: UID SEARCH refused by the server (BAD): %s", s->id, session_text(s));
		s->broken = true;
		return -EINVAL;
	}
	rc = session_rc(s, r, "UID SEARCH");
	if (rc < 0) {
		/* refused (NO or BAD): about the query, unless the server
		 * says otherwise with a code */
		if (!errmap_is_fatal(r) && r != MAILIMAP_ERROR_MEMORY)
			rc = -errmap_query_code(session_code(s));
		return rc;
	}
	*uids = malloc((clist_count(res) + 1) * sizeof(**uids));
	if (*uids == NULL) {
		mailimap_search_result_free(res);
		return -ENOMEM;
	}
	for (it = clist_begin(res); it != NULL; it = clist_next(it))
		if (*(uint32_t *)clist_content(it) != 0)
			(*uids)[i++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	/* ascending, each once: the server may list them in any order */
	qsort(*uids, i, sizeof(**uids), cmp_uid);
	for (k = 0; k < i; k++)
		if (k == 0 || (*uids)[k] != (*uids)[*n - 1])
			(*uids)[(*n)++] = (*uids)[k];
	return 0;
}
