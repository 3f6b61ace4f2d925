/*
 * session — connect, secure and log in one IMAP connection, then run the
 * few commands the core needs through libetpan and hand back plain data.
 *
 * Order of checks in session_open follows RFC 3501 §6.2.1 and the lessons
 * of CVE-2020-15953: never send a credential before the channel is verified
 * TLS (or the user named insecure_plaintext for a loopback server), refuse
 * PREAUTH on a connection we meant to upgrade, refuse bytes that arrived
 * between "OK Begin TLS" and the handshake, ask CAPABILITY again after TLS,
 * honour LOGINDISABLED.
 */
#include "session.h"
#include "activity.h"
#include "connhint.h"
#include "deadline.h"
#include "errmap.h"
#include "log.h"
#include "rights.h"
#include "secret.h"
#include "guard.h"
#include "tls.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>
#include <openssl/evp.h>

/* Used by one thread at a time (whoever checked it out of the pool); the
 * pool reads `broken` and `selected` only while it owns the session too. */
struct session {
	mailimap *imap;
	int id;
	bool broken;
	bool transport_failed;	/* broken by the transport (reset, EOF, timeout), not a bad reply */
	char *selected;		/* mailbox selected, or NULL */
	bool selected_ro;
	/* what the server has selected, or NULL, also where `selected` was
	 * forgotten to force a fresh SELECT: session_leave looks here */
	char *open;
	bool open_ro;
	uint64_t selected_epoch;	/* the caller's epoch when it was selected */
	const char *alert_seen;		/* last [ALERT] logged (libetpan's string) */
	bool qresync;			/* ENABLE QRESYNC succeeded */
	const struct config *cfg;
	char refusal[256];		/* the server's "[CODE] text" when it refused the last APPEND, else "" */
	/* the command on the wire, for `imapfs status` (session_describe,
	 * read by another thread): set by session_doing before the command,
	 * cleared by session_rc after it; "" between commands. Guarded by
	 * doing_lock, a leaf lock (taken under pool.lock, never the reverse). */
	pthread_mutex_t doing_lock;
	char doing[192];
	struct timespec doing_since;	/* CLOCK_MONOTONIC */
};

static int session_fail(char *err, unsigned errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int session_fail(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 0;
}

/* mailimap_free without its LOGOUT round trip (it would send one and wait
 * for the answer): a broken or stalled server must not delay anything. */
static void imap_free_quietly(mailimap *imap)
{
	if (imap->imap_stream != NULL) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
}

static int session_rc(struct session *s, int r, const char *what);

static void session_doing(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Note the command about to be sent (activity.h): its verb, the mailbox
 * (escaped as log_msg does) and UIDs; never a secret or message bytes. */
static void session_doing(struct session *s, const char *fmt, ...)
{
	char raw[sizeof(s->doing)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->doing_lock);
	log_escape(raw, s->doing, sizeof(s->doing));
	clock_gettime(CLOCK_MONOTONIC, &s->doing_since);
	pthread_mutex_unlock(&s->doing_lock);
}

void session_describe(struct session *s, char *buf, size_t len)
{
	struct timespec now;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&s->doing_lock);
	secs = (double)(now.tv_sec - s->doing_since.tv_sec) + (now.tv_nsec - s->doing_since.tv_nsec) / 1e9;
	if (s->doing[0] != '\0')
		snprintf(buf, len, "%s (%.1f s)", s->doing, secs);
	else
		snprintf(buf, len, "between commands");
	pthread_mutex_unlock(&s->doing_lock);
}

/* Every mailbox name, pattern and search value passes here before libetpan
 * formats it (wire.h): one with CR or LF is refused, nothing is sent. */
static int session_gate(const struct session *s, const char *what, const char *str)
{
	if (wire_astring(str) == 0)
		return 0;
	log_err("imap[%d]: %s: refusing to send a name with CR or LF in it: \"%s\"", s->id, what,
		str ? str : "(null)");
	return -EINVAL;
}

/* Keywords and flags pass here (they are sent as bare atoms). */
static int session_gate_flags(const struct session *s, const char *what, const struct session_flags *f)
{
	if (wire_flag_list(f->keywords) == 0)
		return 0;
	log_err("imap[%d]: %s: refusing flags that are not IMAP atoms: \"%s\"", s->id, what, f->keywords);
	return -EINVAL;
}

/* ENABLE QRESYNC (RFC 7162) where offered, so a mailbox can be brought up
 * to date with one SELECT. Failing to is not an error: we resync without. */
static void session_enable_qresync(struct session *s)
{
	struct mailimap_capability_data *want, *got = NULL;
	struct mailimap_capability *cap;
	clist *l;
	char *name;

	if (!session_has_cap(s, "QRESYNC") || !session_has_cap(s, "ENABLE"))
		return;
	l = clist_new();
	name = strdup("QRESYNC");
	cap = name ? mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, name) : NULL;
	if (l == NULL || cap == NULL || clist_append(l, cap) < 0) {
		if (cap)
			mailimap_capability_free(cap);
		else
			free(name);
		if (l)
			clist_free(l);
		return;
	}
	want = mailimap_capability_data_new(l);
	if (want == NULL) {
		mailimap_capability_free(cap);
		clist_free(l);
		return;
	}
	if (session_rc(s, mailimap_enable(s->imap, want, &got), "ENABLE QRESYNC") == 0)
		s->qresync = true;
	if (got)
		mailimap_capability_data_free(got);
	mailimap_capability_data_free(want);
}

