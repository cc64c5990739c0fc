/*
 * smtp.c: deliver one message to the configured SMTP server.
 *
 * A connection is a non-blocking socket, optionally wrapped in an SSL
 * object; every wait goes through poll() with the deadline of the current
 * step, so a silent server costs at most SMTP_TIMEOUT seconds per step.
 * Replies are read into a buffer and cut with smtp_reply_parse(); after
 * STARTTLS any byte the server sent beyond its 220 is refused (a plain
 * text injection into the TLS session).
 *
 * What a failure means for the message: no session (connect, TLS,
 * greeting, EHLO, STARTTLS, AUTH; certificate errors included, so that an
 * administrator can fix the configuration) is SMTP_HOSTFAIL; a 5xx to
 * MAIL, RCPT, DATA or the final "." is SMTP_PERMFAIL; anything else
 * (4xx, timeouts, a dropped connection) is SMTP_TEMPFAIL.
 *
 * Longer than ~800 lines on purpose: it is one SMTP session, whose steps
 * (the socket, TLS and its certificate checks, the reply reader, EHLO,
 * STARTTLS, AUTH, the envelope and the dot-stuffed DATA) share its
 * deadline and buffer and mean nothing apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "log.h"
#include "smtp.h"
#include "tok.h"

#define SMTP_BUF 16384      /* read buffer: a whole reply fits */
#define SMTP_QUIT_TIMEOUT 5 /* seconds for QUIT, best effort */
#define SMTP_CRED_MAX 1024  /* user or password, as conf allows */

struct smtp_ctx {
	const struct conf *c; /* borrowed */
	SSL_CTX *ssl;         /* NULL when smtp_tls = none */
	int timeout;          /* seconds per step */
	char helo[256];       /* our name if it is a FQDN, else "" */
};

/* One connection; lives for one smtp_send(). */
struct smtp_conn {
	struct smtp_ctx *x; /* borrowed */
	int fd;
	SSL *ssl;
	struct timespec deadline;
	int timeout;      /* seconds per step */
	int dead;         /* an I/O or TLS error: no more talk */
	const char *step; /* for why: "connect", "RCPT TO", ... */
	char *why;        /* borrowed from the caller */
	size_t whysz;
	char buf[SMTP_BUF]; /* bytes read, not yet parsed */
	size_t len;
	int code;                 /* of the last reply */
	char reply[SMTP_BUF + 1]; /* the last reply, NUL-terminated */
	/* What the last EHLO offered. */
	int starttls, auth_plain, auth_login, smtputf8;
	unsigned long long size;
};

/* conn_reply() copies a reply of up to sizeof(buf) bytes, then its NUL. */
_Static_assert(sizeof(((struct smtp_conn *)0)->reply) >
	sizeof(((struct smtp_conn *)0)->buf),
    "reply[] holds buf[] and a NUL");

/* ------------------------------------------------------------ parsing */

/* 1 if the incomplete line at line (n bytes, no LF) may still become a
 * valid reply line with code first (-1: any). */
