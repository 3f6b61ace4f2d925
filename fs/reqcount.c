/*
 * reqcount — counting the kernel's requests for files (see reqcount.h).
 */
#include "reqcount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[RQ_N] = { "lookup", "getattr", "open", "read", "flush", "release",
					 "readdir" };
static unsigned long counts[RQ_N];	/* atomic */

void reqcount_add(enum reqcount_kind k)
{
	__atomic_fetch_add(&counts[k], 1, __ATOMIC_RELAXED);
}

int reqcount_status(char **val, size_t *len, unsigned long pushed)
{
	char line[512], *at, *out;
	size_t n = 0, head;

	n += (size_t)snprintf(line, sizeof(line), "kernel requests:");
	for (int i = 0; i < RQ_N; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s %lu", i ? "," : "", names[i],
				      __atomic_load_n(&counts[i], __ATOMIC_RELAXED));
	n += (size_t)snprintf(line + n, sizeof(line) - n, "; %lu bodies pushed to the page cache\n", pushed);
	/* the errors end the text (their last lines run on) */
	at = memmem(*val, *len, "\nerrors: ", 9);
	head = at != NULL ? (size_t)(at - *val) + 1 : *len;
	out = malloc(*len + n);
	if (out == NULL) {
		free(*val);
		return -ENOMEM;
	}
	memcpy(out, *val, head);
	memcpy(out + head, line, n);
	memcpy(out + head + n, *val + head, *len - head);
	free(*val);
	*val = out;
	*len += n;
	return 0;
}