static const char *session_text(const struct session *s)
{
	const char *t = s->imap->imap_response;

	return (t != NULL && *t != '\0') ? t : "(no text)";
}

static const char *session_code(const struct session *s)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;

	if (ri == NULL)
		return NULL;
	if (ri->rsp_atom != NULL)
		return ri->rsp_atom;
	if (ri->rsp_trycreate)
		return "TRYCREATE";
	return NULL;
}

/*
 * Turn a libetpan result into 0 / -errno, logging failures with the
 * server's text, and mark the session broken when the stream is unusable.
 */
static int session_rc(struct session *s, int r, const char *what)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	int e;

	/* the answer is in: nothing on the wire for `imapfs status` now */
	pthread_mutex_lock(&s->doing_lock);
	s->doing[0] = '\0';
	pthread_mutex_unlock(&s->doing_lock);
	/* RFC 3501 7.1: an [ALERT] must be shown to the user; the log is
	 * where a daemon's user looks */
	if (ri != NULL && ri->rsp_alert != NULL && ri->rsp_alert != s->alert_seen) {
		/* libetpan owns the string; remember it so it is logged once */
		log_warn("imap[%d]: ALERT from the server: %s", s->id, ri->rsp_alert);
		s->alert_seen = ri->rsp_alert;
	}
	if (r == MAILIMAP_NO_ERROR)
		return 0;
	if (errmap_is_fatal(r)) {
		int low = tls_low_last_errno(s->imap->imap_stream ?
					     mailstream_get_low(s->imap->imap_stream) : NULL);

		s->broken = true;
		s->transport_failed = r != MAILIMAP_ERROR_PARSE && low != EPROTO && low != EFBIG;
		e = (low == ETIMEDOUT) ? ETIMEDOUT : EIO;
		if (r == MAILIMAP_ERROR_PARSE)
			log_err("imap[%d]: %s: unparsable reply from the server; dropping the connection",
				s->id, what);
		else if (low == ETIMEDOUT && deadline_expired())
			log_err("imap[%d]: %s: not done by the operation's deadline (timeout=%d s, at most "
				"twice that per operation); dropping the connection", s->id, what, s->cfg->timeout);
		else if (low == ETIMEDOUT)
			log_err("imap[%d]: %s: no answer within %d s; dropping the connection",
				s->id, what, s->cfg->timeout);
		else
			log_err("imap[%d]: %s: connection failed (libetpan error %d%s%s); dropping it",
				s->id, what, r, low ? ", " : "", low ? strerror(low) : "");
		return -e;
	}
	e = errmap_etpan(r, session_code(s));
	log_err("imap[%d]: %s refused by the server: %s%s%s", s->id, what,
		session_code(s) ? "[" : "", session_code(s) ? session_code(s) : "",
		session_code(s) ? "] " : "");
	log_err("imap[%d]: server said: %s", s->id, session_text(s));
	return -e;
}

bool session_broken(const struct session *s)
{
	return s->broken;
}

int session_id(const struct session *s)
{
	return s->id;
}

bool session_has_cap(const struct session *s, const char *cap)
{
	return mailimap_has_extension(s->imap, (char *)cap) != 0;
}

const char *session_selected(const struct session *s)
{
	return s->selected;
}

static int session_capability(struct session *s)
{
	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->imap, &cap);

	if (r == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	return session_rc(s, r, "CAPABILITY");
}

/* Replace the plain stream under libetpan by a verified TLS one (STARTTLS). */
static int session_upgrade(struct session *s, const struct session_params *p,
			   struct tls_trace trace, char *err, unsigned errlen)
{
	mailstream *stream = s->imap->imap_stream;
	mailstream_low *plain = mailstream_get_low(stream), *secure = NULL;
	int fd, rc;

	int r = mailimap_starttls(s->imap);

	/* Anything already buffered was sent before TLS and could be injected
	 * by an attacker: refuse rather than parse it as if it were secure.
	 * (libetpan may itself fail the command for this reason.) */
	if (stream->read_buffer_len != 0 || tls_low_has_pending(plain)) {
		s->broken = true;
		session_fail(err, errlen, "%s sent data right after STARTTLS (possible response injection); refusing",
			     p->url->host);
		return -EPROTO;
	}
	if (r != MAILIMAP_NO_ERROR) {
		s->broken = errmap_is_fatal(r);
		session_fail(err, errlen, "STARTTLS failed on %s: %s", p->url->host,
			     s->broken ? "connection lost" : session_text(s));
		return -EPROTO;
	}
	fd = fcntl(mailstream_low_get_fd(plain), F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		session_fail(err, errlen, "dup: %s", strerror(errno));
		return -errno;
	}
	rc = tls_low_tls(p->tls, fd, p->url->host, p->cfg->timeout, trace, &secure, err, errlen);
	if (rc < 0)
		return rc;
	mailstream_low_close(plain);
	mailstream_low_free(plain);
	mailstream_set_low(stream, secure);
	return 0;
}

