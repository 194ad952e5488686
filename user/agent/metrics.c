// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A minimal HTTP/1.0 responder for /metrics (see metrics.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "lib/debug.h"
#include "agent/metrics.h"

struct metrics_server {
	int fd;
	metrics_render_fn fn;
	void *ctx;
};

int metrics__open(struct metrics_server **out, const char *addr, metrics_render_fn fn, void *ctx)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');
	struct metrics_server *m;
	int fd = -1, one = 1, rc;

	if (!colon || colon == addr || !colon[1]) {
		pr_err("invalid --metrics '%s': give HOST:PORT, e.g. 127.0.0.1:9464\n", addr);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9464 */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		pr_err("invalid --metrics '%s': %s\n", addr, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		rc = -errno;
		pr_err("cannot serve metrics on %s: %s\n", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->fd = fd;
	m->fn = fn;
	m->ctx = ctx;
	*out = m;
	return 0;
}

int metrics__fd(const struct metrics_server *m)
{
	return m->fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= w;
		} else if (w < 0 && errno == EAGAIN && poll(&pf, 1, 1000) > 0) {
			continue;
		} else {
			return;
		}
	}
}

void metrics__serve(struct metrics_server *m)
{
	char req[2048], hdr[256], *body = NULL;
	size_t got = 0, blen = 0;
	int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	FILE *f;

	if (c < 0)
		return;
	/* the request line and headers, within a second */
	while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
		struct pollfd pf = { c, POLLIN, 0 };
		ssize_t n;

		if (poll(&pf, 1, 1000) <= 0)
			break;
		n = read(c, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			break;
		got += n;
		req[got] = 0;
	}
	req[got] = 0;
	if (strncmp(req, "GET /metrics", 12) || (req[12] != ' ' && req[12] != '?')) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
					 "Content-Length: 20\r\n\r\nonly /metrics here.\n";

		write_all(c, nf, sizeof(nf) - 1);
		close(c);
		return;
	}
	f = open_memstream(&body, &blen);
	if (f) {
		m->fn(m->ctx, f);
		fclose(f);
	}
	snprintf(hdr, sizeof(hdr),
		 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
	write_all(c, hdr, strlen(hdr));
	write_all(c, body ? body : "", blen);
	free(body);
	close(c);
}

void metrics__close(struct metrics_server *m)
{
	if (!m)
		return;
	close(m->fd);
	free(m);
}