static int
partial_ok(const char *line, size_t n, int first)
{
	static const char lo[3] = { '2', '0', '0' }, hi[3] = { '5', '5', '9' };
	size_t i;

	for (i = 0; i < n && i < 3; i++)
		if (line[i] < lo[i] || line[i] > hi[i])
			return 0;
	if (n >= 3 && first != -1 &&
	    (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') !=
		first)
		return 0;
	if (n >= 4 && line[3] != ' ' && line[3] != '-' && line[3] != '\r')
		return 0;
	for (i = 4; i < n; i++)
		if ((((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
			line[i] == 0x7f) &&
		    !(line[i] == '\r' && i == n - 1))
			return 0;
	return 1;
}

int
smtp_reply_parse(const char *buf, size_t n, int *code, size_t *consumed)
{
	const char *line, *lf;
	size_t pos = 0, len, i, win;
	unsigned char u;
	int first = -1, c;

	for (;;) {
		if (pos >= n)
			return 0;
		line = buf + pos;
		win = n - pos < SMTP_LINE_MAX ? n - pos : SMTP_LINE_MAX;
		if ((lf = memchr(line, '\n', win)) == NULL) {
			if (n - pos >= SMTP_LINE_MAX)
				return -1;
			return partial_ok(line, n - pos, first) ? 0 : -1;
		}
		len = (size_t)(lf - line);
		if (len < 4 || line[len - 1] != '\r')
			return -1;
		len--;
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '5' || line[2] < '0' || line[2] > '9')
			return -1;
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (first != -1 && c != first)
			return -1;
		first = c;
		if (len > 3 && line[3] != ' ' && line[3] != '-')
			return -1;
		for (i = 4; i < len; i++) {
			u = (unsigned char)line[i];
			if ((u < 0x20 && u != '\t') || u == 0x7f)
				return -1;
		}
		pos += len + 2;
		if (len == 3 || line[3] == ' ') {
			*code = c;
			*consumed = pos;
			return 1;
		}
	}
}

/* ------------------------------------------------------------ context */

static int
is_ip(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
}

/* Log the OpenSSL error queue's last entry with what, then clear it. */
static void
log_ssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "unknown error");
	log_warnx("smtp: %s: %s", what, buf);
	ERR_clear_error();
}

struct smtp_ctx *
smtp_ctx_new(const struct conf *c)
{
	struct smtp_ctx *x;
	char host[256];
	size_t i;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warnx("smtp: out of memory");
		return NULL;
	}
	x->c = c;
	x->timeout = SMTP_TIMEOUT;
	/* EHLO with our name only if it looks like a FQDN; else the address
	 * literal of the connection (RFC 5321 4.1.4). */
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		for (i = 0; host[i] != '\0'; i++)
			if (!((host[i] >= 'a' && host[i] <= 'z') ||
				(host[i] >= 'A' && host[i] <= 'Z') ||
				(host[i] >= '0' && host[i] <= '9') ||
				host[i] == '-' || host[i] == '.'))
				break;
		if (host[i] == '\0' && strchr(host, '.') != NULL &&
		    host[0] != '.' && host[i - 1] != '.')
			memcpy(x->helo, host, i + 1);
	}
	if (c->smtp_user[0] != '\0' && strcmp(c->smtp_tls, "none") == 0)
		log_warnx(
		    "smtp: [mail] smtp_tls = none with smtp_user set: "
		    "the password crosses the network in clear");
	if (strcmp(c->smtp_tls, "none") == 0)
		return x;

	if ((x->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		log_ssl("SSL_CTX_new");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(x->ssl, TLS1_2_VERSION) != 1) {
		log_ssl("TLS 1.2 minimum");
		goto fail;
	}
	if (!c->smtp_verify) {
		SSL_CTX_set_verify(x->ssl, SSL_VERIFY_NONE, NULL);
		log_warnx(
		    "smtp: [mail] smtp_verify = false: the certificate "
		    "of %s is not checked; anyone on the path can read the "
		    "mail%s",
		    c->smtp_host,
		    c->smtp_user[0] != '\0' ? " and the SMTP password" : "");
		return x;
	}
	SSL_CTX_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
	if (c->smtp_ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(x->ssl, c->smtp_ca_file,
			NULL) != 1) {
			log_ssl("cannot load [mail] smtp_ca_file");
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(x->ssl) != 1) {
		log_ssl("cannot load the system's CA certificates");
		goto fail;
	}
	return x;
fail:
	smtp_ctx_free(x);
	return NULL;
}

void
smtp_ctx_free(struct smtp_ctx *x)
{
	if (x == NULL)
		return;
	SSL_CTX_free(x->ssl);
	free(x);
}

/* ------------------------------------------------------------ I/O */