/* ---- login ------------------------------------------------------------ */

/* libetpan exports this parser but does not install its header
 * (mailimap_parser.h); mailimap_oauth2_authenticate uses it the same way
 * to tell a SASL continuation ("+ ...") from the final response. */
struct mailimap_parser_context;
int mailimap_continue_req_parse(mailstream *fd, MMAPString *buffer,
				struct mailimap_parser_context *parser_ctx, size_t *indx,
				struct mailimap_continue_req **result, size_t progr_rate,
				progress_function *progr_fun);

/* Write the pieces of one line and flush. PRIVATE keeps it out of the
 * protocol trace (tls.c shows only "TAG COMMAND <redacted>"). */
static int session_send_line(struct session *s, bool private_data, const char *a, const char *b)
{
	mailstream *st = s->imap->imap_stream;
	int r = MAILIMAP_NO_ERROR;

	mailstream_set_privacy(st, private_data ? 0 : 1);
	if (mailstream_write(st, a, strlen(a)) < 0 || (b != NULL && mailstream_write(st, b, strlen(b)) < 0) ||
	    mailstream_write(st, "\r\n", 2) < 0 || mailstream_flush(st) < 0)
		r = MAILIMAP_ERROR_STREAM;
	mailstream_set_privacy(st, 1);
	return r;
}

/* Read one line; true if it is a continuation request. */
static int session_read_cont(struct session *s, bool *cont)
{
	struct mailimap_continue_req *cr = NULL;
	size_t indx = 0;
	int r;

	if (mailimap_read_line(s->imap) == NULL)
		return MAILIMAP_ERROR_STREAM;
	r = mailimap_continue_req_parse(s->imap->imap_stream, s->imap->imap_stream_buffer, NULL, &indx,
					&cr, s->imap->imap_progr_rate, s->imap->imap_progr_fun);
	*cont = (r == MAILIMAP_NO_ERROR);
	if (cr != NULL)
		mailimap_continue_req_free(cr);
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_ERROR_PARSE ? MAILIMAP_NO_ERROR : r;
}

/*
 * AUTHENTICATE MECH with one client response RESP (base64), sent inline
 * when the server has SASL-IR (RFC 4959), else after its "+". A second "+"
 * is the server's error challenge (RFC 7628 §3.2.3): answer ABORT and read
 * the tagged NO. libetpan parses every server line; the tag is its own.
 */
static int session_sasl(struct session *s, const char *mech, const char *resp, const char *abort)
{
	struct mailimap_response *rsp = NULL;
	char cmd[64];
	bool cont = false;
	int r, ok;

	r = mailimap_send_current_tag(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	snprintf(cmd, sizeof(cmd), "AUTHENTICATE %s%s", mech, session_has_cap(s, "SASL-IR") ? " " : "");
	if (session_has_cap(s, "SASL-IR")) {
		r = session_send_line(s, true, cmd, resp);
	} else {
		r = session_send_line(s, false, cmd, NULL);
		if (r == MAILIMAP_NO_ERROR)
			r = session_read_cont(s, &cont);
		if (r == MAILIMAP_NO_ERROR && cont)
			r = session_send_line(s, true, resp, NULL);
		else if (r == MAILIMAP_NO_ERROR)
			goto response;	/* refused the mechanism outright */
	}
	if (r == MAILIMAP_NO_ERROR)
		r = session_read_cont(s, &cont);
	if (r == MAILIMAP_NO_ERROR && cont)
		r = session_send_line(s, false, abort, NULL);
	if (r != MAILIMAP_NO_ERROR)
		return r;
response:
	r = mailimap_parse_response(s->imap, &rsp);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	ok = rsp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	     rsp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type == MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(rsp);
	if (!ok)
		return MAILIMAP_ERROR_LOGIN;
	s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return MAILIMAP_NO_ERROR;
}

/* RFC 7628 saslname: ',' and '=' escaped as =2C and =3D; malloc'd. */
static char *session_saslname(const char *user)
{
	char *out = malloc(3 * strlen(user) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *user; user++) {
		if (*user == ',' || *user == '=')
			o += sprintf(o, "=%s", *user == ',' ? "2C" : "3D");
		else
			*o++ = *user;
	}
	*o = '\0';
	return out;
}

/* The base64 client response for the OAuth2 mechanism in P->cfg->auth.
 * The token passes through one buffer of exactly its size, wiped after
 * (a growing memstream would leave copies behind in freed memory). */
static int session_oauth_response(const struct session_params *p, const char *token, char **out)
{
	const struct url *u = p->url;
	char *raw = NULL, *b64 = NULL, *name = NULL;
	int rawlen;

	*out = NULL;
	if (p->cfg->auth == CONFIG_AUTH_XOAUTH2) {
		rawlen = snprintf(NULL, 0, "user=%s\001auth=Bearer %s\001\001", u->user, token);
		raw = rawlen >= 0 ? malloc((size_t)rawlen + 1) : NULL;
		if (raw != NULL)
			snprintf(raw, (size_t)rawlen + 1, "user=%s\001auth=Bearer %s\001\001", u->user, token);
	} else {
		name = session_saslname(u->user);
		if (name == NULL)
			return -ENOMEM;
		rawlen = snprintf(NULL, 0, "n,a=%s,\001host=%s\001port=%d\001auth=Bearer %s\001\001", name,
				  u->host, u->port, token);
		raw = rawlen >= 0 ? malloc((size_t)rawlen + 1) : NULL;
		if (raw != NULL)
			snprintf(raw, (size_t)rawlen + 1, "n,a=%s,\001host=%s\001port=%d\001auth=Bearer %s\001\001",
				 name, u->host, u->port, token);
		free(name);
	}
	if (raw == NULL)
		return -ENOMEM;
	b64 = malloc(4 * (((size_t)rawlen + 2) / 3) + 1);
	if (b64 != NULL)
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)raw, rawlen);
	explicit_bzero(raw, (size_t)rawlen);
	free(raw);
	*out = b64;
	return b64 ? 0 : -ENOMEM;
}

