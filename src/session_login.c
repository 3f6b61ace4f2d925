/*
 * session_login — connect, secure and log in one IMAP connection
 * (session_open): TCP, implicit TLS or STARTTLS, the greeting, CAPABILITY,
 * LOGIN or an OAuth2 SASL mechanism (XOAUTH2, OAUTHBEARER), then ENABLE
 * QRESYNC. What the session does once open is in the other session_*.c
 * files (session.c says which).
 *
 * Order of checks in session_open follows RFC 3501 §6.2.1 and the lessons
 * of CVE-2020-15953: never send a credential before the channel is verified
 * TLS (or the user named insecure_plaintext for a loopback server), refuse
 * PREAUTH on a connection we meant to upgrade, refuse bytes that arrived
 * between "OK Begin TLS" and the handshake, ask CAPABILITY again after TLS,
 * honour LOGINDISABLED.
 */
#include "session.h"
#include "session_int.h"
#include "connhint_int.h"
#include "errmap.h"
#include "log.h"
#include "secret.h"
#include "tcp.h"
#include "tls.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libetpan/libetpan.h>
#include <openssl/evp.h>

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
 * protocol trace (trace.c shows only "TAG COMMAND <redacted>"). */
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
	session_lenient_register();
	s->imap = mailimap_new(0, NULL);
	if (s->imap == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}

	*cls = SESSION_ERR_UNREACHABLE;
	rc = tcp_connect(u->host, u->port, p->cfg->timeout, &fd, err, errlen);
	if (rc < 0)
		goto out_imap;
	if (u->tls == URL_TLS_IMPLICIT) {
		*cls = SESSION_ERR_TLS;
		rc = tls_low_tls(p->tls, fd, u->host, p->cfg->timeout, trace, &low, err, errlen);
		if (rc == -EPROTO)
			connhint_not_tls(u->user, u->host, u->port, err, errlen);
	} else {
		if (p->cfg->insecure_plaintext && !tcp_fd_is_loopback(fd)) {
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
			*cls = SESSION_ERR_UNREACHABLE;	/* a server that hangs: as one that is gone */
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
	session_imap_free_quietly(s->imap);
out_free:
	pthread_mutex_destroy(&s->doing_lock);
	free(s);
	return rc;
}