static void set_why(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* why = "step: " + the formatted text, one line. */
static void
set_why(struct smtp_conn *c, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int k;

	k = snprintf(c->why, c->whysz, "%s: ", c->step);
	n = k < 0 ? 0 : (size_t)k >= c->whysz ? c->whysz - 1 : (size_t)k;
	va_start(ap, fmt);
	(void)vsnprintf(c->why + n, c->whysz - n, fmt, ap);
	va_end(ap);
	for (n = 0; c->why[n] != '\0'; n++)
		if ((unsigned char)c->why[n] < 0x20 || c->why[n] == 0x7f)
			c->why[n] = ' ';
}

/* why = "step: " + the last reply on one line. */
static void
why_reply(struct smtp_conn *c)
{
	char *p;
	size_t n = strlen(c->reply);

	while (n > 0 && (c->reply[n - 1] == '\r' || c->reply[n - 1] == '\n'))
		c->reply[--n] = '\0';
	for (p = c->reply; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	set_why(c, "%s", c->reply);
}

static void
deadline_in(struct smtp_conn *c, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += seconds;
}

/* Wait until fd is ready for events or the deadline.  0, or -1 with
 * errno (ETIMEDOUT). */
static int
wait_io(struct smtp_conn *c, short events)
{
	struct pollfd pfd;
	struct timespec now;
	long long ms;
	int r;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
		    (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r > 0)
			return 0;
	}
}

/* The TLS error of a failed call, into why. */
static void
why_ssl(struct smtp_conn *c, const char *what, int err)
{
	const char *tls = strcmp(c->step, "TLS") == 0 ? "" : "TLS ";
	char buf[256];
	unsigned long e = ERR_peek_last_error();
	long vr;

	if (c->ssl != NULL && (vr = SSL_get_verify_result(c->ssl)) != X509_V_OK)
		set_why(c, "%scertificate verification failed: %s", tls,
		    X509_verify_cert_error_string(vr));
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		set_why(c, "%s%s: %s", tls, what, buf);
	} else if (err == SSL_ERROR_SYSCALL && errno != 0)
		set_why(c, "%s%s: %s", tls, what, strerror(errno));
	else
		set_why(c, "%s%s: connection closed", tls, what);
	ERR_clear_error();
	c->dead = 1;
}

/* Read what is there (at least one byte) into buf.  >0, or -1 (why
 * set; a closed connection is an error: we only read when we expect). */
static ssize_t
conn_read(struct smtp_conn *c)
{
	size_t room = sizeof(c->buf) - c->len, got;
	ssize_t r;
	short ev;
	int err;

	if (room == 0) {
		set_why(c, "reply too long");
		c->dead = 1;
		return -1;
	}
	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			if (SSL_read_ex(c->ssl, c->buf + c->len, room, &got) ==
			    1) {
				c->len += got;
				return (ssize_t)got;
			}
			err = SSL_get_error(c->ssl, 0);
			if (err == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (err == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else {
				why_ssl(c, "read", err);
				return -1;
			}
		} else {
			r = recv(c->fd, c->buf + c->len, room, 0);
			if (r > 0) {
				c->len += (size_t)r;
				return r;
			}
			if (r == 0) {
				set_why(c, "connection closed by the server");
				c->dead = 1;
				return -1;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				set_why(c, "read: %s", strerror(errno));
				c->dead = 1;
				return -1;
			}
			ev = POLLIN;
		}
		if (wait_io(c, ev) == -1) {
			set_why(c, "%s",
			    errno == ETIMEDOUT ?
				"timed out waiting for the server" :
				strerror(errno));
			c->dead = 1;
			return -1;
		}
	}
}

/* Write all n bytes; the deadline moves on with each write that makes
 * progress, so a large message only needs a live server.  0, or -1. */