/* The stream's write buffer still holds the last command sent, which
 * after LOGIN or AUTHENTICATE is the secret: overwrite it. */
static void session_wipe_sent(struct session *s)
{
	mailstream *st = s->imap->imap_stream;

	if (st != NULL && st->write_buffer != NULL)
		explicit_bzero(st->write_buffer, st->buffer_max_size);
}

/* Log in with LOGIN or an OAuth2 mechanism; 0, or -errno with *CLS and ERR. */
static int session_login(struct session *s, const struct session_params *p, enum session_err *cls,
			 char *err, unsigned errlen)
{
	const struct url *u = p->url;
	const char *mech = p->cfg->auth == CONFIG_AUTH_XOAUTH2 ? "XOAUTH2" :
			   p->cfg->auth == CONFIG_AUTH_OAUTHBEARER ? "OAUTHBEARER" : "LOGIN";
	char *token = NULL, *resp = NULL, why[256];
	int r, rc;

	*cls = SESSION_ERR_AUTH;
	if (p->cfg->auth == CONFIG_AUTH_LOGIN) {
		if (session_has_cap(s, "LOGINDISABLED")) {
			session_fail(err, errlen, "%s advertises LOGINDISABLED: it does not accept a password "
				     "login here (does it want -o auth=xoauth2 or oauthbearer?)", u->host);
			return -EACCES;
		}
		/* a user name from a URL can hold %0D%0A: never on the wire */
		if (wire_astring(u->user) < 0 || wire_astring(p->password) < 0) {
			session_fail(err, errlen, "the user name or password holds a CR or LF character, "
				     "which IMAP cannot send; nothing was sent");
			return -EINVAL;
		}
		r = mailimap_login(s->imap, u->user, p->password);
		session_wipe_sent(s);
	} else {
		if (!mailimap_has_authentication(s->imap, (char *)mech)) {
			session_fail(err, errlen, "%s does not offer AUTH=%s; use the mechanism it offers "
				     "(-o auth=xoauth2 or oauthbearer) or a password", u->host, mech);
			return -EACCES;
		}
		/* a fresh token for every connection: the helper refreshes it */
		rc = secret_get(p->cfg, u->user, u->host, &token, why, sizeof(why));
		if (rc < 0) {
			session_fail(err, errlen, "cannot get an OAuth2 access token for %s: %s", mech, why);
			return rc == -ENOMEM ? rc : -EACCES;
		}
		/* control bytes separate SASL fields: none from the user or token */
		if (wire_sasl_value(u->user) < 0 || wire_sasl_value(token) < 0) {
			secret_free(token);
			session_fail(err, errlen, "the user name or the access token holds control "
				     "characters, which %s cannot carry; nothing was sent", mech);
			return -EINVAL;
		}
		rc = session_oauth_response(p, token, &resp);
		secret_free(token);
		if (rc < 0)
			return rc;
		r = session_sasl(s, mech, resp, p->cfg->auth == CONFIG_AUTH_XOAUTH2 ? "" : "AQ==");
		session_wipe_sent(s);
		explicit_bzero(resp, strlen(resp));
		free(resp);
	}
	if (r != MAILIMAP_NO_ERROR && errmap_is_fatal(r)) {
		session_rc(s, r, mech);
		*cls = SESSION_ERR_CONNECT;
		session_fail(err, errlen, "connection to %s lost during %s login", u->host, mech);
		return -EIO;
	}
	if (r != MAILIMAP_NO_ERROR) {
		/* the caller prints ERR: one line, no separate log noise */
		session_fail(err, errlen, "%s as %s on %s refused: %s%s%s%s%s", mech, u->user, u->host,
			     session_code(s) ? "[" : "", session_code(s) ? session_code(s) : "",
			     session_code(s) ? "] " : "", session_text(s),
			     p->cfg->auth == CONFIG_AUTH_LOGIN ? "" :
			     " (the access token may have expired or lack the IMAP scope: run the "
			     "password_command by hand to check it)");
		return -EACCES;
	}
	return 0;
}

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
static void labels_list_free(struct mailimap_msg_att_xgmlabels *l)
{
	if (l == NULL)
		return;
	for (clistiter *it = clist_begin(l->att_labels); it != NULL; it = clist_next(it))
		free(clist_content(it));
	clist_free(l->att_labels);
	free(l);
}

static void lenient_labels_free(struct mailimap_extension_data *ed)
{
	labels_list_free(ed->ext_data);
	free(ed);
}

