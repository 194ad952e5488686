// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Zone resolution against a real HTTP server on 127.0.0.1 (a thread
 * here): AWS IMDSv2 with its token, GCP, Azure and the Kubernetes API each
 * found with the right source; a slow endpoint given up on within the
 * deadline, a closed port given up on at once; garbage answers refused
 * and never stored; local sources in their order.  Nothing else is
 * contacted: every test passes its own endpoint.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "live/az.h"
#include "test.h"

#define TOKEN "AQAEAF5r-test-token=="

enum mode {
	M_AWS, M_GCP, M_AZURE, M_AZURE_NOZONE, M_K8S, M_SLOW,
	M_HTML, M_LONG, M_HUGE, M_BINARY, M_BAD_TOKEN,
};

struct srv {
	int fd, port;
	enum mode mode;
	pthread_t th;
	atomic_int conns, token_puts, aws_ok, aws_denied;
	char base[64];
};

/* Handlers may outlive a test (the slow one sleeps): they copy the mode. */
struct conn {
	struct srv *s;
	enum mode mode;
	int fd;
};

/* Case-insensitive "Name: value" among the request's header lines. */
static bool has_header(const char *req, const char *line)
{
	for (const char *p = strstr(req, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, line, strlen(line)) &&
		    (p[2 + strlen(line)] == '\r'))
			return true;
	return false;
}

static void reply(int fd, int code, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n"
			 "Connection: close\r\n\r\n", code, len);

	send(fd, head, n, MSG_NOSIGNAL);
	send(fd, body, len, MSG_NOSIGNAL);
}

static void reply_str(int fd, int code, const char *body)
{
	reply(fd, code, body, strlen(body));
}

static const char azure_json[] =
	"{\"location\":\"eastus2\",\"name\":\"vm1\",\"osType\":\"Linux\","
	"\"tagsList\":[],\"vmSize\":\"Standard_D2s_v3\",\"zone\":\"2\"}";
static const char azure_nozone_json[] =
	"{\"location\":\"westeurope\",\"name\":\"vm1\",\"zone\":\"\"}";
static const char node_json[] =
	"{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-1\",\"labels\":{"
	"\"kubernetes.io/hostname\":\"node-1\",\"topology.kubernetes.io/region\":\"us-east-1\","
	"\"topology.kubernetes.io/zone\":\"us-east-1c\"}},"
	"\"spec\":{\"providerID\":\"aws:///us-east-1c/i-0123456789abcdef0\"}}";

static void aws(struct conn *c, const char *m, const char *path, const char *req)
{
	static const char *const ans[][2] = {
		{ "/latest/meta-data/placement/availability-zone", "us-east-1a" },
		{ "/latest/meta-data/placement/availability-zone-id", "use1-az6" },
		{ "/latest/meta-data/placement/region", "us-east-1\n" },
	};

	if (!strcmp(m, "PUT") && !strcmp(path, "/latest/api/token")) {
		if (!strcasestr(req, "\r\nX-aws-ec2-metadata-token-ttl-seconds: "))
			return reply_str(c->fd, 400, "missing ttl");
		c->s->token_puts++;
		return reply_str(c->fd, 200, c->mode == M_BAD_TOKEN ? "<html>hi</html>" : TOKEN);
	}
	for (size_t i = 0; i < sizeof(ans) / sizeof(ans[0]); i++) {
		if (strcmp(m, "GET") || strcmp(path, ans[i][0]))
			continue;
		/* IMDSv2 only: no token, no answer */
		if (!has_header(req, "X-aws-ec2-metadata-token: " TOKEN)) {
			c->s->aws_denied++;
			return reply_str(c->fd, 401, "");
		}
		c->s->aws_ok++;
		return reply_str(c->fd, 200, ans[i][1]);
	}
	reply_str(c->fd, 404, "not found");
}

static void gcp(struct conn *c, const char *req, const char *body, size_t len)
{
	if (!has_header(req, "Metadata-Flavor: Google"))
		return reply_str(c->fd, 403, "Missing Metadata-Flavor header");
	reply(c->fd, 200, body, len);
}