static int
conn_write(struct smtp_conn *c, const char *p, size_t n)
{
	size_t done;
	ssize_t r;
	short ev;
	int err;

	deadline_in(c, c->timeout);
	while (n > 0) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			if (SSL_write_ex(c->ssl, p, n, &done) == 1) {
				p += done;
				n -= done;
				deadline_in(c, c->timeout);
				continue;
			}
			err = SSL_get_error(c->ssl, 0);
			if (err == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (err == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else {
				why_ssl(c, "write", err);
				return -1;
			}
		} else {
			r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				deadline_in(c, c->timeout);
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1 && errno != EAGAIN &&
			    errno != EWOULDBLOCK) {
				set_why(c, "write: %s", strerror(errno));
				c->dead = 1;
				return -1;
			}
			ev = POLLOUT;
		}
		if (wait_io(c, ev) == -1) {
			set_why(c, "%s",
			    errno == ETIMEDOUT ?
				"timed out writing to the server" :
				strerror(errno));
			c->dead = 1;
			return -1;
		}
	}
	return 0;
}

/* Read one reply into c->code and c->reply.  0, or -1 (why set). */
static int
conn_reply(struct smtp_conn *c)
{
	size_t used;
	int r;

	deadline_in(c, c->timeout);
	for (;;) {
		r = smtp_reply_parse(c->buf, c->len, &c->code, &used);
		if (r == 1)
			break;
		if (r == -1) {
			set_why(c, "not a valid SMTP reply");
			c->dead = 1;
			return -1;
		}
		if (conn_read(c) == -1)
			return -1;
	}
	memcpy(c->reply, c->buf, used);
	c->reply[used] = '\0';
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return 0;
}

/* Send line (CRLF added) and read the reply.  The reply code, or -1. */
static int
cmd(struct smtp_conn *c, const char *step, const char *line)
{
	size_t n = strlen(line);

	c->step = step;
	if (conn_write(c, line, n) == -1 || conn_write(c, "\r\n", 2) == -1 ||
	    conn_reply(c) == -1)
		return -1;
	return c->code;
}

/* Connect to smtp_host:smtp_port, trying each address.  0, or -1. */
static int
conn_open(struct smtp_conn *c)
{
	const struct conf *cf = c->x->c;
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	socklen_t sl;
	int fd, r, soerr = 0, lasterr = 0;

	c->step = "connect";
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	(void)snprintf(port, sizeof(port), "%d", cf->smtp_port);
	if ((r = getaddrinfo(cf->smtp_host, port, &hints, &res)) != 0) {
		set_why(c, "%s: %s", cf->smtp_host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			lasterr = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			c->fd = fd;
			break;
		}
		if (errno != EINPROGRESS) {
			lasterr = errno;
			(void)close(fd);
			continue;
		}
		c->fd = fd;
		deadline_in(c, c->timeout);
		sl = sizeof(soerr);
		if (wait_io(c, POLLOUT) == -1)
			lasterr = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ==
		    -1)
			lasterr = errno;
		else if (soerr != 0)
			lasterr = soerr;
		else
			break;
		(void)close(fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		set_why(c, "%s port %d: %s", cf->smtp_host, cf->smtp_port,
		    lasterr == ETIMEDOUT ? "timed out" : strerror(lasterr));
		return -1;
	}
	return 0;
}