static int lenient_labels_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
				struct mailimap_parser_context *parser_ctx, size_t *indx,
				struct mailimap_extension_data **result, size_t progr_rate,
				progress_function *progr_fun);

static struct mailimap_extension_api lenient_labels = {
	.ext_name = (char *)"X-GM-LABELS (bare flags)",
	.ext_id = -1,
	.ext_parser = lenient_labels_parse,
	.ext_free = lenient_labels_free,
};

static int lenient_labels_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
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
	labels_list_free(l);
	return r;
}

static pthread_once_t lenient_once = PTHREAD_ONCE_INIT;

/* libetpan's extension list is process-wide: registered once, before the
 * first connection exists (session_open from vfs_new). */
static void lenient_register(void)
{
	mailimap_extension_register(&lenient_labels);
}

/* ---- connecting --------------------------------------------------------- */

/* An imap:// connection of this process has had its greeting (the URL is
 * the same for every connection of a mount). Atomic: any thread opens. */
static atomic_bool greeted_plain;

int session_open(const struct session_params *p, int id, struct session **out,
		 enum session_err *cls, char *err, unsigned errlen)
{
	const struct url *u = p->url;
	struct tls_trace trace = { .on = p->cfg->imap_trace, .id = id };
	struct session *s;
	mailstream_low *low = NULL;
	mailstream *stream;
	int fd, rc, r;
	bool preauth;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->id = id;
	s->cfg = p->cfg;
	pthread_mutex_init(&s->doing_lock, NULL);
	pthread_once(&lenient_once, lenient_register);
	s->imap = mailimap_new(0, NULL);
	if (s->imap == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}

	*cls = SESSION_ERR_CONNECT;
	rc = tls_connect_tcp(u->host, u->port, p->cfg->timeout, &fd, err, errlen);
	if (rc < 0)
		goto out_imap;
	if (u->tls == URL_TLS_IMPLICIT) {
		*cls = SESSION_ERR_TLS;
		rc = tls_low_tls(p->tls, fd, u->host, p->cfg->timeout, trace, &low, err, errlen);
		if (rc == -EPROTO)
			connhint_not_tls(u->user, u->host, u->port, err, errlen);
	} else {
		if (p->cfg->insecure_plaintext && !tls_fd_is_loopback(fd)) {
			close(fd);
			*cls = SESSION_ERR_TLS;
			session_fail(err, errlen, "insecure_plaintext is allowed only to a loopback address, not %s",
				     u->host);
			rc = -EPERM;
			goto out_imap;
		}
		/* imap:// to an implicit-TLS port: both sides would wait. Once
		 * a greeting came, the port is known to speak IMAP: a slow
		 * reconnect is not probed (the probe's ClientHello would be a
		 * bad command in the server's log) */
		rc = atomic_load(&greeted_plain) ? 0 :
			connhint_greeting(fd, u->user, u->host, u->port, p->cfg->timeout, err, errlen);
		if (rc < 0) {
			close(fd);
			*cls = SESSION_ERR_TLS;
			goto out_imap;
		}
		rc = tls_low_plain(fd, p->cfg->timeout, trace, &low);
	}
	if (rc < 0)
		goto out_imap;
	stream = mailstream_new(low, 16384);
	if (stream == NULL) {
		mailstream_low_close(low);
		mailstream_low_free(low);
		rc = -ENOMEM;
		goto out_imap;
	}

	/* mailimap_connect owns the stream from here on, even on failure */
	*cls = SESSION_ERR_PROTOCOL;
	r = mailimap_connect(s->imap, stream);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		rc = session_rc(s, r, "greeting");
		if (rc == 0)
			rc = -EPROTO;
		*cls = SESSION_ERR_CONNECT;
		if (r == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION) {
			session_fail(err, errlen, "%s refused the connection: %s", u->host, session_text(s));
			*cls = SESSION_ERR_REFUSED;
		} else if (rc == -ETIMEDOUT) {
			session_fail(err, errlen, "%s sent no IMAP greeting within %d s", u->host, p->cfg->timeout);
		} else {
			session_fail(err, errlen, "%s did not greet like an IMAP server", u->host);
		}
		goto out_imap;
	}
	preauth = (r == MAILIMAP_NO_ERROR_AUTHENTICATED);
	if (u->tls != URL_TLS_IMPLICIT)
		atomic_store(&greeted_plain, true);

	if (u->tls == URL_TLS_STARTTLS && !p->cfg->insecure_plaintext) {
		*cls = SESSION_ERR_TLS;
		if (preauth) {
			session_fail(err, errlen, "%s greeted with PREAUTH on a connection that must be upgraded "
				     "with STARTTLS; refusing", u->host);
			rc = -EPROTO;
			goto out_imap;
		}
		rc = session_capability(s);
		if (rc < 0) {
			session_fail(err, errlen, "CAPABILITY failed on %s", u->host);
			goto out_imap;
		}
		if (!session_has_cap(s, "STARTTLS")) {
			session_fail(err, errlen, "%s does not offer STARTTLS; refusing to log in without TLS "
				     "(use imaps:// if the server has it)", u->host);
			rc = -EPROTO;
			goto out_imap;
		}
		rc = session_upgrade(s, p, trace, err, errlen);
		if (rc < 0)
			goto out_imap;
	}

	*cls = SESSION_ERR_PROTOCOL;
	rc = session_capability(s);
	if (rc < 0) {
		/* a cut here is the network's doing: worth connecting again */
		if (s->transport_failed)
			*cls = SESSION_ERR_CONNECT;
		session_fail(err, errlen, "CAPABILITY failed on %s", u->host);
		goto out_imap;
	}
	if (!preauth) {
		*cls = SESSION_ERR_AUTH;
		rc = session_login(s, p, cls, err, errlen);
		if (rc < 0)
			goto out_imap;
		/* capabilities may change after login */
		*cls = SESSION_ERR_PROTOCOL;
		rc = session_capability(s);
		if (rc < 0) {
			if (s->transport_failed)
				*cls = SESSION_ERR_CONNECT;
			session_fail(err, errlen, "CAPABILITY failed on %s after login", u->host);
			goto out_imap;
		}
	}
	session_enable_qresync(s);
	log_debug("imap[%d]: connected to %s:%d as %s", id, u->host, u->port, u->user);
	*out = s;
	return 0;

