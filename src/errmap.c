/*
 * errmap — the single table from IMAP outcomes to errno.
 *
 * Response codes come from RFC 5530 (and RFC 3501's TRYCREATE); anything we
 * do not know is EIO, which callers report with the server's text in the log.
 *
 * A refused APPEND is read differently in two ways: the command names one
 * message, so a refusal without a code we know is about that message
 * (servers answer "NO Message contains invalid header" and the like):
 * EINVAL; and [LIMIT] there is a size limit on the message: EFBIG.
 * A refused search the user wrote (errmap_query_code) is, likewise, about
 * the query: EINVAL.
 */
#include "errmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

#include <libetpan/libetpan.h>

static const struct {
	const char *code;
	int err;
	int append;	/* for a refused APPEND, when it differs from ERR */
} errmap_codes[] = {
	{ "OVERQUOTA",		EDQUOT, 0 },
	{ "ALREADYEXISTS",	EEXIST, 0 },
	{ "NONEXISTENT",	ENOENT, 0 },
	{ "TRYCREATE",		ENOENT, 0 },
	{ "NOPERM",		EACCES, 0 },
	{ "AUTHORIZATIONFAILED", EACCES, 0 },
	{ "AUTHENTICATIONFAILED", EACCES, 0 },
	{ "EXPIRED",		EACCES, 0 },
	{ "PRIVACYREQUIRED",	EACCES, 0 },
	{ "INUSE",		EBUSY, 0 },
	{ "EXPUNGEISSUED",	ESTALE, 0 },
	{ "LIMIT",		ENOSPC, EFBIG },
	{ "TOOBIG",		EFBIG, 0 },
	{ "CANNOT",		EPERM, 0 },
	{ "CONTACTADMIN",	EPERM, 0 },
	{ "READ-ONLY",		EROFS, 0 },
	{ "UNAVAILABLE",	EAGAIN, 0 },
	{ "SERVERBUG",		EIO, 0 },
	{ "CORRUPTION",		EIO, 0 },
	{ "CLIENTBUG",		EINVAL, 0 },
	{ "BADCHARSET",		EINVAL, 0 },
	{ "PARSE",		EINVAL, 0 },
};

/* APPEND: for a refused APPEND (see above); UNKNOWN: what a code not in
 * the table (or none) means. */
static int errmap_code(const char *code, bool append, int unknown)
{
	size_t i;

	for (i = 0; code != NULL && i < sizeof(errmap_codes) / sizeof(errmap_codes[0]); i++)
		if (strcasecmp(code, errmap_codes[i].code) == 0)
			return append && errmap_codes[i].append ? errmap_codes[i].append : errmap_codes[i].err;
	return unknown;
}

int errmap_resp_code(const char *code)
{
	return errmap_code(code, false, EIO);
}

int errmap_query_code(const char *code)
{
	return errmap_code(code, false, EINVAL);
}

int errmap_append_code(const char *code)
{
	return errmap_code(code, true, EINVAL);
}

int errmap_is_fatal(int etpan_rc)
{
	switch (etpan_rc) {
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
	case MAILIMAP_ERROR_BAD_STATE:
	case MAILIMAP_ERROR_SSL:
		return 1;
	default:
		return 0;
	}
}

int errmap_etpan(int etpan_rc, const char *resp_code)
{
	switch (etpan_rc) {
	case MAILIMAP_NO_ERROR:
	case MAILIMAP_NO_ERROR_AUTHENTICATED:
	case MAILIMAP_NO_ERROR_NON_AUTHENTICATED:
		return 0;
	case MAILIMAP_ERROR_MEMORY:
		return ENOMEM;
	case MAILIMAP_ERROR_LOGIN:
		return resp_code != NULL ? errmap_resp_code(resp_code) : EACCES;
	case MAILIMAP_ERROR_APPEND:
		return errmap_append_code(resp_code);
	default:
		if (errmap_is_fatal(etpan_rc))
			return EIO;
		/* a tagged NO to a command: the response code decides */
		return errmap_resp_code(resp_code);
	}
}
