/*
 * log — stderr before detaching, syslog after. Each line is formatted into
 * one buffer and written with a single write(2)/syslog(3) call so lines from
 * concurrent FUSE worker threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set once at start-up and once after daemonising, both before any worker
 * thread exists; read-only afterwards, so no lock. */
static bool log_syslog;
static bool log_verbose;

void log_init(bool verbose)
{
	log_verbose = verbose;
}

void log_use_syslog(void)
{
	openlog("imapfs", LOG_PID, LOG_USER);
	log_syslog = true;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level >= LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(level, "%s", line);
	} else {
		n = snprintf(line, sizeof(line), "imapfs: ");
		vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		n = (int)strlen(line);
		line[n++] = '\n';
		if (write(STDERR_FILENO, line, (size_t)n) < 0) {
			/* nowhere left to report it */
		}
	}
	va_end(ap);
}
