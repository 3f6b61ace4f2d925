/*
 * connhint — what to do about a failed connection (see connhint.h).
 *
 * The implicit-TLS probe: an IMAP server greets first, a TLS server waits
 * for the client's ClientHello, so imap:// to port 993 is two sides
 * waiting for each other until the timeout. No byte on the connection
 * tells them apart; a second connection can: OpenSSL writes a ClientHello
 * into a memory BIO, it goes out on a fresh socket, and the first bytes
 * back are either a TLS record (type 0x15 alert or 0x16 handshake, version
 * 0x03 xx) or an IMAP greeting ("* OK"). The probe never gets further
 * than that and never sends anything else, so it needs no certificate
 * checking; the real connection is left untouched.
 */
#include "connhint_int.h"
#include "deadline.h"
#include "log.h"
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define PROBE_MS 5000	/* the probe's own wait for an answer, at most */
/* where the system's CAs live, and how to add one (Debian and Ubuntu) */
#define CA_STORE "/etc/ssl/certs: copy it to /usr/local/share/ca-certificates/NAME.crt " \
	"and run update-ca-certificates"

void connhint_append(char *err, unsigned errlen, const char *fmt, ...)
{
	size_t n = strnlen(err, errlen);
	va_list ap;

	if (n + 3 >= errlen)
		return;
	memcpy(err + n, "; ", 3);
	n += 2;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

int connhint_cafile(const char *path, char *err, unsigned errlen)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		snprintf(err, errlen, "cannot read cafile %s: %s", path, strerror(-rc));
	return rc;
}

/* The DNS names and IP addresses of LEAF's subjectAltName, as "a, b, c"
 * (the first few) in BUF; how many there are. */
static int cert_names(X509 *leaf, char *buf, size_t len)
{
	GENERAL_NAMES *sans = leaf ? X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL) : NULL;
	size_t n = 0;
	int count = 0;

	buf[0] = '\0';
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		char one[INET6_ADDRSTRLEN + 1] = "";
		const unsigned char *d;
		int dlen;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			dlen = ASN1_STRING_length(g->d.dNSName);
			snprintf(one, sizeof(one), "%.*s", dlen, (const char *)d);
			/* a name with odd bytes is not worth printing */
			for (char *c = one; *c; c++)
				if (*c <= ' ' || *c > '~')
					one[0] = '\0';
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			dlen = ASN1_STRING_length(g->d.iPAddress);
			if (dlen == 4 || dlen == 16)
				inet_ntop(dlen == 4 ? AF_INET : AF_INET6, d, one, sizeof(one));
		}
		if (one[0] == '\0')
			continue;
		if (count < 4 && n + strlen(one) + 3 < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", count ? ", " : "", one);
		count++;
	}
	if (count > 4 && n + 8 < len)
		snprintf(buf + n, len - n, ", ...");
	GENERAL_NAMES_free(sans);
	return count;
}

void connhint_verify(long vr, struct x509_st *leaf, const char *cafile, char *err, unsigned errlen)
{
	switch (vr) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		if (cafile != NULL)
			connhint_append(err, errlen, "no CA in %s signed it: if you trust the server, give the "
					"CA certificate that did with -o cafile=PATH, or add it to the system CA "
					"store (" CA_STORE ") and leave cafile out", cafile);
		else
			connhint_append(err, errlen, "if you trust the server, give the CA certificate that "
					"signed it with -o cafile=PATH, or add it to the system CA store ("
					CA_STORE ")");
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH: {
		char names[256];

		/* The names are the unverified claim of whoever answered (the
		 * name check comes before the signatures'), so they are shown
		 * as that, never as advice to connect there: an attacker on the
		 * path must not be able to steer the password to his host. */
		if (cert_names(leaf, names, sizeof(names)) > 0)
			connhint_append(err, errlen, "the certificate presented names %s (not verified): use the "
					"IMAP server name your provider documents; if that is what you used, someone "
					"may be intercepting the connection", names);
		else
			connhint_append(err, errlen, "use the IMAP server name your provider documents; if that "
					"is what you used, someone may be intercepting the connection");
		break;
	}
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		connhint_append(err, errlen, "check this machine's clock (date), or ask the server's "
				"administrator to renew the certificate");
		break;
	default:
		break;
	}
}

/* "USER@HOST:PORT" for a URL the user can paste: the user name
 * percent-escaped as url.c reads it, brackets around an IPv6 literal. */