/* The TLS handshake on the connection, verifying the server's name. */
static int
tls_start(struct smtp_conn *c)
{
	const struct conf *cf = c->x->c;
	X509_VERIFY_PARAM *param;
	int r, err;
	short ev;

	c->step = "TLS";
	if ((c->ssl = SSL_new(c->x->ssl)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		why_ssl(c, "set-up", 0);
		return -1;
	}
	if (!is_ip(cf->smtp_host) &&
	    SSL_set_tlsext_host_name(c->ssl, cf->smtp_host) != 1) {
		why_ssl(c, "SNI", 0);
		return -1;
	}
	if (cf->smtp_verify) {
		param = SSL_get0_param(c->ssl);
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip(cf->smtp_host))
			r = X509_VERIFY_PARAM_set1_ip_asc(param, cf->smtp_host);
		else
			r = SSL_set1_host(c->ssl, cf->smtp_host);
		if (r != 1) {
			why_ssl(c, "name check", 0);
			return -1;
		}
	}
	deadline_in(c, c->timeout);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			break;
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else if (err == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else {
			why_ssl(c, "handshake", err);
			return -1;
		}
		if (wait_io(c, ev) == -1) {
			set_why(c, "handshake timed out");
			c->dead = 1;
			return -1;
		}
	}
	log_debug("smtp: %s: %s with %s", cf->smtp_host,
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	return 0;
}

/* Note what the EHLO reply in c->reply offers. */
static void
ehlo_parse(struct smtp_conn *c)
{
	const char *line, *end, *kw, *p, *e;
	size_t kwlen, mlen;
	char *stop;

	c->starttls = c->auth_plain = c->auth_login = c->smtputf8 = 0;
	c->size = 0;
	/* The first line greets; each further one is "250-KEYWORD params". */
	line = strstr(c->reply, "\r\n");
	while (line != NULL && line[2] != '\0') {
		line += 2;
		if ((end = strstr(line, "\r\n")) == NULL)
			break;
		kw = line + 4;
		if (kw > end)
			kw = end;
		kwlen = strcspn(kw, " \r");
		if (kwlen == 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
			c->starttls = 1;
		else if (kwlen == 8 && strncasecmp(kw, "SMTPUTF8", 8) == 0)
			c->smtputf8 = 1;
		else if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0 &&
		    kw[4] == ' ') {
			c->size = strtoull(kw + 5, &stop, 10);
			if (stop != end)
				c->size = 0;
		} else if ((kwlen == 4 && strncasecmp(kw, "AUTH", 4) == 0) ||
		    strncasecmp(kw, "AUTH=", 5) == 0) {
			for (p = kw + 5; p < end; p = e) {
				while (p < end && *p == ' ')
					p++;
				e = p;
				while (e < end && *e != ' ')
					e++;
				mlen = (size_t)(e - p);
				if (mlen == 5 &&
				    strncasecmp(p, "PLAIN", 5) == 0)
					c->auth_plain = 1;
				if (mlen == 5 &&
				    strncasecmp(p, "LOGIN", 5) == 0)
					c->auth_login = 1;
			}
		}
		line = end;
	}
}

static int
ehlo(struct smtp_conn *c)
{
	char line[300], host[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *name = c->x->helo;
	int n;

	if (name[0] == '\0') {
		/* An address literal of our end of the connection. */
		name = "[127.0.0.1]";
		if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
			if (ss.ss_family == AF_INET &&
			    inet_ntop(AF_INET,
				&((struct sockaddr_in *)&ss)->sin_addr, host,
				sizeof(host)) != NULL) {
				n = snprintf(line, sizeof(line), "EHLO [%s]",
				    host);
				goto send;
			}
			if (ss.ss_family == AF_INET6 &&
			    inet_ntop(AF_INET6,
				&((struct sockaddr_in6 *)&ss)->sin6_addr, host,
				sizeof(host)) != NULL) {
				n = snprintf(line, sizeof(line),
				    "EHLO [IPv6:%s]", host);
				goto send;
			}
		}
	}
	n = snprintf(line, sizeof(line), "EHLO %s", name);
send:
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if (cmd(c, "EHLO", line) == -1)
		return -1;
	if (c->code != 250) {
		why_reply(c);
		return -1;
	}
	ehlo_parse(c);
	return 0;
}

/* b64 of n bytes at p into out (outsz bytes): 0, or -1. */
static int
b64(const void *p, size_t n, char *out, size_t outsz)
{
	return b64_encode(p, n, out, outsz) == (size_t)-1 ? -1 : 0;
}

/* AUTH PLAIN, or LOGIN when only that is offered.  0, or -1.  Every
 * buffer that held the password is cleansed. */
static int
auth(struct smtp_conn *c)
{
	const struct conf *cf = c->x->c;
	char raw[2 * SMTP_CRED_MAX + 3];
	char enc[sizeof(raw) / 3 * 4 + 8], line[sizeof(enc) + 16];
	size_t ul = strlen(cf->smtp_user), pl = strlen(cf->smtp_password);
	int rc = -1, n;

	c->step = "AUTH";
	if (ul > SMTP_CRED_MAX || pl > SMTP_CRED_MAX) {
		set_why(c, "user or password too long");
		return -1;
	}
	if (c->auth_plain) {
		/* authzid NUL authcid NUL passwd (RFC 4616) */
		raw[0] = '\0';
		memcpy(raw + 1, cf->smtp_user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, cf->smtp_password, pl);
		if (b64(raw, 2 + ul + pl, enc, sizeof(enc)) == -1)
			goto out;
		n = snprintf(line, sizeof(line), "AUTH PLAIN %s", enc);
		if (n < 0 || (size_t)n >= sizeof(line))
			goto out;
		if (cmd(c, "AUTH PLAIN", line) == -1)
			goto out;
	} else if (c->auth_login) {
		/* 334 asks for the user name, then 334 for the password. */
		if (cmd(c, "AUTH LOGIN", "AUTH LOGIN") == -1)
			goto out;
		if (c->code == 334 &&
		    (b64(cf->smtp_user, ul, enc, sizeof(enc)) == -1 ||
			cmd(c, "AUTH LOGIN", enc) == -1))
			goto out;
		if (c->code == 334 &&
		    (b64(cf->smtp_password, pl, enc, sizeof(enc)) == -1 ||
			cmd(c, "AUTH LOGIN", enc) == -1))
			goto out;
	} else {
		set_why(c, "the server offers neither AUTH PLAIN nor LOGIN");
		goto out;
	}
	if (c->code != 235) {
		why_reply(c);
		goto out;
	}
	rc = 0;
out:
	tok_cleanse(raw, sizeof(raw));
	tok_cleanse(enc, sizeof(enc));
	tok_cleanse(line, sizeof(line));
	return rc;
}

/* What a reply other than the expected one means for the message. */
static enum smtp_status
refusal(struct smtp_conn *c)
{
	why_reply(c);
	return c->code >= 500 ? SMTP_PERMFAIL : SMTP_TEMPFAIL;
}

/* The message dot-stuffed, with the final ".\r\n".  Caller frees. */
static char *
stuff(const char *msg, size_t len, size_t *outlen)
{
	size_t i, dots = 0, o = 0;
	char *out;

	for (i = 0; i < len; i++)
		if (msg[i] == '.' && (i == 0 || msg[i - 1] == '\n'))
			dots++;
	if ((out = malloc(len + dots + 3)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (msg[i] == '.' && (i == 0 || msg[i - 1] == '\n'))
			out[o++] = '.';
		out[o++] = msg[i];
	}
	memcpy(out + o, ".\r\n", 3);
	*outlen = o + 3;
	return out;
}

/* Say goodbye without waiting long; errors do not matter any more. */
static void
quit(struct smtp_conn *c)
{
	static const char q[] = "QUIT\r\n";
	char why[64];

	if (c->dead)
		return;
	c->why = why;
	c->whysz = sizeof(why);
	if (c->timeout > SMTP_QUIT_TIMEOUT)
		c->timeout = SMTP_QUIT_TIMEOUT;
	c->step = "QUIT";
	if (conn_write(c, q, sizeof(q) - 1) == 0)
		(void)conn_reply(c);
	if (c->ssl != NULL && !c->dead) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
}

enum smtp_status
smtp_send(struct smtp_ctx *x, const char *from, const char *to, int utf8,
    const char *msg, size_t len, char *why, size_t whysz)
{
	const struct conf *cf = x->c;
	enum smtp_status st = SMTP_HOSTFAIL;
	struct smtp_conn *c;
	char line[600], *data = NULL;
	size_t dlen;
	int n, session = 0;

	why[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return SMTP_TEMPFAIL;
	}
	c->x = x;
	c->fd = -1;
	c->timeout = x->timeout;
	c->why = why;
	c->whysz = whysz;
	c->step = "connect";

	if (conn_open(c) == -1)
		goto out;
	if (strcmp(cf->smtp_tls, "tls") == 0 && tls_start(c) == -1)
		goto out;
	c->step = "greeting";
	if (conn_reply(c) == -1)
		goto out;
	session = 1;
	if (c->code != 220) {
		why_reply(c);
		goto out;
	}
	if (ehlo(c) == -1)
		goto out;
	if (strcmp(cf->smtp_tls, "starttls") == 0) {
		c->step = "STARTTLS";
		if (!c->starttls) {
			set_why(c, "the server does not offer STARTTLS");
			goto out;
		}
		if (cmd(c, "STARTTLS", "STARTTLS") == -1)
			goto out;
		if (c->code != 220) {
			why_reply(c);
			goto out;
		}
		if (c->len != 0) {
			set_why(c, "the server sent data after its 220");
			goto out;
		}
		if (tls_start(c) == -1 || ehlo(c) == -1)
			goto out;
	}
	if (cf->smtp_user[0] != '\0' && auth(c) == -1)
		goto out;

	/* The session stands; what fails now concerns this message. */
	st = SMTP_TEMPFAIL;
	c->step = "MAIL FROM";
	if (utf8 && !c->smtputf8) {
		set_why(c,
		    "a non-ASCII address needs SMTPUTF8, which the "
		    "server does not offer");
		st = SMTP_PERMFAIL;
		goto out;
	}
	if (c->size > 0 && len > c->size) {
		set_why(c,
		    "the message (%zu bytes) is larger than the "
		    "server's SIZE %llu",
		    len, c->size);
		st = SMTP_PERMFAIL;
		goto out;
	}
	if (c->size > 0)
		n = snprintf(line, sizeof(line), "MAIL FROM:<%s> SIZE=%zu%s",
		    from, len, utf8 ? " SMTPUTF8" : "");
	else
		n = snprintf(line, sizeof(line), "MAIL FROM:<%s>%s", from,
		    utf8 ? " SMTPUTF8" : "");
	if (n < 0 || (size_t)n >= sizeof(line)) {
		set_why(c, "address too long");
		st = SMTP_PERMFAIL;
		goto out;
	}
	if (cmd(c, "MAIL FROM", line) == -1)
		goto out;
	if (c->code != 250) {
		st = refusal(c);
		goto out;
	}
	n = snprintf(line, sizeof(line), "RCPT TO:<%s>", to);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		set_why(c, "address too long");
		st = SMTP_PERMFAIL;
		goto out;
	}
	if (cmd(c, "RCPT TO", line) == -1)
		goto out;
	if (c->code != 250 && c->code != 251) {
		st = refusal(c);
		goto out;
	}
	if (cmd(c, "DATA", "DATA") == -1)
		goto out;
	if (c->code != 354) {
		st = refusal(c);
		goto out;
	}
	if ((data = stuff(msg, len, &dlen)) == NULL) {
		set_why(c, "out of memory");
		goto out;
	}
	c->step = "end of data";
	if (conn_write(c, data, dlen) == -1 || conn_reply(c) == -1)
		goto out;
	if (c->code != 250) {
		st = refusal(c);
		goto out;
	}
	why_reply(c);
	st = SMTP_OK;
out:
	if (session)
		quit(c);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		(void)close(c->fd);
	free(data);
	free(c);
	return st;
}