static void route(struct conn *c, const char *m, const char *path, const char *req)
{
	static const char gcp_zone[] = "projects/123456789012/zones/us-central1-a";
	static const char binary[] = "projects/1/zones/us-\x01\x02\xff-a";
	bool is_gcp = !strcmp(path, "/computeMetadata/v1/instance/zone");
	bool is_azure = !strcmp(path, "/metadata/instance/compute?api-version=2021-02-01");
	char big[10000];

	switch (c->mode) {
	case M_AWS:
	case M_BAD_TOKEN:
		return aws(c, m, path, req);
	case M_GCP:
		return is_gcp ? gcp(c, req, gcp_zone, strlen(gcp_zone)) : reply_str(c->fd, 404, "");
	case M_HTML:
		return is_gcp ? reply_str(c->fd, 200, "<html><body>Sign in to Wi-Fi</body></html>")
			      : reply_str(c->fd, 404, "");
	case M_LONG:
		memset(big, 'a', 120);
		memcpy(big, "projects/1/zones/", 17);
		return is_gcp ? reply(c->fd, 200, big, 120) : reply_str(c->fd, 404, "");
	case M_HUGE:
		memset(big, 'a', sizeof(big));
		return is_gcp ? reply(c->fd, 200, big, sizeof(big)) : reply_str(c->fd, 404, "");
	case M_BINARY:
		return is_gcp ? gcp(c, req, binary, sizeof(binary) - 1) : reply_str(c->fd, 404, "");
	case M_AZURE:
	case M_AZURE_NOZONE:
		if (!is_azure)
			return reply_str(c->fd, 404, "");
		if (!has_header(req, "Metadata: true"))
			return reply_str(c->fd, 400, "Required metadata header not specified");
		return reply_str(c->fd, 200, c->mode == M_AZURE ? azure_json : azure_nozone_json);
	case M_K8S:
		if (strcmp(path, "/api/v1/nodes/node-1"))
			return reply_str(c->fd, 404, "");
		if (!has_header(req, "Authorization: Bearer k8s-token"))
			return reply_str(c->fd, 401, "{}");
		return reply_str(c->fd, 200, node_json);
	case M_SLOW:
		sleep(2);
		return reply_str(c->fd, 404, "");
	}
}

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	char req[8192], m[8], path[512];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(req) - 1 && (n = recv(c->fd, req + len, sizeof(req) - 1 - len, 0)) > 0) {
		len += n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	if (sscanf(req, "%7s %511s", m, path) == 2)
		route(c, m, path, req);
	close(c->fd);
	free(c);
	return NULL;
}

