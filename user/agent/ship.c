// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sender thread and its spool.  A queue entry is a file
 * <spool>/<sink>/<seq>.req (written to .tmp, then renamed, so a crash never
 * leaves half a body under a real name) or, without a spool directory, a
 * copy in memory.  Entries go out oldest first, one at a time per sink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "lib/debug.h"
#include "agent/ship.h"

#define MAX_SINKS 4
#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 30.0

struct entry {
	struct entry *next;
	uint64_t seq;
	size_t len;
	uint8_t *data; /* memory only; NULL when spooled */
};

struct sink {
	struct ship_sink_opts o;
	char dir[1024];
	CURL *curl;
	struct curl_slist *hdrs;
	struct entry *head, *tail;
	uint64_t next_seq;
	double next_try, backoff; /* CLOCK_MONOTONIC s */
	struct ship_stats st;
	char resp[512];
	size_t resp_len;
};

struct shipper {
	struct ship_opts o;
	struct sink sinks[MAX_SINKS];
	int n;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, started;
	uint64_t spool_bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void entry_path(const struct sink *k, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020" PRIu64 ".req", k->dir, seq);
}

static int mkdirs(const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0700) && errno != EEXIST ? -errno : 0;
}

static void push_entry(struct sink *k, struct entry *e)
{
	e->next = NULL;
	if (k->tail)
		k->tail->next = e;
	else
		k->head = e;
	k->tail = e;
	k->st.queued++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Entries a previous run left behind, oldest first. */
static int load_spool(struct shipper *s, struct sink *k)
{
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(k->dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		uint64_t seq = strtoull(de->d_name, &end, 10);

		if (end == de->d_name || strcmp(end, ".req")) {
			if (strstr(de->d_name, ".tmp")) { /* a write the last run did not finish */
				char p[1400];

				snprintf(p, sizeof(p), "%s/%s", k->dir, de->d_name);
				unlink(p);
			}
			continue;
		}
		if (n == cap) {
			uint64_t *v = realloc(seqs, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!v)
				break;
			seqs = v;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (n) /* an empty spool has no array: qsort(NULL, 0) is undefined (UBSan) */
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		struct entry *e = calloc(1, sizeof(*e));
		char p[1400];
		struct stat st;

		entry_path(k, seqs[i], p, sizeof(p));
		if (!e || stat(p, &st)) {
			free(e);
			continue;
		}
		e->seq = seqs[i];
		e->len = st.st_size;
		push_entry(k, e);
		k->st.spool_bytes += e->len;
		s->spool_bytes += e->len;
		k->next_seq = seqs[i] + 1;
	}
	if (n)
		pr_info("gtrace: agent: %s: %zu windows left in the spool by an earlier run, sending them first\n",
			k->o.name, n);
	free(seqs);
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
	struct sink *k = ctx;
	size_t n = sz * nm, room = sizeof(k->resp) - 1 - k->resp_len;

	memcpy(k->resp + k->resp_len, p, n < room ? n : room);
	k->resp_len += n < room ? n : room;
	k->resp[k->resp_len] = 0;
	return n;
}

static int sink_init(struct shipper *s, struct sink *k, const struct ship_sink_opts *o)
{
	char ct[256];

	k->o = *o;
	k->curl = curl_easy_init();
	if (!k->curl)
		return -ENOMEM;
	snprintf(ct, sizeof(ct), "Content-Type: %s", o->content_type);
	k->hdrs = curl_slist_append(k->hdrs, ct);
	k->hdrs = curl_slist_append(k->hdrs, "Expect:"); /* no 100-continue round trip */
	if (!strcmp(o->content_type, "application/proto"))
		k->hdrs = curl_slist_append(k->hdrs, "Connect-Protocol-Version: 1");
	for (int i = 0; i < o->nheaders; i++)
		k->hdrs = curl_slist_append(k->hdrs, o->headers[i]);
	curl_easy_setopt(k->curl, CURLOPT_URL, o->url);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, k->hdrs);
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)((o->timeout_s > 0 ? o->timeout_s : 10) * 1000));
	curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(k->curl, CURLOPT_USERAGENT, "gtrace-agent");
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, k);
	/* TLS: libcurl verifies against the system CA store by default; keep it so */
	curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	if (o->basic_auth) {
		curl_easy_setopt(k->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(k->curl, CURLOPT_USERPWD, o->basic_auth);
	}
	if (o->bearer) {
		curl_easy_setopt(k->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(k->curl, CURLOPT_XOAUTH2_BEARER, o->bearer);
	}
	k->backoff = BACKOFF_MIN;
	k->st.up = true;
	if (s->o.spool_dir) {
		int err;

		snprintf(k->dir, sizeof(k->dir), "%s/%s", s->o.spool_dir, o->name);
		err = mkdirs(k->dir);
		if (err) {
			pr_err("cannot create the spool directory %s: %s\n", k->dir, strerror(-err));
			return err;
		}
		return load_spool(s, k);
	}
	return 0;
}

/* Reads an entry's body; malloc'd. */
static uint8_t *entry_body(const struct sink *k, const struct entry *e)
{
	char p[1400];
	uint8_t *b;
	int fd;

	if (e->data)
		return e->data;
	entry_path(k, e->seq, p, sizeof(p));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	b = malloc(e->len ? e->len : 1);
	if (b && pread(fd, b, e->len, 0) != (ssize_t)e->len) {
		free(b);
		b = NULL;
	}
	close(fd);
	return b;
}

/* Removes the head entry (sent, refused or dropped).  Lock held. */
static void pop(struct shipper *s, struct sink *k)
{
	struct entry *e = k->head;
	char p[1400];

	k->head = e->next;
	if (!k->head)
		k->tail = NULL;
	k->st.queued--;
	if (!e->data) {
		entry_path(k, e->seq, p, sizeof(p));
		unlink(p);
	}
	k->st.spool_bytes -= e->len;
	s->spool_bytes -= e->len;
	free(e->data);
	free(e);
}

/* One try of k's head.  Lock not held. 1 sent, 0 retry later, -1 refused. */
static int send_one(struct sink *k, const struct entry *e, char *why, size_t whylen)
{
	uint8_t *body = entry_body(k, e);
	long code = 0;
	CURLcode rc;

	if (!body) {
		snprintf(why, whylen, "spooled body unreadable: %s", strerror(errno));
		return -1;
	}
	k->resp_len = 0;
	k->resp[0] = 0;
	curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->len);
	rc = curl_easy_perform(k->curl);
	if (body != e->data)
		free(body);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return 1;
	snprintf(why, whylen, "HTTP %ld%s%.200s", code, k->resp_len ? ": " : "", k->resp);
	for (char *c = why; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return code >= 400 && code < 500 && code != 408 && code != 429 ? -1 : 0;
}

static void *run(void *arg)
{
	struct shipper *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		double now = now_s(), wake = now + 1;
		bool did = false;

		for (int i = 0; i < s->n; i++) {
			struct sink *k = &s->sinks[i];
			struct entry *e = k->head;
			char why[256] = "";
			int r;

			if (!e || now < k->next_try) {
				if (e && k->next_try < wake)
					wake = k->next_try;
				continue;
			}
			pthread_mutex_unlock(&s->mu);
			r = send_one(k, e, why, sizeof(why));
			pthread_mutex_lock(&s->mu);
			did = true;
			if (r != 0) {
				if (r > 0) {
					k->st.sent++;
					if (!k->st.up)
						pr_info("gtrace: agent: %s: %s is reachable again, "
							"sending the %" PRIu64 " queued windows\n",
							k->o.name, k->o.url, k->st.queued - 1);
					k->st.up = true;
				} else {
					k->st.refused++;
					k->st.errors++;
					snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", why);
					pr_warn("%s: %s refused a window (%s): dropped\n", k->o.name,
						k->o.url, why);
				}
				pop(s, k);
				k->backoff = BACKOFF_MIN;
				k->next_try = 0;
				continue;
			}
			k->st.errors++;
			snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", why);
			if (k->st.up)
				pr_warn("%s: cannot push to %s (%s); spooling and retrying with backoff\n",
					k->o.name, k->o.url, why);
			k->st.up = false;
			k->next_try = now_s() + k->backoff;
			k->backoff = k->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : k->backoff * 2;
		}
		if (!did) {
			struct timespec ts;
			double w = wake - now_s();

			clock_gettime(CLOCK_REALTIME, &ts);
			w = w < 0.01 ? 0.01 : w;
			ts.tv_sec += (time_t)w;
			ts.tv_nsec += (long)((w - (time_t)w) * 1e9);
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int shipper__open(struct shipper **out, const struct ship_opts *o,
		  const struct ship_sink_opts *sinks, int nsinks)
{
	struct shipper *s = calloc(1, sizeof(*s));
	int err = 0;

	if (!s)
		return -ENOMEM;
	if (nsinks > MAX_SINKS)
		nsinks = MAX_SINKS;
	s->o = *o;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (int i = 0; i < nsinks && !err; i++, s->n++)
		err = sink_init(s, &s->sinks[i], &sinks[i]);
	if (!err && pthread_create(&s->thr, NULL, run, s))
		err = -errno;
	if (err) {
		shipper__close(s, 0);
		return err;
	}
	s->started = true;
	*out = s;
	return 0;
}

/* Drops the oldest entries while the spool is over its bound.  Lock held. */
static void bound(struct shipper *s)
{
	while (s->o.spool_max && s->spool_bytes > s->o.spool_max) {
		struct sink *old = NULL;

		for (int i = 0; i < s->n; i++) /* the sink with the oldest-queued head... */
			if (s->sinks[i].head && (!old || s->sinks[i].st.queued > old->st.queued))
				old = &s->sinks[i]; /* ...approximated by the longest queue */
		if (!old || old->head == old->tail)
			break; /* never drop the one just queued */
		old->st.dropped++;
		pop(s, old);
	}
}

int shipper__enqueue(struct shipper *s, int i, const uint8_t *body, size_t len)
{
	struct sink *k = &s->sinks[i];
	struct entry *e = calloc(1, sizeof(*e));
	int err = 0;

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&s->mu);
	e->seq = k->next_seq++;
	e->len = len;
	if (k->dir[0]) {
		char p[1400], tmp[4300];
		int fd;

		entry_path(k, e->seq, p, sizeof(p));
		snprintf(tmp, sizeof(tmp), "%s.tmp", p);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, body, len) != (ssize_t)len || close(fd) ||
		    rename(tmp, p)) {
			err = -errno;
			if (fd >= 0)
				unlink(tmp);
		}
	}
	if (err || !k->dir[0]) {
		/* no spool (or a full disk): keep it in memory, lost only if the agent dies */
		e->data = malloc(len ? len : 1);
		if (!e->data) {
			free(e);
			pthread_mutex_unlock(&s->mu);
			return -ENOMEM;
		}
		memcpy(e->data, body, len);
	}
	push_entry(k, e);
	k->st.spool_bytes += len;
	s->spool_bytes += len;
	bound(s);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void shipper__close(struct shipper *s, double grace_s)
{
	double until = now_s() + grace_s;

	if (!s)
		return;
	if (s->started) {
		for (;;) {
			bool busy = false, up = true;

			pthread_mutex_lock(&s->mu);
			for (int i = 0; i < s->n; i++) {
				busy |= s->sinks[i].head != NULL;
				up &= s->sinks[i].st.up || !s->sinks[i].head;
			}
			pthread_mutex_unlock(&s->mu);
			/* a sink that is down will not drain in time: keep its spool for next run */
			if (!busy || !up || now_s() >= until)
				break;
			usleep(20000);
		}
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thr, NULL);
	}
	for (int i = 0; i < s->n; i++) {
		struct sink *k = &s->sinks[i];

		if (k->head)
			pr_info("gtrace: agent: %s: %" PRIu64 " windows not delivered%s\n", k->o.name,
				k->st.queued, k->dir[0] ? ", kept in the spool for the next start" :
							  " (no --spool: lost)");
		while (k->head) { /* memory only: free; spooled files stay on disk */
			struct entry *e = k->head;

			k->head = e->next;
			free(e->data);
			free(e);
		}
		curl_slist_free_all(k->hdrs);
		if (k->curl)
			curl_easy_cleanup(k->curl);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

void shipper__stats(struct shipper *s, int i, struct ship_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->sinks[i].st;
	pthread_mutex_unlock(&s->mu);
}