out_imap:
	imap_free_quietly(s->imap);
out_free:
	pthread_mutex_destroy(&s->doing_lock);
	free(s);
	return rc;
}

void session_close(struct session *s)
{
	if (s == NULL)
		return;
	imap_free_quietly(s->imap);
	free(s->selected);
	free(s->open);
	pthread_mutex_destroy(&s->doing_lock);
	free(s);
}

void session_shutdown(struct session *s)
{
	if (s->imap->imap_stream != NULL)
		tls_low_shutdown(mailstream_get_low(s->imap->imap_stream));
}

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
	/* libetpan cuts names at a NUL byte (tls.c notes where): the answer
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

/* ---- SELECT ----------------------------------------------------------- */

/* Note what the server has selected after a SELECT or EXAMINE of MAILBOX
 * (RO: EXAMINE) answered RC: nothing after a failure (RFC 3501 6.3.1).
 * Out of memory it is noted as nothing too, which at worst lets a server
 * refuse a DELETE; session_leave never CLOSEs what it does not know. */
static void session_opened(struct session *s, const char *mailbox, bool ro, int rc)
{
	const struct mailimap_selection_info *si = s->imap->imap_selection_info;
	char *was = s->open;	/* MAILBOX may be it */

	s->open = rc == 0 ? strdup(mailbox) : NULL;
	free(was);
	/* read-only only when the server said so ([READ-ONLY], RFC 3501
	 * 6.3.2): a CLOSE of anything else may expunge */
	s->open_ro = ro && rc == 0 && si != NULL && si->sel_perm == MAILIMAP_MAILBOX_READONLY;
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
	session_doing(s, "%s %s", readonly ? "EXAMINE" : "SELECT", mailbox);
	if (condstore)
		r = readonly ? mailimap_examine_condstore(s->imap, mailbox, &modseq)
			     : mailimap_select_condstore(s->imap, mailbox, &modseq);
	else
		r = readonly ? mailimap_examine(s->imap, mailbox) : mailimap_select(s->imap, mailbox);
	rc = session_rc(s, r, readonly ? "EXAMINE" : "SELECT");
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
static int date_to_epoch(const struct mailimap_date_time *dt, int64_t *date, int16_t *tz)
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

struct meta_ctx {
	struct session *s;
	session_msg_cb *cb;
	void *cbctx;
	int cbrc;
	bool bad;	/* a reply we could not use (no UID) */
};

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
static void msg_att_parse(struct mailimap_msg_att *att, struct session_msg *mp, char **kwp)
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
				if (date_to_epoch(st->att_data.att_internal_date, &m.date, &m.tz) < 0)
					bad_date = true;
				break;
			default:
				break;
			}
		} else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			clist *fl = item->att_data.att_dyn->att_list;
			clistiter *fi;

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

static void meta_handler(struct mailimap_msg_att *att, void *vctx)
{
	struct meta_ctx *c = vctx;
	struct session_msg m;
	char *kw;

	if (c->cbrc != 0)
		return;
	msg_att_parse(att, &m, &kw);
	/* an unsolicited FETCH (a flag change, with or without UID) is not
	 * an answer to our metadata request, which always has RFC822.SIZE;
	 * UID 0 does not exist in IMAP */
	if (m.uid != 0 && m.have_size)
		c->cbrc = c->cb(c->cbctx, &m);
	free(kw);
	free((char *)m.gm_labels);
}

static void no_progress(size_t current, size_t maximum, void *ctx)
{
}

/* The largest literal the server may send for the next command (the guard
 * in tls.c refuses a larger one before libetpan buffers it). */
static void session_literal_limit(struct session *s, uint64_t bytes)
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
	mailimap_set_progress_callback(s->imap, NULL, no_progress, NULL);
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
static void add_gmail_atts(struct session *s, struct mailimap_fetch_type *ft)
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
	struct meta_ctx c = { .s = s, .cb = cb, .cbctx = ctx };
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
	add_gmail_atts(s, ft);

	/* LAST 0 is "*" to libetpan */
	if (last == 0)
		session_doing(s, "UID FETCH %s %u:* (metadata)", s->selected ? s->selected : "", first);
	else
		session_doing(s, "UID FETCH %s %u:%u (metadata)", s->selected ? s->selected : "", first, last);
	rc = fetch_streamed(s, set, ft, meta_handler, &c, "UID FETCH (metadata)");
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

