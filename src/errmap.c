/*
 * errmap — the single table from IMAP outcomes to errno.
 *
 * Response codes come from RFC 5530 (and RFC 3501's TRYCREATE); anything we
 * do not know is EIO, which callers report with the server's text in the log.
 */
#include "errmap.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include <libetpan/libetpan.h>

static const struct {
	const char *code;
	int err;
} errmap_codes[] = {
	{ "OVERQUOTA",		EDQUOT },
	{ "ALREADYEXISTS",	EEXIST },
	{ "NONEXISTENT",	ENOENT },
	{ "TRYCREATE",		ENOENT },
	{ "NOPERM",		EACCES },
	{ "AUTHORIZATIONFAILED", EACCES },
	{ "AUTHENTICATIONFAILED", EACCES },
	{ "EXPIRED",		EACCES },
	{ "PRIVACYREQUIRED",	EACCES },
	{ "INUSE",		EBUSY },
	{ "EXPUNGEISSUED",	ESTALE },
	{ "LIMIT",		ENOSPC },
	{ "TOOBIG",		EFBIG },
	{ "CANNOT",		EPERM },
	{ "CONTACTADMIN",	EPERM },
	{ "READ-ONLY",		EROFS },
	{ "UNAVAILABLE",	EAGAIN },
	{ "SERVERBUG",		EIO },
	{ "CORRUPTION",		EIO },
	{ "CLIENTBUG",		EINVAL },
	{ "BADCHARSET",		EINVAL },
	{ "PARSE",		EINVAL },
};

int errmap_resp_code(const char *code)
{
	size_t i;

	if (code == NULL)
		return EIO;
	for (i = 0; i < sizeof(errmap_codes) / sizeof(errmap_codes[0]); i++)
		if (strcasecmp(code, errmap_codes[i].code) == 0)
			return errmap_codes[i].err;
	return EIO;
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
	default:
		if (errmap_is_fatal(etpan_rc))
			return EIO;
		/* a tagged NO to a command: the response code decides */
		return errmap_resp_code(resp_code);
	}
}
