/*
 * status_watch — imapfs status --watch PATH: what the daemon is doing,
 * once a second, until interrupted (like vmstat 1). Each second it reads
 * the status text (cmd_status.c) and prints one line of rates, computed
 * from the difference of two "fetched:" totals over the time between the
 * reads, then one indented line per busy connection saying what it is
 * waiting for. Plain lines, flushed each second, so that it works in a
 * pipe or a log as well as on a terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

static volatile sig_atomic_t watch_stop;

static void watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* The figures --watch shows, parsed from the status text. */
struct watch_sample {
	uint64_t msgs, bytes;		/* "fetched: M messages, B bytes" */
	unsigned long queue;		/* "read-ahead queue: N messages" */
	int open, busy;			/* "connections: O open, B busy" */
	double t;			/* CLOCK_MONOTONIC seconds of the read */
};

/* The value after "KEY: " in TEXT (LEN bytes), or NULL. */
static const char *watch_field(const char *text, size_t len, const char *key)
{
	size_t k = strlen(key);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > k + 1 && memcmp(p, key, k) == 0 && p[k] == ':')
			return p + k + 1;
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

static void watch_parse(const char *text, size_t len, struct watch_sample *s)
{
	const char *v;
	struct timespec ts;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if ((v = watch_field(text, len, "fetched")) != NULL)
		sscanf(v, " %" SCNu64 " messages, %" SCNu64 " bytes", &s->msgs, &s->bytes);
	if ((v = watch_field(text, len, "read-ahead queue")) != NULL)
		sscanf(v, " %lu", &s->queue);
	if ((v = watch_field(text, len, "connections")) != NULL)
		sscanf(v, " %d open, %d busy", &s->open, &s->busy);
}

/* The "conn N: ..." lines of TEXT, indented. */
static void watch_print_conns(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > 5 && memcmp(p, "conn ", 5) == 0)
			printf("  %.*s\n", (int)n, p);
		p = nl ? nl + 1 : end;
	}
}

int status_watch(const char *path)
{
	struct sigaction sa = { .sa_handler = watch_on_signal };
	struct watch_sample prev, cur;
	char root[PATH_MAX], *text;
	size_t len;
	bool first = true;

	/* no SA_RESTART: the signal ends the sleep at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!watch_stop) {
		struct timespec sec = { 1, 0 };
		char when[16];
		struct tm tm;
		time_t t;

		if (status_read(path, root, &text, &len) < 0)
			return EXIT_USAGE;
		watch_parse(text, len, &cur);
		t = time(NULL);
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		if (first) {
			printf("%s watching %s: %" PRIu64 " messages, %.1f MiB fetched since mount "
			       "(interrupt to stop)\n", when, root, cur.msgs, cur.bytes / 1048576.0);
		} else {
			double dt = cur.t - prev.t > 0.001 ? cur.t - prev.t : 0.001;

			printf("%s %.1f msg/s %.2f MiB/s; read-ahead queue %lu; connections %d busy of %d open\n",
			       when, (double)(cur.msgs - prev.msgs) / dt,
			       (double)(cur.bytes - prev.bytes) / dt / 1048576.0, cur.queue, cur.busy, cur.open);
		}
		watch_print_conns(text, len);
		free(text);
		/* SIGPIPE is ignored (main.c): a reader that went away
		 * (| head) shows as EPIPE here, and ends the watch */
		if (fflush(stdout) != 0 || ferror(stdout)) {
			if (errno == EPIPE)
				return 0;
			fprintf(stderr, "imapfs: cannot write the status: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
		prev = cur;
		first = false;
		while (!watch_stop && nanosleep(&sec, &sec) < 0 && errno == EINTR)
			;
	}
	return 0;
}
