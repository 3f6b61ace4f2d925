/*
 * secret — fetch the account password from the configured source.
 *
 * The password only ever lives in memory we own: it is read from a pipe, a
 * private file, the environment or the terminal, kept for reconnects, and
 * wiped with explicit_bzero when freed; so are the buffers it passed
 * through (the rest of a read, the terminal's stdio buffer). It is never
 * logged. IMAPFS_PASSWORD is taken out of the environment at start
 * (secret_take_env), its bytes there overwritten, so that neither
 * /proc/PID/environ nor a helper command we run sees it; helpers also get
 * an environment without it in any case.
 */
#include "secret.h"

#include <errno.h>
#include <time.h>
#include <signal.h>
#include <poll.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SECRET_MAX 8192
#define SECRET_ENV "IMAPFS_PASSWORD"

extern char **environ;

/* IMAPFS_PASSWORD as it was at start, or NULL. Set and dropped only while
 * the program is single-threaded (main, before the daemon starts any
 * thread); read by any thread after that. */
static char *secret_env;

static int secret_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int secret_fail(char *err, unsigned errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

void secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void secret_take_env(void)
{
	size_t len = strlen(SECRET_ENV), n = 0;
	char *v = getenv(SECRET_ENV), *seen[8];

	if (v != NULL && secret_env == NULL)
		secret_env = strdup(v);	/* NULL: as if unset, the mount then says what is missing */
	/* the original "NAME=value" sits in the process's environment block,
	 * which /proc/PID/environ shows: overwrite every such entry (a
	 * hand-made environment may hold several), after taking them out of
	 * environ (unsetenv goes by the name) */
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, SECRET_ENV, len) == 0 && (*e)[len] == '=') {
			explicit_bzero(*e + len + 1, strlen(*e + len + 1));
			if (n < sizeof(seen) / sizeof(seen[0]))
				seen[n++] = *e;
		}
	}
	unsetenv(SECRET_ENV);
	while (n > 0) {
		n--;
		explicit_bzero(seen[n], len);
	}
}

bool secret_env_set(void)
{
	return secret_env != NULL || getenv(SECRET_ENV) != NULL;
}

void secret_drop_env(void)
{
	secret_free(secret_env);
	secret_env = NULL;
}

/* A copy of environ without IMAPFS_PASSWORD for a helper (built before
 * fork: the child may only call async-signal-safe functions). Only the
 * array is malloc'd; free it with free(). */
static char **secret_child_env(void)
{
	size_t n = 0, k = 0, len = strlen(SECRET_ENV);
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(strncmp(environ[i], SECRET_ENV, len) == 0 && environ[i][len] == '='))
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

/* Read everything from FD (up to SECRET_MAX) and keep the first line.
 * TIMEOUT_MS > 0 bounds the whole read (-ETIMEDOUT). */
