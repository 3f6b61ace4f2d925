/*
 * sdnotify — tell a service manager (systemd, Type=notify) how the mount
 * is doing, without libsystemd.
 *
 * The protocol (sd_notify(3)) is one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. imapfs sends READY=1 once the
 * mount is up and STOPPING=1 when it goes, each with a STATUS= line that
 * `systemctl --user status` shows. Without $NOTIFY_SOCKET every call does
 * nothing, and a failure to send never stops a mount.
 *
 * Threads: sdnotify_take_env runs once, before any thread starts (it
 * writes the saved address); the others only read it.
 */
#ifndef IMAPFS_SDNOTIFY_H
#define IMAPFS_SDNOTIFY_H

/*
 * Take $NOTIFY_SOCKET out of the environment, keeping its address for
 * sdnotify_send: the helpers imapfs runs later (password_command, again
 * at every OAuth2 reconnect) must not inherit it and speak for us.
 */
void sdnotify_take_env(void);

/* Send STATE ("READY=1\nSTATUS=..."); 0, -errno, or 0 when there is no
 * service manager to tell. */
int sdnotify_send(const char *state);

/* READY=1 with "STATUS=Mounted SRC on MNT" (the mount answers from now). */
void sdnotify_ready(const char *src, const char *mnt);
/* STOPPING=1 with "STATUS=Unmounted MNT" (the loop has ended). */
void sdnotify_stopping(const char *mnt);

#endif