/* One thread per connection, so a sleeping answer blocks nobody. */
static void *serve(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		struct conn *c;
		pthread_t th;
		int fd = accept(s->fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL; /* shut down */
		}
		s->conns++;
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		*c = (struct conn){ s, s->mode, fd };
		if (pthread_create(&th, NULL, serve_conn, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
}

/* A port on 127.0.0.1 that was just free, or 0. */
static int bind_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int srv_start(struct srv *s, enum mode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->fd = bind_local(&s->port);
	if (s->fd < 0 || listen(s->fd, 16))
		return -1;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	if (pthread_create(&s->th, NULL, serve, s)) {
		close(s->fd);
		return -1;
	}
	return 0;
}

static void srv_stop(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* Every test starts from an environment that says nothing about zones. */
static void clean_env(void)
{
	static const char *const vars[] = {
		"GTRACE_AZ", "GTRACE_REGION", "GTRACE_K8S_ZONE", "GTRACE_K8S_REGION",
		"GTRACE_K8S_LABELS_FILE", "NODE_NAME", "KUBERNETES_SERVICE_HOST",
		"KUBERNETES_SERVICE_PORT", NULL,
	};

	for (const char *const *v = vars; *v; v++)
		unsetenv(*v);
}

static struct gt_az_opts opts_for(const char *base)
{
	return (struct gt_az_opts){ .az_file = "", .k8s_labels_file = "", .imds_endpoint = base };
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int resolve_mode(enum mode mode, struct srv *s, struct gt_az *az, long *ms)
{
	struct gt_az_opts o;
	struct timespec t0;
	int ret;

	clean_env();
	if (srv_start(s, mode))
		return -999;
	o = opts_for(s->base);
	/*
	 * The 300 ms default is what M_SLOW checks; every other case waits for
	 * an answer, which a loaded machine can delay past 300 ms.
	 */
	if (mode != M_SLOW)
		o.timeout_ms = 5000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = az__resolve(&o, az);
	if (ms)
		*ms = ms_since(&t0);
	srv_stop(s);
	return ret;
}

/* HTTP status of a plain GET, with no metadata token. */
static long get_status(const char *url)
{
	CURL *h = curl_easy_init();
	long code = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

TEST(az_aws_imdsv2)
{
	static struct srv s;
	struct gt_az az;
	char url[128];
	int ret = resolve_mode(M_AWS, &s, &az, NULL);

	T_ASSERT(ret != -999, "cannot start the test server");
	T_CHECK(ret == 0, "az__resolve returned %d: %s", ret, az.note);
	T_CHECK(!strcmp(az.az, "us-east-1a"), "az \"%s\"", az.az);
	T_CHECK(!strcmp(az.az_id, "use1-az6"), "az_id \"%s\"", az.az_id);
	T_CHECK(!strcmp(az.region, "us-east-1"), "region \"%s\"", az.region);
	T_CHECK(!strcmp(az.provider, "aws") && !strcmp(az.source, "imds-aws"), "origin %s/%s",
		az.provider, az.source);
	T_CHECK(s.token_puts == 1 && s.aws_ok == 3 && s.aws_denied == 0,
		"token PUTs %d, answered GETs %d, denied %d", s.token_puts, s.aws_ok, s.aws_denied);
	T_CHECK(az.host[0], "no host name");

	/* the server really enforces IMDSv2: without the token, no zone */
	T_ASSERT(srv_start(&s, M_AWS) == 0, "cannot start the test server");
	snprintf(url, sizeof(url), "%s/latest/meta-data/placement/availability-zone", s.base);
	T_CHECK(get_status(url) == 401, "token-less GET was answered");
	srv_stop(&s);
	T_CHECK(s.aws_denied == 1 && s.aws_ok == 0, "denied %d ok %d", s.aws_denied, s.aws_ok);
}

TEST(az_aws_bad_token)
{
	static struct srv s;
	struct gt_az az;
	int ret = resolve_mode(M_BAD_TOKEN, &s, &az, NULL);

	T_CHECK(ret == -ENOENT && !az.az[0], "HTML token accepted: %d \"%s\"", ret, az.az);
	T_CHECK(strstr(az.note, "token"), "note \"%s\"", az.note);
	T_CHECK(s.aws_ok + s.aws_denied == 0, "a GET was sent with a garbage token");
}

TEST(az_gcp)
{
	static struct srv s;
	struct gt_az az;
	int ret = resolve_mode(M_GCP, &s, &az, NULL);

	T_CHECK(ret == 0, "az__resolve returned %d: %s", ret, az.note);
	T_CHECK(!strcmp(az.az, "us-central1-a") && !strcmp(az.region, "us-central1"),
		"az \"%s\" region \"%s\"", az.az, az.region);
	T_CHECK(!strcmp(az.provider, "gcp") && !strcmp(az.source, "imds-gcp"), "origin %s/%s",
		az.provider, az.source);
}

TEST(az_azure)
{
	static struct srv s;
	struct gt_az az;
	int ret = resolve_mode(M_AZURE, &s, &az, NULL);

	T_CHECK(ret == 0, "az__resolve returned %d: %s", ret, az.note);
	T_CHECK(!strcmp(az.az, "eastus2-2") && !strcmp(az.az_id, "2") &&
			!strcmp(az.region, "eastus2"),
		"az \"%s\" id \"%s\" region \"%s\"", az.az, az.az_id, az.region);
	T_CHECK(!strcmp(az.provider, "azure") && !strcmp(az.source, "imds-azure"),
		"origin %s/%s", az.provider, az.source);

	/* a VM outside any zone: where it is, but no zone */
	ret = resolve_mode(M_AZURE_NOZONE, &s, &az, NULL);
	T_CHECK(ret == -ENOENT && !az.az[0], "non-zonal VM got zone \"%s\"", az.az);
	T_CHECK(!strcmp(az.provider, "azure") && !strcmp(az.region, "westeurope"),
		"provider \"%s\" region \"%s\"", az.provider, az.region);
	T_CHECK(strstr(az.note, "not in an availability zone"), "note \"%s\"", az.note);
}

TEST(az_k8s_api)
{
	char dir[] = "/tmp/gtrace-az-XXXXXX", path[64];
	struct gt_az_opts o;
	struct gt_az az;
	static struct srv s;
	FILE *f;
	int ret;

	clean_env();
	T_ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/token", dir);
	f = fopen(path, "w");
	T_ASSERT(f, "token file");
	fputs("k8s-token\n", f);
	fclose(f);
	T_ASSERT(srv_start(&s, M_K8S) == 0, "cannot start the test server");
	setenv("NODE_NAME", "node-1", 1);
	o = opts_for(s.base);
	o.k8s_api = s.base;
	o.k8s_sa_dir = dir;
	o.timeout_ms = 5000; /* an answer is expected: do not race a loaded machine */
	ret = az__resolve(&o, &az);
	srv_stop(&s);
	clean_env();
	unlink(path);
	rmdir(dir);
	T_CHECK(ret == 0, "az__resolve returned %d: %s", ret, az.note);
	T_CHECK(!strcmp(az.az, "us-east-1c") && !strcmp(az.region, "us-east-1"),
		"az \"%s\" region \"%s\"", az.az, az.region);
	T_CHECK(!strcmp(az.source, "k8s-api") && !strcmp(az.provider, "aws"), "origin %s/%s",
		az.provider, az.source);
}

TEST(az_slow_endpoint)
{
	static struct srv s;
	struct gt_az az;
	long ms;
	int ret = resolve_mode(M_SLOW, &s, &az, &ms);

	T_ASSERT(ret != -999, "cannot start the test server");
	T_CHECK(ret == -ENOENT && !az.az[0], "got %d \"%s\"", ret, az.az);
	/* 300 ms default deadline; the server would take 2 s: gave up before it answered */
	T_CHECK(ms >= 250 && ms < 1900, "gave up after %ld ms", ms);
	T_CHECK(strstr(az.note, "no cloud metadata answer within 300 ms"), "note \"%s\"", az.note);
}

TEST(az_dead_endpoint)
{
	struct gt_az_opts o;
	struct timespec t0;
	char base[64];
	struct gt_az az;
	int port, fd, ret;
	long ms;

	clean_env();
	/* a port that was free a moment ago and is closed now */
	fd = bind_local(&port);
	T_ASSERT(fd >= 0, "bind");
	close(fd);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	o = opts_for(base);
	o.timeout_ms = 2000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = az__resolve(&o, &az);
	ms = ms_since(&t0);
	T_CHECK(ret == -ENOENT && !az.az[0], "got %d \"%s\"", ret, az.az);
	/* a refused connection ends the lookup at once, not at the 2 s deadline */
	T_CHECK(ms < 1500, "took %ld ms to notice a closed port", ms);
	T_CHECK(strstr(az.note, "cannot connect"), "note \"%s\"", az.note);
}

TEST(az_garbage_rejected)
{
	static const struct {
		enum mode mode;
		const char *why;
	} cases[] = {
		{ M_HTML, "looks like HTML" },
		{ M_LONG, "too long for a zone" },
		{ M_HUGE, "too long (over" },
		{ M_BINARY, "non-printable" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct srv s;
		struct gt_az az;
		int ret = resolve_mode(cases[i].mode, &s, &az, NULL);

		T_CHECK(ret == -ENOENT, "case %zu: returned %d", i, ret);
		T_CHECK(!az.az[0] && !az.region[0] && !az.provider[0],
			"case %zu: stored \"%s\"/\"%s\"/\"%s\"", i, az.az, az.region, az.provider);
		T_CHECK(strstr(az.note, cases[i].why), "case %zu: note \"%s\" lacks \"%s\"", i,
			az.note, cases[i].why);
	}
}

TEST(az_no_network)
{
	struct gt_az_opts o;
	struct gt_az az;
	static struct srv s;
	int ret;

	clean_env();
	T_ASSERT(srv_start(&s, M_AWS) == 0, "cannot start the test server");
	o = opts_for(s.base);
	o.no_network = true;
	ret = az__resolve(&o, &az);
	srv_stop(&s);
	T_CHECK(ret == -ENOENT && !az.az[0], "got %d \"%s\"", ret, az.az);
	T_CHECK(s.conns == 0, "%d connections with network lookups off", s.conns);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(az_local_sources_in_order)
{
	char zf[] = "/tmp/gtrace-az-XXXXXX", lf[] = "/tmp/gtrace-lbl-XXXXXX";
	struct gt_az_opts o = { .no_network = true };
	struct gt_az az;
	int fd;

	clean_env();
	T_ASSERT((fd = mkstemp(zf)) >= 0, "mkstemp");
	close(fd);
	T_ASSERT((fd = mkstemp(lf)) >= 0, "mkstemp");
	close(fd);
	o.az_file = zf;
	o.k8s_labels_file = lf;
	write_file(zf, "# zone of this rack\nrack-7b\n");
	write_file(lf, "app=\"web\"\ntopology.kubernetes.io/region=\"europe-west4\"\n"
		       "topology.kubernetes.io/zone=\"europe-west4-b\"\n");

	setenv("GTRACE_K8S_ZONE", "k8s-env-zone", 1);
	setenv("GTRACE_AZ", "env-zone", 1);
	o.az = "flag-zone";
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "flag-zone") &&
			!strcmp(az.source, "flag") && !strcmp(az.provider, "manual"),
		"flag: %s/%s", az.az, az.source);
	o.az = "<html>";
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "env-zone") &&
			!strcmp(az.source, "env"),
		"bad flag should fall back to env: %s/%s", az.az, az.source);
	o.az = NULL;
	unsetenv("GTRACE_AZ");
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "rack-7b") && !strcmp(az.source, "file"),
		"file: %s/%s", az.az, az.source);
	write_file(zf, "az=us-west-2b\nregion=us-west-2\naz.id=usw2-az1\nprovider=aws\n");
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "us-west-2b") &&
			!strcmp(az.region, "us-west-2") && !strcmp(az.az_id, "usw2-az1") &&
			!strcmp(az.provider, "aws"),
		"key=value file: %s %s %s %s", az.az, az.region, az.az_id, az.provider);
	write_file(zf, "");
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "k8s-env-zone") &&
			!strcmp(az.source, "k8s-env") && !strcmp(az.provider, "k8s"),
		"k8s env: %s/%s", az.az, az.source);
	unsetenv("GTRACE_K8S_ZONE");
	T_CHECK(az__resolve(&o, &az) == 0 && !strcmp(az.az, "europe-west4-b") &&
			!strcmp(az.region, "europe-west4") && !strcmp(az.source, "k8s-file"),
		"labels file: %s %s %s", az.az, az.region, az.source);
	write_file(lf, "topology.kubernetes.io/zone=\"\x01\x02\"\n");
	T_CHECK(az__resolve(&o, &az) == -ENOENT && !az.az[0], "binary label stored: %s", az.az);
	unlink(zf);
	unlink(lf);
}

static int kv_count(void *arg, const char *key, const char *value)
{
	char *seen = arg;

	strcat(seen, key);
	strcat(seen, "=");
	strcat(seen, value);
	strcat(seen, ";");
	return 0;
}

TEST(az_write_meta)
{
	struct gt_az az = { .az = "us-east-1a", .az_id = "use1-az6", .region = "us-east-1",
			    .provider = "aws", .source = "imds-aws", .host = "web-1" };
	char seen[1024] = "";

	T_ASSERT(az__write_meta(&az, kv_count, seen) == 0, "write_meta");
	T_CHECK(!strcmp(seen, "az=us-east-1a;az.id=use1-az6;az.source=imds-aws;"
			      "cloud.availability_zone=us-east-1a;cloud.region=us-east-1;"
			      "cloud.provider=aws;host.name=web-1;"),
		"got %s", seen);
	az.az_id[0] = '\0';
	seen[0] = '\0';
	az__write_meta(&az, kv_count, seen);
	T_CHECK(!strstr(seen, "az.id"), "empty az.id emitted: %s", seen);
}
