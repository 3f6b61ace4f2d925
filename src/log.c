/*
 * log — stderr before detaching, syslog or a log file after (and a log
 * file in the foreground too when -o logfile= names one). Each line is
 * formatted into one buffer and written with a single write(2)/syslog(3)
 * call so lines from concurrent FUSE worker threads never interleave (the
 * file is opened O_APPEND: each write lands whole at its end, also beside
 * another writer or after logrotate's copytruncate).
 */
#include "log.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up and once after daemonising, both before any worker
 * thread exists; read-only afterwards, so no lock. */
static bool log_syslog;
static bool log_verbose;
static bool log_detached_now;		/* stderr is /dev/null now */
static int log_fd = -1;			/* the log file, or -1 */
static char log_path[PATH_MAX];		/* its name, for `imapfs status` */

/* The last few errors, for `imapfs status`: a ring, oldest overwritten. */
#define LOG_RING 4
static pthread_mutex_t log_ring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_ring_entry {
	time_t when;
	char text[256];
} log_ring[LOG_RING];			/* guarded by log_ring_lock */
static unsigned long log_nerrors;	/* guarded by log_ring_lock; errors so far */

bool log_syslog_present(void)
{
	const char *p = getenv("IMAPFS_SYSLOG_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool ok;
	int fd;

	if (p == NULL || *p == '\0')
		p = LOG_SYSLOG_SOCKET;
	if (strlen(p) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, p);
	/* a socket file left with no one reading it (a syslog daemon that
	 * stopped) swallows nothing: connect says ECONNREFUSED then */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void log_init(bool verbose)
{
	log_verbose = verbose;
}

void log_use_syslog(void)
{
	openlog("imapfs", LOG_PID, LOG_USER);
	log_syslog = true;
}

void log_set_file(int fd, const char *path)
{
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path);
}

void log_detached(void)
{
	log_detached_now = true;
	if (log_fd < 0)
		log_use_syslog();
}

void log_destination(char *buf, size_t len)
{
	if (log_fd >= 0)
		snprintf(buf, len, "%s%s", log_path, log_detached_now ? "" : " and stderr");
	else if (log_syslog)
		snprintf(buf, len, "syslog%s", log_syslog_present() ? "" :
			 " (no syslog socket: lines are lost; see imapfs(1) LOGGING)");
	else
		snprintf(buf, len, "stderr");
}

/* "PREFIX: MSG\n" onto FD in one write(2), cut (still ending in a
 * newline) when longer than a line may be. */
static void log_write(int fd, const char *prefix, const char *msg)
{
	char line[2048 + 64];
	int n = snprintf(line, sizeof(line), "%s: %s\n", prefix, msg);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(fd, line, (size_t)n) < 0) {
		/* a full disk, a closed stderr: nowhere left to report it */
	}
}

/* One line into the log file: local time with its UTC offset and the
 * pid, as syslog would add them. */
static void log_to_file(const char *msg)
{
	char prefix[64], when[40];
	struct tm tm;
	time_t t = time(NULL);

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
	snprintf(prefix, sizeof(prefix), "%s imapfs[%d]", when, (int)getpid());
	log_write(log_fd, prefix, msg);
}

static void log_remember(const char *msg)
{
	struct log_ring_entry *e;
	size_t n;

	pthread_mutex_lock(&log_ring_lock);
	e = &log_ring[log_nerrors % LOG_RING];
	e->when = time(NULL);
	/* cut, not formatted: a long line only loses its tail */
	n = strnlen(msg, sizeof(e->text) - 1);
	memcpy(e->text, msg, n);
	e->text[n] = '\0';
	log_nerrors++;
	pthread_mutex_unlock(&log_ring_lock);
}

unsigned long log_recent_errors(char *buf, size_t len)
{
	unsigned long total, i;
	size_t n = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	pthread_mutex_lock(&log_ring_lock);
	total = log_nerrors;
	for (i = total > LOG_RING ? total - LOG_RING : 0; i < total; i++) {
		const struct log_ring_entry *e = &log_ring[i % LOG_RING];
		struct tm tm;
		char when[32];
		int w;

		localtime_r(&e->when, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		w = snprintf(buf + n, len - n, "%s %s\n", when, e->text);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	pthread_mutex_unlock(&log_ring_lock);
	return total;
}

void log_msg(int level, const char *fmt, ...)
{
	char raw[2048], msg[2048];
	va_list ap;

	if (level >= LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* names and replies come from servers and users: a CR or LF in them
	 * must not start a line that looks like one of ours */
	log_escape(raw, msg, sizeof(msg));
	if (level <= LOG_ERR)
		log_remember(msg);
	if (log_fd >= 0)
		log_to_file(msg);
	if (log_syslog)
		syslog(level, "%s", msg);
	if (!log_detached_now)
		log_write(STDERR_FILENO, "imapfs", msg);
}