/* ---- STATUS ----------------------------------------------------------- */

int session_status(struct session *s, const char *mailbox, struct session_status *out)
{
	struct mailimap_status_att_list *sl;
	struct mailimap_mailbox_data_status *st = NULL;
	clistiter *it;
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
	memset(out, 0, sizeof(*out));
	for (it = st->st_info_list ? clist_begin(st->st_info_list) : NULL; it; it = clist_next(it)) {
		struct mailimap_status_info *si = clist_content(it);

		switch (si->st_att) {
		case MAILIMAP_STATUS_ATT_MESSAGES: out->messages = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UNSEEN: out->unseen = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UIDNEXT: out->uidnext = si->st_value; break;
		case MAILIMAP_STATUS_ATT_UIDVALIDITY: out->uidvalidity = si->st_value; break;
		default:
			if (si->st_ext_data != NULL &&
			    si->st_ext_data->ext_extension == &mailimap_extension_condstore &&
			    si->st_ext_data->ext_type == MAILIMAP_CONDSTORE_TYPE_STATUS_INFO) {
				struct mailimap_condstore_status_info *ci = si->st_ext_data->ext_data;

				out->highestmodseq = ci->cs_highestmodseq_value;
			}
			break;
		}
	}
	mailimap_mailbox_data_status_free(st);
	return 0;
}

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