static int secret_first_line(int fd, int timeout_ms, char **out)
{
	char *buf = malloc(SECRET_MAX + 1);
	struct timespec start, now;
	size_t n = 0;
	ssize_t r;

	if (buf == NULL)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (n < SECRET_MAX) {
		if (timeout_ms > 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			long left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000L +
					     (now.tv_nsec - start.tv_nsec) / 1000000L);
			if (left <= 0 || poll(&p, 1, (int)left) == 0) {
				explicit_bzero(buf, n);
				free(buf);
				return -ETIMEDOUT;
			}
		}
		r = read(fd, buf + n, SECRET_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	{
		size_t line = strcspn(buf, "\r\n");

		/* what followed the first line is not kept, nor left behind */
		explicit_bzero(buf + line, n - line);
	}
	*out = buf;
	return 0;
}

/*
 * Inside the running daemon (OAuth2 runs the command for every new
 * connection) a helper that never finishes must not hang a file operation:
 * it gets four network timeouts, at least a minute (time enough for a
 * passphrase prompt at mount time), then it is killed.
 */
static int secret_from_command(const char *cmd, int timeout, char **out, char *err, unsigned errlen)
{
	int pipefd[2], status, rc;
	char *pw = NULL, **env;
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	pid_t pid;

	env = secret_child_env();
	if (env == NULL)
		return secret_fail(err, errlen, -ENOMEM, "password_command: out of memory");
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = -errno;
		free(env);
		return secret_fail(err, errlen, rc, "password_command: pipe: %s", strerror(-rc));
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		free(env);
		return secret_fail(err, errlen, rc, "password_command: fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		/* OAuth2 runs the helper after the mount too: of our
		 * descriptors, libfuse 3.14's auto_unmount socket is not
		 * close-on-exec, and a helper's leftover child (an agent it
		 * started) holding it would keep fusermount3 from ever seeing
		 * us die. The helper gets stdin, stdout and stderr only. */
		close_range(3, ~0U, 0);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	free(env);
	close(pipefd[1]);
	rc = secret_first_line(pipefd[0], (timeout * 4 > 60 ? timeout * 4 : 60) * 1000, &pw);
	close(pipefd[0]);
	if (rc == -ETIMEDOUT)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == -ETIMEDOUT)
		return secret_fail(err, errlen, rc, "password_command did not print a password within %d s; "
				   "run it by hand to see why", timeout * 4 > 60 ? timeout * 4 : 60);
	if (rc < 0)
		return secret_fail(err, errlen, rc, "password_command: out of memory");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		secret_free(pw);
		return secret_fail(err, errlen, -EACCES, "password_command failed (exit status %d)",
				   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	if (pw[0] == '\0') {
		secret_free(pw);
		return secret_fail(err, errlen, -EACCES, "password_command printed an empty password");
	}
	*out = pw;
	return 0;
}

static int secret_from_file(const char *path, char **out, char *err, unsigned errlen)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return secret_fail(err, errlen, -errno, "password_file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = secret_fail(err, errlen, -errno, "password_file %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = secret_fail(err, errlen, -EINVAL, "password_file %s is not a regular file", path);
		goto out_close;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = secret_fail(err, errlen, -EPERM,
				 "password_file %s is accessible by others (mode %04o): run chmod 600 %s",
				 path, (unsigned)(st.st_mode & 07777), path);
		goto out_close;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		rc = secret_fail(err, errlen, -EPERM, "password_file %s is owned by another user", path);
		goto out_close;
	}
	rc = secret_first_line(fd, 0, out);
	if (rc < 0)
		secret_fail(err, errlen, rc, "password_file %s: out of memory", path);
out_close:
	close(fd);
	return rc;
}

static int secret_prompt(const char *user, const char *host, char **out, char *err, unsigned errlen)
{
	struct termios old, quiet;
	FILE *tty;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	tty = fopen("/dev/tty", "r+e");
	if (tty == NULL)
		return secret_fail(err, errlen, -ENXIO, "cannot open the terminal to ask for the password");
	/* no stdio buffer: it would keep a copy of what was typed */
	setvbuf(tty, NULL, _IONBF, 0);
	fprintf(tty, "Password for %s@%s: ", user, host);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (n <= 0) {
		rc = secret_fail(err, errlen, -EACCES, "no password entered");
		goto out_free;
	}
	line[strcspn(line, "\r\n")] = '\0';
	*out = line;
	return 0;
out_free:
	if (line)
		secret_free(line);
	return rc;
}

int secret_get(const struct config *c, const char *user, const char *host,
	       char **out, char *err, unsigned errlen)
{
	const char *env;

	if (c->password_command)
		return secret_from_command(c->password_command, c->timeout, out, err, errlen);
	if (c->password_file)
		return secret_from_file(c->password_file, out, err, errlen);
	if (c->password) {
		/* from the accounts file, whose mode the program has checked */
		*out = strdup(c->password);
		return *out ? 0 : -ENOMEM;
	}
	env = secret_env != NULL ? secret_env : getenv(SECRET_ENV);
	if (env != NULL) {
		*out = strdup(env);
		return *out ? 0 : -ENOMEM;
	}
	if (isatty(STDIN_FILENO))
		return secret_prompt(user, host, out, err, errlen);
	return secret_fail(err, errlen, -EACCES,
			   "no password: use -o password_command=CMD, -o password_file=PATH, "
			   "a password line in the accounts file, IMAPFS_PASSWORD, or run on a terminal");
}
