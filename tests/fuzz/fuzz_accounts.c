/*
 * fuzz_accounts — libFuzzer target for the accounts file parser
 * (src/accounts.c): arbitrary bytes as the file, not NUL-terminated.
 * Checked with abort(): 0, -EINVAL or -ENOMEM only; a reason on failure;
 * on success every account can be found by its name and resolved onto a
 * config (accounts_resolve, which also runs url and option parsing), and
 * accounts_free / config_free release everything (LeakSanitizer).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct accounts a;
	char err[256];
	char *copy;
	size_t i;
	int rc;

	copy = malloc(size ? size : 1);	/* exact size: ASan sees over-reads */
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	err[0] = '\0';
	rc = accounts_parse(copy, size, "fuzz.conf", &a, err, sizeof(err));
	if (rc == -EINVAL) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else if (rc == 0) {
		for (i = 0; i < a.n; i++) {
			struct config cfg;
			char *url = NULL;

			if (a.acc[i].name == NULL || accounts_find(&a, a.acc[i].name) == NULL)
				abort();
			config_init(&cfg);
			rc = accounts_resolve(&a.acc[i], "fuzz.conf", &cfg, &url, err, sizeof(err));
			if (rc == 0 && url == NULL)
				abort();
			if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
				abort();
			free(url);
			config_free(&cfg);
		}
		accounts_free(&a);
	} else if (rc != -ENOMEM) {
		abort();
	}
	free(copy);
	return 0;
}