int session_store(struct session *s, uint32_t uid, enum session_store_op op,
		  const struct session_flags *f)
{
	struct mailimap_store_att_flags *sa = NULL;
	struct mailimap_flag_list *fl;
	struct mailimap_set *set;
	const char *p;
	int rc;

	if (session_gate_flags(s, "UID STORE", f) < 0)
		return -EINVAL;
	for (p = f->keywords; op != SESSION_STORE_REMOVE && p != NULL && *p != '\0';) {
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
	labels_list_free(l);
	if (set)
		mailimap_set_free(set);
	return rc;
}

int session_expunge_uid(struct session *s, uint32_t uid)
{
	struct session_flags del = { .sysflags = SESSION_F_DELETED };
	struct mailimap_set *set;
	int rc;

	rc = session_store(s, uid, SESSION_STORE_ADD, &del);
	if (rc < 0)
		return rc;
	set = mailimap_set_new_single(uid);
	if (set == NULL)
		return -ENOMEM;
	/* UID EXPUNGE touches only this UID, whatever else is \Deleted */
	session_doing(s, "UID EXPUNGE %s %u", s->selected ? s->selected : "", uid);
	rc = session_rc(s, mailimap_uid_expunge(s->imap, set), "UID EXPUNGE");
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

/* UID MOVE (MOVE) or UID COPY of UID to DEST; *NEW_UID from COPYUID. */
static int uid_transfer(struct session *s, uint32_t uid, const char *dest, bool move, uint32_t *new_uid)
{
	struct mailimap_set *set, *src = NULL, *dst = NULL;
	uint32_t uidvalidity = 0;
	int rc;

	*new_uid = 0;
	rc = session_gate(s, move ? "UID MOVE" : "UID COPY", dest);
	if (rc < 0)
		return rc;
	set = mailimap_set_new_single(uid);
	if (set == NULL)
		return -ENOMEM;
	session_doing(s, "UID %s %s %u %s", move ? "MOVE" : "COPY", s->selected ? s->selected : "", uid, dest);
	if (move)
		rc = session_rc(s, mailimap_uidplus_uid_move(s->imap, set, dest, &uidvalidity, &src, &dst),
				"UID MOVE");
	else
		rc = session_rc(s, mailimap_uidplus_uid_copy(s->imap, set, dest, &uidvalidity, &src, &dst),
				"UID COPY");
	*new_uid = set_first_uid(dst);
	if (src)
		mailimap_set_free(src);
	if (dst)
		mailimap_set_free(dst);
	mailimap_set_free(set);
	return rc;
}

int session_copy(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid)
{
	return uid_transfer(s, uid, dest, false, new_uid);
}

int session_move(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid)
{
	int rc;

	*new_uid = 0;
	if (session_has_cap(s, "MOVE"))
		return uid_transfer(s, uid, dest, true, new_uid);
	if (!session_has_cap(s, "UIDPLUS")) {
		/* COPY would work, but removing the original then needs a bare
		 * EXPUNGE that takes every other \Deleted message too */
		log_err("imap[%d]: the server has neither MOVE nor UIDPLUS: a message cannot be moved "
			"without risking other messages marked \\Deleted; refusing", s->id);
		return -EPERM;
	}
	rc = uid_transfer(s, uid, dest, false, new_uid);
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
	return session_rc(s, mailimap_create(s->imap, mailbox), "CREATE");
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

int session_lsub(struct session *s, const char *pattern, session_list_cb *cb, void *ctx)
{
	return list_cmd(s, true, pattern, cb, ctx);
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

/* Keep the server's "[CODE] text" of the NO just read (session_append_refusal). */
static void note_refusal(struct session *s)
{
	const char *code = session_code(s);

	snprintf(s->refusal, sizeof(s->refusal), "%s%s%s%s", code ? "[" : "", code ? code : "",
		 code ? "] " : "", session_text(s));
}

int session_append(struct session *s, const char *mailbox, const struct session_flags *f,
		   int64_t date, const char *data, size_t len, uint32_t *uidvalidity,
		   uint32_t *uid, bool *ambiguous)
{
	struct mailimap_date_time *dt = NULL;
	struct mailimap_flag_list *fl;
	int r, rc;

	*ambiguous = false;
	*uid = 0;
	*uidvalidity = 0;
	s->refusal[0] = '\0';
	if (session_gate(s, "APPEND", mailbox) < 0 || session_gate_flags(s, "APPEND", f) < 0)
		return -EINVAL;
	rc = session_append_fits(s, mailbox, data, len);
	if (rc < 0)
		return rc;
	fl = flag_list_new(f);
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
	session_doing(s, "APPEND %s (%zu bytes)", mailbox, len);
	r = mailimap_uidplus_append(s->imap, mailbox, fl, dt, data, len, uidvalidity, uid);
	if (r == MAILIMAP_ERROR_APPEND && s->open != NULL && strcmp(s->open, mailbox) == 0) {
		/* A NO: nothing was stored. RFC 3501 allows APPEND to the
		 * selected mailbox, but some servers refuse it ("NO Current box
		 * is selected READ-ONLY."): leave it and send once more. Only
		 * then, so that servers that allow it pay no round trips. */
		log_info("imap[%d]: APPEND to %s refused while it is open here; leaving it and sending "
			 "the message once more", s->id, mailbox);
		note_refusal(s);
		if (session_leave(s, mailbox, false) == 0)
			r = mailimap_uidplus_append(s->imap, mailbox, fl, dt, data, len, uidvalidity, uid);
	}
	if (errmap_is_fatal(r))
		*ambiguous = true;	/* it may have been stored before the link broke */
	else if (r != MAILIMAP_NO_ERROR)
		note_refusal(s);
	rc = session_rc(s, r, "APPEND");
	mailimap_flag_list_free(fl);
	if (dt)
		mailimap_date_time_free(dt);
	return rc;
}

const char *session_append_refusal(const struct session *s)
{
	return s->refusal;
}

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

/* ---- changes made by others --------------------------------------------- */

/* More vanished UIDs than this in one answer are not expanded. */
#define SESSION_VANISHED_MAX (4u * 1024 * 1024)

void session_forget_selection(struct session *s)
{
	free(s->selected);
	s->selected = NULL;
}

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
	/* a new size under an old UID: the bytes changed (resync.c) */
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	if (by_uid)
		session_doing(s, "UID FETCH %s %u:%u (FLAGS)", s->selected ? s->selected : "", first, last);
	else
		session_doing(s, "FETCH %s (FLAGS) of the messages IDLE named", s->selected ? s->selected : "");
	add_gmail_atts(s, ft);
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

		msg_att_parse(clist_content(it), &m, &kw);
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

int session_idle(struct session *s, int timeout_ms, int cancel_fd, bool *changed)
{
	mailstream *stream = s->imap->imap_stream;
	struct pollfd p[2];
	int rc, r;

	*changed = false;
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
	return session_rc(s, mailimap_idle_done(s->imap), "IDLE DONE");
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
	add_gmail_atts(s, ft);
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

		msg_att_parse(clist_content(it), &m, &kw);
		if (m.uid != 0)
			rc = cb(ctx, &m);
		free(kw);
		free((char *)m.gm_labels);
	}
	/* expand the VANISHED set; "*" cannot occur in it (RFC 7162 3.2.10) */
	if (rc == 0 && van != NULL && van->qr_known_uids != NULL) {
		for (it = clist_begin(van->qr_known_uids->set_list); it != NULL && rc == 0; it = clist_next(it)) {
			struct mailimap_set_item *item = clist_content(it);
			uint32_t u, end = item->set_last ? item->set_last : item->set_first;

			for (u = item->set_first; u <= end && rc == 0; u++) {
				if (n >= SESSION_VANISHED_MAX) {
					/* a hostile or absurd set: let the caller
					 * fall back to comparing UID lists */
					rc = -E2BIG;
					break;
				}
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 64;
					uint32_t *nv = realloc(*vanished, nc * sizeof(*nv));

					if (nv == NULL) {
						rc = -ENOMEM;
						break;
					}
					*vanished = nv;
					cap = nc;
				}
				(*vanished)[n++] = u;
				if (u == UINT32_MAX)
					break;
			}
		}
	}
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

int session_notify(struct session *s)
{
	int rc;

	if (!session_has_cap(s, "NOTIFY"))
		return -ENOTSUP;
	/* RFC 5465: tell us about new, expunged and re-flagged messages in
	 * every personal mailbox, not only the selected one. (MailboxName is
	 * left out: its LIST replies may carry extended data libetpan does
	 * not parse; the LIST comparison covers mailbox changes.) */
	rc = session_rc(s, mailimap_custom_command(s->imap,
		"NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange)) "
		"(personal (MessageNew MessageExpunge FlagChange))"), "NOTIFY SET");
	return rc;
}