static void hostport(char *buf, size_t len, const char *user, const char *host, int port)
{
	size_t n = 0;

	for (; *user && n + 4 < len; user++) {
		if (strchr("@:/%?#[] ", *user))
			n += (size_t)snprintf(buf + n, len - n, "%%%02X", (unsigned char)*user);
		else
			buf[n++] = *user;
	}
	snprintf(buf + n, len - n, strchr(host, ':') ? "@[%s]:%d" : "@%s:%d", host, port);
}

void connhint_not_tls(const char *user, const char *host, int port, char *err, unsigned errlen)
{
	char hp[600];

	hostport(hp, sizeof(hp), user, host, port);
	connhint_append(err, errlen, "port %d does not speak TLS from the first byte: for STARTTLS "
			"use imap://%s/%s", port, hp, port == 993 ? "" : ", or imaps:// on the TLS port (993)");
}

/* Wait until UNTIL (deadline_now_ms clock) for FD, or OTHER (-1: none),
 * to become readable: 1 for FD, 2 for OTHER, 0 when the time is up. */
static int wait_in(int fd, int other, int64_t until)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = other, .events = POLLIN } };
	int r;

	do {
		int left = (int)(until - deadline_now_ms());

		r = poll(p, other >= 0 ? 2 : 1, deadline_wait_ms(left > 0 ? left : 0));
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	return p[0].revents ? 1 : 2;
}

/* Write all of BUF to the non-blocking socket FD within MS. */
static int write_all(int fd, const unsigned char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (poll(&p, 1, ms) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* A ClientHello for HOST into *OUT (OpenSSL's, from a memory BIO). */
static int client_hello(SSL_CTX *ctx, const char *host, unsigned char *out, size_t cap, size_t *len)
{
	unsigned char addr[16];
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	int n, rc = -EIO;

	if (ssl == NULL || rb == NULL || wb == NULL) {
		BIO_free(rb);
		BIO_free(wb);
		goto out;
	}
	SSL_set_bio(ssl, rb, wb);	/* SSL owns both BIOs now */
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	SSL_set_connect_state(ssl);
	SSL_do_handshake(ssl);	/* wants to read: the hello is in WB */
	n = BIO_read(wb, out, (int)cap);
	if (n > 0) {
		*len = (size_t)n;
		rc = 0;
	}
out:
	SSL_free(ssl);
	return rc;
}

/* 1 if HOST:PORT answers a ClientHello with a TLS record within MS, 0 if
 * not, or as soon as the connection WATCH has something to read. */
static int speaks_tls(const char *host, int port, int ms, int watch)
{
	unsigned char hello[16384], reply[5];	/* hellos are ~0.3-2 KiB */
	int64_t until = deadline_now_ms() + ms;
	size_t hlen = 0, got = 0;
	char ignored[256];
	SSL_CTX *ctx;
	int fd, rc;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return 0;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);	/* moot: it never gets that far */
	rc = client_hello(ctx, host, hello, sizeof(hello), &hlen);
	SSL_CTX_free(ctx);
	if (rc < 0)
		return 0;
	if (tcp_connect(host, port, (ms + 999) / 1000, &fd, ignored, sizeof(ignored)) < 0)
		return 0;
	rc = write_all(fd, hello, hlen, ms);
	while (rc == 0 && got < 3 && wait_in(fd, watch, until) == 1) {
		ssize_t r = recv(fd, reply + got, sizeof(reply) - got, 0);

		if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		if (r > 0)
			got += (size_t)r;
	}
	close(fd);
	return got >= 3 && (reply[0] == 0x15 || reply[0] == 0x16) && reply[1] == 0x03;
}

int connhint_greeting(int fd, const char *user, const char *host, int port, int timeout,
		      char *err, unsigned errlen)
{
	int wait_ms = timeout * 1000 < CONNHINT_GREETING_MS ? timeout * 1000 : CONNHINT_GREETING_MS;
	int probe_ms = timeout * 1000 < PROBE_MS ? timeout * 1000 : PROBE_MS;
	char hp[600];

	if (wait_in(fd, -1, deadline_now_ms() + wait_ms) != 0)
		return 0;	/* the greeting (or an error) is there: read it as usual */
	/* a slow server's greeting ends the probe as soon as it comes */
	log_debug("no greeting from %s port %d within %d ms: is it a TLS port?", host, port, wait_ms);
	if (!speaks_tls(host, port, probe_ms, fd))
		return 0;
	hostport(hp, sizeof(hp), user, host, port);
	snprintf(err, errlen, "%s port %d speaks TLS from the first byte (implicit TLS, as on port 993) "
		 "and sends no IMAP greeting before it: use imaps://%s/", host, port, hp);
	return -EPROTO;
}
