/*
 * session — what every part of a session shares: closing it, turning a
 * libetpan result into 0 / -errno (session_rc: the one place that logs a
 * server's refusal and marks a session broken), the command on the wire
 * for `imapfs status`, the gate every name passes before it is sent, and
 * the small accessors.
 *
 * The commands live by job, each file with its own purpose paragraph:
 * session_login.c (connect, STARTTLS, log in: session_open),
 * session_read.c (NAMESPACE, LIST, SELECT, STATUS, SEARCH, MYRIGHTS),
 * session_load.c (a first listing: SELECT, FETCH and MYRIGHTS in one flight),
 * session_fetch.c (FETCH of metadata and bodies, Gmail's labels),
 * session_write.c (MOVE, COPY, CREATE, DELETE, RENAME, APPEND),
 * session_store.c (flags changes and rm's UID EXPUNGE, in one flight),
 * session_append.c (APPEND in one flight, with LITERAL+),
 * session_sync.c (changes made by others: CONDSTORE and
 * QRESYNC, IDLE, NOTIFY, the polling FETCHes) and session_pipe.c
 * (several commands in one flight). session_int.h is what they share;
 * session.h is the contract for the rest of the core.
 */
#include "session.h"
#include "session_int.h"
#include "deadline.h"
#include "errmap.h"
#include "log.h"
#include "tls.h"
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>

/* mailimap_free without its LOGOUT round trip (it would send one and wait
 * for the answer): a broken or stalled server must not delay anything. */
void session_imap_free_quietly(mailimap *imap)
{
	if (imap->imap_stream != NULL) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
}

/* Note the command about to be sent (activity.h): its verb, the mailbox
 * (escaped as log_msg does) and UIDs; never a secret or message bytes. */
void session_doing(struct session *s, const char *fmt, ...)
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
int session_gate(const struct session *s, const char *what, const char *str)
{
	if (wire_astring(str) == 0)
		return 0;
	log_err("imap[%d]: %s: refusing to send a name with CR or LF in it: \"%s\"", s->id, what,
		str ? str : "(null)");
	return -EINVAL;
}

const char *session_text(const struct session *s)
{
	const char *t = s->imap->imap_response;

	return (t != NULL && *t != '\0') ? t : "(no text)";
}

const char *session_code(const struct session *s)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;

	if (ri == NULL)
		return NULL;
	if (ri->rsp_atom != NULL)
		return ri->rsp_atom;
	if (ri->rsp_trycreate)
		return "TRYCREATE";
	if (ri->rsp_badcharset != NULL)
		return "BADCHARSET";	/* parsed apart, with its charset list */
	return NULL;
}

/*
 * Turn a libetpan result into 0 / -errno, logging failures with the
 * server's text, and mark the session broken when the stream is unusable.
 */
int session_rc(struct session *s, int r, const char *what)
{
	return session_rc_expected(s, r, what, NULL);
}

int session_rc_expected(struct session *s, int r, const char *what, const char *expected)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	int e, level;

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
	level = (expected != NULL && session_code(s) != NULL &&
		 strcasecmp(session_code(s), expected) == 0) ? LOG_WARNING : LOG_ERR;
	log_msg(level, "imap[%d]: %s refused by the server: %s%s%s", s->id, what,
		session_code(s) ? "[" : "", session_code(s) ? session_code(s) : "",
		session_code(s) ? "] " : "");
	log_msg(level, "imap[%d]: server said: %s", s->id, session_text(s));
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

void session_close(struct session *s)
{
	if (s == NULL)
		return;
	session_imap_free_quietly(s->imap);
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
