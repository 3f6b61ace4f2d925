/*
 * fuzz_config — libFuzzer target for the -o option parser (src/config.c).
 * The input is split at its first NUL into up to two option strings
 * applied one after the other (later options override earlier ones, so
 * string fields are replaced and must not leak). Checked with abort():
 * 0 or -EINVAL only, numbers stay within their documented ranges, a
 * reason is written on failure. config_free must release everything
 * (LeakSanitizer checks that at exit of each run).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[256];
	char *in, *second;
	int rc;

	in = malloc(size + 2);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	in[size + 1] = '\0';
	second = in + strlen(in) + 1;

	config_init(&c);
	err[0] = '\0';
	rc = config_parse_opts(&c, in, err, sizeof(err));
	if (rc == 0 && second <= in + size)
		rc = config_parse_opts(&c, second, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == -EINVAL && (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
		abort();
	if (c.timeout < 1 || c.timeout > 3600 || c.max_conns < 1 || c.max_conns > 64 ||
	    c.poll < 0 || c.poll > 86400 || c.auth < CONFIG_AUTH_LOGIN || c.auth > CONFIG_AUTH_OAUTHBEARER)
		abort();
	{
		char flags[128];

		config_mount_flags(&c, flags, sizeof(flags));
	}
	config_free(&c);
	free(in);
	return 0;
}
