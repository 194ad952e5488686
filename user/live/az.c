// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Availability-zone resolution (az.h).  Local sources (flag, env, files)
 * cost nothing and are tried first; the network ones (Kubernetes API
 * server, AWS/GCP/Azure metadata) all start at once on one curl multi
 * handle under one deadline, because on a host that is not in a cloud
 * every one of them just hangs until it times out.  When several answer,
 * the better-ranked one wins (k8s-api, aws, gcp, azure), so the result does
 * not depend on who was quicker.  Everything fetched is validated before
 * it is stored: a proxy's HTML page must never become a zone name.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "live/az.h"
#include "lib/debug.h"

#define BODY_MAX_TEXT 4096	  /* a zone or a token; more is not an answer */
#define BODY_MAX_JSON (1 << 20)	  /* Node objects list images: allow some */
#define TOKEN_MAX 1024
#define VALUE_MAX 63		  /* a Kubernetes label value's limit */

/* ---- validation ---- */

/*
 * NULL when s[0..len) is acceptable as a zone, zone id or region; else
 * why not.  Any Kubernetes label value is allowed from local sources;
 * strict (cloud answers) wants what every cloud uses: [a-z0-9-].
 */
static const char *bad_value(const char *s, size_t len, bool strict)
{
	if (!len)
		return "empty";
	if (s[0] == '<' || memmem(s, len, "<html", 5) || memmem(s, len, "<HTML", 5))
		return "looks like HTML (a proxy or captive portal answered?)";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return "contains non-printable bytes";
	if (len > VALUE_MAX)
		return "too long for a zone";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "not zone-shaped (must start and end with a letter or digit)";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (strict ? !(islower(c) || isdigit(c) || c == '-')
			   : !(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return "not zone-shaped (unexpected characters)";
	}
	return NULL;
}

static void vnote(struct gt_az *out, bool warn, const char *fmt, va_list ap)
{
	vsnprintf(out->note, sizeof(out->note), fmt, ap);
	if (warn)
		pr_warn("%s\n", out->note);
	else
		pr_debug("%s\n", out->note);
}

static void __attribute__((format(printf, 3, 4))) note(struct gt_az *out, bool warn,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(out, warn, fmt, ap);
	va_end(ap);
}

/* Copies value into dst (VALUE_MAX+1 bytes) when valid; else warns.  true if stored. */
static bool take(struct gt_az *out, char *dst, const char *what, const char *from,
		 const char *s, size_t len, bool strict)
{
	const char *why = bad_value(s, len, strict);

	if (why) {
		/* show a printable prefix only: the answer may be anything */
		char shown[24];
		size_t i;

		for (i = 0; i < len && i < sizeof(shown) - 1; i++)
			shown[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
		shown[i] = '\0';
		note(out, true, "ignoring %s from %s: %s: \"%s%s\"", what, from, why, shown,
		     len > i ? "..." : "");
		return false;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

static void set_origin(struct gt_az *out, const char *provider, const char *source)
{
	snprintf(out->provider, sizeof(out->provider), "%s", provider);
	snprintf(out->source, sizeof(out->source), "%s", source);
}

/* Drops surrounding whitespace (and quotes when unquote) in place. */
static char *trim(char *s, bool unquote)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (unquote && e - s >= 2 && *s == '"' && e[-1] == '"') {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/* ---- local sources ---- */

static bool from_env(struct gt_az *out, const char *zone_var, const char *region_var,
		     const char *provider, const char *source)
{
	const char *z = getenv(zone_var), *r = region_var ? getenv(region_var) : NULL;
	char from[48];

	if (!z || !*z)
		return false;
	snprintf(from, sizeof(from), "env %s", zone_var);
	if (!take(out, out->az, "zone", from, z, strlen(z), false))
		return false;
	if (r && *r) {
		snprintf(from, sizeof(from), "env %s", region_var);
		take(out, out->region, "region", from, r, strlen(r), false);
	}
	set_origin(out, provider, source);
	return true;
}

static const char *const zone_keys[] = { "az", "zone", "topology.kubernetes.io/zone",
					 "failure-domain.beta.kubernetes.io/zone", NULL };
static const char *const region_keys[] = { "region", "topology.kubernetes.io/region",
					   "failure-domain.beta.kubernetes.io/region", NULL };
static const char *const id_keys[] = { "az.id", "az_id", "zone_id", NULL };

static bool key_in(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(key, *keys))
			return true;
	return false;
}

/*
 * One line of a zone file: a bare zone, or key=value (quotes allowed),
 * which also reads a downward-API labels file (key="value" per label).
 */
static void file_line(struct gt_az *out, char *line, const char *from, bool *found)
{
	char *eq = strchr(line, '='), *key, *val;

	if (!eq) {
		if (!*found)
			*found = take(out, out->az, "zone", from, line, strlen(line), false);
		return;
	}
	*eq = '\0';
	key = trim(line, false);
	val = trim(eq + 1, true);
	if (key_in(key, zone_keys) && !*found)
		*found = take(out, out->az, "zone", from, val, strlen(val), false);
	else if (key_in(key, region_keys) && !out->region[0])
		take(out, out->region, "region", from, val, strlen(val), false);
	else if (key_in(key, id_keys) && !out->az_id[0])
		take(out, out->az_id, "zone id", from, val, strlen(val), false);
	else if (!strcmp(key, "provider") && !bad_value(val, strlen(val), true))
		snprintf(out->provider, sizeof(out->provider), "%.15s", val);
}

/*
 * Reads a zone file.  A missing file is only worth a warning when the
 * user named it.  true when a zone was found.
 */
static bool from_file(struct gt_az *out, const char *path, bool named, const char *provider,
		      const char *source)
{
	char line[512], from[300];
	bool found = false;
	int lines = 0;
	FILE *f;

	if (!*path)
		return false; /* "" turns the file off */
	f = fopen(path, "re");
	if (!f) {
		if (named || errno != ENOENT)
			note(out, true, "cannot read zone file %s: %s", path, strerror(errno));
		return false;
	}
	snprintf(from, sizeof(from), "file %s", path);
	out->provider[0] = '\0';
	while (fgets(line, sizeof(line), f) && ++lines <= 1000) {
		char *s = trim(line, false);

		if (*s && *s != '#')
			file_line(out, s, from, &found);
	}
	fclose(f);
	if (!found) {
		out->region[0] = out->az_id[0] = out->provider[0] = '\0';
		if (named)
			note(out, true, "no zone in %s", path);
		return false;
	}
	snprintf(out->source, sizeof(out->source), "%s", source);
	if (!out->provider[0])
		snprintf(out->provider, sizeof(out->provider), "%s", provider);
	return true;
}

/* ---- network sources ---- */

enum req_kind { R_K8S_NODE, R_AWS_TOKEN, R_AWS_AZ, R_AWS_AZ_ID, R_AWS_REGION, R_GCP, R_AZURE, R_NR };

/* Network providers in order of preference when more than one answers. */
enum rank { K_K8S, K_AWS, K_GCP, K_AZURE, K_NR };

struct req {
	CURL *h;
	struct curl_slist *hdrs;
	char *buf;
	size_t len, cap;
	bool too_long, started, done;
	long status;
	CURLcode rc;
	char url[512];
};

struct lookup {
	const struct gt_az_opts *o;
	CURLM *multi;
	struct req r[R_NR];
	struct gt_az res[K_NR]; /* what each provider answered */
	bool have[K_NR], final[K_NR];
	const char *base;
	unsigned timeout_ms;
	struct timespec deadline;
	const char *cainfo; /* API server CA, for the k8s request only */
	int timed_out, refused;
};

static long ms_left(const struct lookup *l)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (l->deadline.tv_sec - now.tv_sec) * 1000 +
	       (l->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (r->len + n > r->cap) {
		/* stop downloading: nothing this long is an answer */
		r->too_long = true;
		return 0;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return n;
}

/* Starts one request; a request that cannot start just never answers. */
static int start(struct lookup *l, enum req_kind k, const char *url, const char *method,
		 size_t cap, const char *const *hdrs)
{
	struct req *r = &l->r[k];
	long left = ms_left(l);

	if (left <= 0)
		return -ETIMEDOUT;
	snprintf(r->url, sizeof(r->url), "%s", url);
	r->buf = malloc(cap + 1);
	r->h = curl_easy_init();
	if (!r->buf || !r->h)
		return -ENOMEM;
	r->cap = cap;
	for (; hdrs && *hdrs; hdrs++)
		r->hdrs = curl_slist_append(r->hdrs, *hdrs);
	curl_easy_setopt(r->h, CURLOPT_URL, r->url);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	/* metadata services must be reached directly, never via $http_proxy */
	curl_easy_setopt(r->h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (k == R_K8S_NODE && l->cainfo)
		curl_easy_setopt(r->h, CURLOPT_CAINFO, l->cainfo);
	if (method) {
		curl_easy_setopt(r->h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (curl_multi_add_handle(l->multi, r->h) != CURLM_OK)
		return -EIO;
	r->started = true;
	return 0;
}

static bool active(const struct lookup *l, enum req_kind k)
{
	return l->r[k].started && !l->r[k].done;
}

/* The body of a 200 answer with surrounding whitespace dropped, or NULL. */
static char *answer(struct req *r, size_t *len)
{
	char *s;

	if (!r->done || r->rc != CURLE_OK || r->status != 200 || r->too_long)
		return NULL;
	r->buf[r->len] = '\0';
	s = r->buf;
	while (r->len && isspace((unsigned char)s[r->len - 1]))
		s[--r->len] = '\0';
	while (r->len && isspace((unsigned char)*s)) {
		s++;
		r->len--;
	}
	*len = r->len;
	return s;
}

/* A request that finished without an answer: say why, once it matters. */
static void no_answer(struct lookup *l, struct req *r, struct gt_az *out, const char *from)
{
	if (r->too_long)
		note(out, true, "ignoring answer from %s: too long (over %zu bytes)", from, r->cap);
	else if (!r->done || r->rc == CURLE_OPERATION_TIMEDOUT)
		l->timed_out++;
	else if (r->rc == CURLE_COULDNT_CONNECT)
		l->refused++;
	else if (r->rc != CURLE_OK)
		pr_debug("%s: %s\n", from, curl_easy_strerror(r->rc));
	else
		pr_debug("%s: HTTP %ld\n", from, r->status);
}

/*
 * Value of the first "key": "string" in a JSON text: enough for the few
 * flat string fields read here, without a JSON library.  Escapes are
 * refused, as no zone or region contains one.
 */
static int json_str(const char *json, const char *key, const char **val, size_t *len)
{
	char pat[80];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return -ENOENT;
	p += strlen(pat);
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != '"')
		return -EINVAL;
	e = strpbrk(p, "\"\\");
	if (!e || *e != '"')
		return -EINVAL;
	*val = p;
	*len = e - p;
	return 0;
}

static const char *url_of(char *buf, size_t len, const char *base, const char *path)
{
	size_t n = strlen(base);

	/* "http://x/" + "/path" would double the slash */
	while (n && base[n - 1] == '/')
		n--;
	snprintf(buf, len, "%.*s%s", (int)n, base, path);
	return buf;
}

/* ---- per provider ---- */

static void aws_token_done(struct lookup *l, struct gt_az *out)
{
	static const char *const paths[] = {
		[R_AWS_AZ] = "/latest/meta-data/placement/availability-zone",
		[R_AWS_AZ_ID] = "/latest/meta-data/placement/availability-zone-id",
		[R_AWS_REGION] = "/latest/meta-data/placement/region",
	};
	char hdr[TOKEN_MAX + 64], url[512];
	const char *hdrs[] = { hdr, NULL };
	size_t len;
	char *tok = answer(&l->r[R_AWS_TOKEN], &len);
	bool ok;

	if (!tok) {
		no_answer(l, &l->r[R_AWS_TOKEN], out, "AWS IMDSv2 token");
		l->final[K_AWS] = true;
		return;
	}
	/* it goes into a header: printable, no spaces, and not a web page */
	ok = len && len <= TOKEN_MAX && tok[0] != '<';

	for (size_t i = 0; ok && i < len; i++)
		ok = isgraph((unsigned char)tok[i]);
	if (!ok) {
		note(out, true, "ignoring AWS IMDSv2 token: not a token (%zu bytes)", len);
		l->final[K_AWS] = true;
		return;
	}
	snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", tok);
	for (int k = R_AWS_AZ; k <= R_AWS_REGION; k++)
		if (start(l, k, url_of(url, sizeof(url), l->base, paths[k]), NULL, BODY_MAX_TEXT,
			  hdrs))
			break;
}

static void aws_done(struct lookup *l, struct gt_az *out)
{
	struct gt_az *res = &l->res[K_AWS];
	size_t len;
	char *s;

	if (active(l, R_AWS_AZ) || active(l, R_AWS_AZ_ID) || active(l, R_AWS_REGION))
		return;
	l->final[K_AWS] = true;
	s = answer(&l->r[R_AWS_AZ], &len);
	if (!s) {
		no_answer(l, &l->r[R_AWS_AZ], out, "AWS availability-zone");
		return;
	}
	if (!take(out, res->az, "zone", "AWS IMDS", s, len, true))
		return;
	if ((s = answer(&l->r[R_AWS_AZ_ID], &len)))
		take(out, res->az_id, "zone id", "AWS IMDS", s, len, true);
	if ((s = answer(&l->r[R_AWS_REGION], &len)))
		take(out, res->region, "region", "AWS IMDS", s, len, true);
	set_origin(res, "aws", "imds-aws");
	l->have[K_AWS] = true;
}

/* GCP's region is its zone less the last "-x". */
static void gcp_done(struct lookup *l, struct gt_az *out)
{
	struct gt_az *res = &l->res[K_GCP];
	char *s, *slash, *dash;
	size_t len;

	l->final[K_GCP] = true;
	s = answer(&l->r[R_GCP], &len);
	if (!s) {
		no_answer(l, &l->r[R_GCP], out, "GCP metadata");
		return;
	}
	/* "projects/123/zones/us-central1-a" */
	slash = memrchr(s, '/', len);
	if (!slash || strncmp(s, "projects/", 9) || !strstr(s, "/zones/")) {
		take(out, res->az, "zone", "GCP metadata", s, len, true);
		if (res->az[0]) {
			note(out, true, "ignoring zone from GCP metadata: not projects/N/zones/ZONE");
			res->az[0] = '\0';
		}
		return;
	}
	len -= slash + 1 - s;
	if (!take(out, res->az, "zone", "GCP metadata", slash + 1, len, true))
		return;
	dash = strrchr(res->az, '-');
	if (dash && dash != res->az)
		snprintf(res->region, sizeof(res->region), "%.*s", (int)(dash - res->az), res->az);
	set_origin(res, "gcp", "imds-gcp");
	l->have[K_GCP] = true;
}

/* Azure zones are "1".."3" within a location; AKS labels them "eastus2-1". */
static void azure_done(struct lookup *l, struct gt_az *out)
{
	struct gt_az *res = &l->res[K_AZURE];
	const char *zone = "", *loc;
	size_t zlen = 0, llen, len;
	char *s;

	l->final[K_AZURE] = true;
	s = answer(&l->r[R_AZURE], &len);
	if (!s) {
		no_answer(l, &l->r[R_AZURE], out, "Azure IMDS");
		return;
	}
	if (*s != '{' || json_str(s, "location", &loc, &llen)) {
		take(out, res->az, "answer", "Azure IMDS", s, len, true);
		if (res->az[0])
			note(out, true, "ignoring answer from Azure IMDS: no \"location\" in it");
		res->az[0] = '\0';
		return;
	}
	if (!take(out, res->region, "region", "Azure IMDS", loc, llen, true))
		return;
	set_origin(res, "azure", "imds-azure");
	if (json_str(s, "zone", &zone, &zlen) == -EINVAL || !zlen) {
		/* on Azure for sure, just not zonal: keep region and provider */
		note(out, false, "Azure VM in %s is not in an availability zone", res->region);
		return;
	}
	if (!take(out, res->az_id, "zone", "Azure IMDS", zone, zlen, true))
		return;
	llen = strlen(res->region);
	if (llen + 1 + zlen > VALUE_MAX) {
		note(out, true, "ignoring zone from Azure IMDS: too long");
		return;
	}
	memcpy(res->az, res->region, llen);
	res->az[llen] = '-';
	memcpy(res->az + llen + 1, res->az_id, zlen + 1);
	l->have[K_AZURE] = true;
}

/* providerID "aws:///us-east-1a/i-0abc", "gce://proj/zone/name", "azure:///..." */
static const char *provider_of(const char *id, size_t len)
{
	if (len > 6 && !strncmp(id, "aws://", 6))
		return "aws";
	if (len > 6 && !strncmp(id, "gce://", 6))
		return "gcp";
	if (len > 8 && !strncmp(id, "azure://", 8))
		return "azure";
	return "k8s";
}

static void k8s_done(struct lookup *l, struct gt_az *out)
{
	struct gt_az *res = &l->res[K_K8S];
	const char *v;
	size_t len;
	char *s;

	l->final[K_K8S] = true;
	s = answer(&l->r[R_K8S_NODE], &len);
	if (!s) {
		no_answer(l, &l->r[R_K8S_NODE], out, "Kubernetes API server");
		if (l->r[R_K8S_NODE].status == 401 || l->r[R_K8S_NODE].status == 403)
			note(out, true, "Kubernetes API server refused to show this node (HTTP %ld): "
			     "the service account needs RBAC \"get nodes\"",
			     l->r[R_K8S_NODE].status);
		return;
	}
	if (json_str(s, "topology.kubernetes.io/zone", &v, &len) &&
	    json_str(s, "failure-domain.beta.kubernetes.io/zone", &v, &len)) {
		note(out, false, "Kubernetes node has no topology.kubernetes.io/zone label");
		return;
	}
	if (!take(out, res->az, "zone", "Kubernetes node label", v, len, false))
		return;
	if (!json_str(s, "topology.kubernetes.io/region", &v, &len))
		take(out, res->region, "region", "Kubernetes node label", v, len, false);
	v = "";
	len = 0;
	json_str(s, "providerID", &v, &len);
	set_origin(res, provider_of(v, len), "k8s-api");
	l->have[K_K8S] = true;
}

/* What reads each request's answer; AWS's three answers are read together. */
static void (*const on_done[R_NR])(struct lookup *l, struct gt_az *out) = {
	[R_K8S_NODE] = k8s_done, [R_AWS_TOKEN] = aws_token_done, [R_AWS_AZ] = aws_done,
	[R_AWS_AZ_ID] = aws_done, [R_AWS_REGION] = aws_done, [R_GCP] = gcp_done,
	[R_AZURE] = azure_done,
};

static void finished(struct lookup *l, struct req *r, CURLcode rc, struct gt_az *out)
{
	r->done = true;
	r->rc = rc;
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
	on_done[r - l->r](l, out);
}

/* Best-ranked answer once all better-ranked providers finished; -1 while waiting. */
static int decided(const struct lookup *l)
{
	for (int k = 0; k < K_NR; k++) {
		if (l->have[k])
			return k;
		if (!l->final[k])
			return -1;
	}
	return K_NR;
}

static void drain(struct lookup *l, struct gt_az *out)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(l->multi, &left))) {
		struct req *r;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		finished(l, r, m->data.result, out);
	}
}

static bool any_active(const struct lookup *l)
{
	for (int k = 0; k < R_NR; k++)
		if (active(l, k))
			return true;
	return false;
}

static void run(struct lookup *l, struct gt_az *out)
{
	int running;

	while (decided(l) < 0 && any_active(l)) {
		long left = ms_left(l);

		if (left <= 0)
			break;
		curl_multi_perform(l->multi, &running);
		drain(l, out);
		if (decided(l) >= 0)
			break;
		curl_multi_poll(l->multi, NULL, 0, left, NULL);
	}
	for (int k = 0; k < R_NR; k++)
		if (active(l, k))
			l->timed_out++;
}

static char *read_small(const char *path, size_t max)
{
	char *buf = malloc(max + 1);
	size_t n = 0;
	FILE *f;

	if (!buf)
		return NULL;
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, max, f);
		fclose(f);
	}
	if (!f || !n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Node names are DNS subdomains: anything else must not go into a URL. */
static bool node_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

/* GET /api/v1/nodes/$NODE_NAME with the pod's service-account token. */
static void k8s_start(struct lookup *l, struct gt_az *out, char *cabuf, size_t calen)
{
	const char *node = getenv("NODE_NAME"), *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT"), *dir, *tok;
	char base[300], path[600], url[900], *raw;
	char hdr[8300];
	const char *hdrs[] = { hdr, NULL };

	if (!node || !*node)
		return;
	if (!node_name_ok(node)) {
		note(out, true, "ignoring NODE_NAME \"%.64s\": not a node name", node);
		return;
	}
	if (l->o->k8s_api)
		snprintf(base, sizeof(base), "%s", l->o->k8s_api);
	else if (host && *host)
		snprintf(base, sizeof(base), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
			 host, port && *port ? port : "443");
	else
		return;
	dir = l->o->k8s_sa_dir ? l->o->k8s_sa_dir : GT_K8S_SA_DIR;
	snprintf(path, sizeof(path), "%s/token", dir);
	raw = read_small(path, sizeof(hdr) - 64);
	if (!raw) {
		pr_debug("NODE_NAME set but no service-account token at %s\n", path);
		return;
	}
	tok = trim(raw, false);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	free(raw);
	snprintf(cabuf, calen, "%s/ca.crt", dir);
	l->cainfo = access(cabuf, R_OK) ? NULL : cabuf;
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	if (start(l, R_K8S_NODE, url_of(url, sizeof(url), base, path), NULL, BODY_MAX_JSON, hdrs))
		return;
	l->final[K_K8S] = false;
}

static void imds_start(struct lookup *l)
{
	static const char *const aws_hdrs[] = { "X-aws-ec2-metadata-token-ttl-seconds: 60", NULL };
	static const char *const gcp_hdrs[] = { "Metadata-Flavor: Google", NULL };
	static const char *const azure_hdrs[] = { "Metadata: true", NULL };
	char url[600];

	if (!start(l, R_AWS_TOKEN, url_of(url, sizeof(url), l->base, "/latest/api/token"), "PUT",
		   BODY_MAX_TEXT, aws_hdrs))
		l->final[K_AWS] = false;
	if (!start(l, R_GCP, url_of(url, sizeof(url), l->base, "/computeMetadata/v1/instance/zone"),
		   NULL, BODY_MAX_TEXT, gcp_hdrs))
		l->final[K_GCP] = false;
	if (!start(l, R_AZURE,
		   url_of(url, sizeof(url), l->base, "/metadata/instance/compute?api-version=2021-02-01"),
		   NULL, BODY_MAX_JSON, azure_hdrs))
		l->final[K_AZURE] = false;
}

static void lookup_free(struct lookup *l)
{
	for (int k = 0; k < R_NR; k++) {
		struct req *r = &l->r[k];

		if (r->h) {
			if (r->started)
				curl_multi_remove_handle(l->multi, r->h);
			curl_easy_cleanup(r->h);
		}
		curl_slist_free_all(r->hdrs);
		free(r->buf);
	}
	if (l->multi)
		curl_multi_cleanup(l->multi);
}

/* The network sources, all at once.  true when a zone was found. */
static bool from_network(const struct gt_az_opts *o, struct gt_az *out)
{
	static bool curl_ready;
	struct lookup l = { .o = o };
	char before[sizeof(out->note)], cabuf[512];
	int k;

	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		note(out, true, "cannot initialise libcurl: zone lookups skipped");
		return false;
	}
	curl_ready = true;
	l.multi = curl_multi_init();
	if (!l.multi)
		return false;
	l.base = o->imds_endpoint ? o->imds_endpoint : GT_IMDS_ENDPOINT;
	l.timeout_ms = o->timeout_ms ? o->timeout_ms : GT_AZ_TIMEOUT_MS;
	clock_gettime(CLOCK_MONOTONIC, &l.deadline);
	l.deadline.tv_sec += l.timeout_ms / 1000;
	l.deadline.tv_nsec += (l.timeout_ms % 1000) * 1000000L;
	if (l.deadline.tv_nsec >= 1000000000L) {
		l.deadline.tv_sec++;
		l.deadline.tv_nsec -= 1000000000L;
	}
	for (k = 0; k < K_NR; k++)
		l.final[k] = true;
	snprintf(before, sizeof(before), "%s", out->note);

	k8s_start(&l, out, cabuf, sizeof(cabuf));
	imds_start(&l);
	run(&l, out);

	for (k = 0; k < K_NR && !l.have[k]; k++)
		;
	if (k < K_NR) {
		struct gt_az *r = &l.res[k];

		memcpy(out->az, r->az, sizeof(out->az));
		memcpy(out->az_id, r->az_id, sizeof(out->az_id));
		memcpy(out->region, r->region, sizeof(out->region));
		set_origin(out, r->provider, r->source);
	} else {
		/* no zone, but a provider that answered still says where we are */
		for (k = 0; k < K_NR && !l.res[k].provider[0]; k++)
			;
		if (k < K_NR) {
			memcpy(out->region, l.res[k].region, sizeof(out->region));
			set_origin(out, l.res[k].provider, l.res[k].source);
		}
		if (!strcmp(before, out->note)) {
			if (l.timed_out)
				note(out, false, "no cloud metadata answer within %u ms from %s",
				     l.timeout_ms, l.base);
			else if (l.refused)
				note(out, false, "cannot connect to cloud metadata at %s", l.base);
			else
				note(out, false, "no cloud metadata service answered at %s", l.base);
		}
	}
	lookup_free(&l);
	return k < K_NR && out->az[0];
}

int az__resolve(const struct gt_az_opts *o, struct gt_az *out)
{
	static const struct gt_az_opts none;
	const char *labels;
	bool named;

	if (!o)
		o = &none;
	memset(out, 0, sizeof(*out));
	if (gethostname(out->host, sizeof(out->host) - 1))
		out->host[0] = '\0';

	if (o->az && *o->az &&
	    take(out, out->az, "zone", "--az", o->az, strlen(o->az), false)) {
		set_origin(out, "manual", "flag");
		return 0;
	}
	if (from_env(out, "GTRACE_AZ", "GTRACE_REGION", "manual", "env"))
		return 0;
	named = o->az_file != NULL;
	if (from_file(out, named ? o->az_file : GT_AZ_FILE, named, "manual", "file"))
		return 0;
	if (from_env(out, "GTRACE_K8S_ZONE", "GTRACE_K8S_REGION", "k8s", "k8s-env"))
		return 0;
	labels = o->k8s_labels_file ? o->k8s_labels_file : getenv("GTRACE_K8S_LABELS_FILE");
	named = labels != NULL;
	if (from_file(out, named ? labels : GT_K8S_LABELS_FILE, named, "k8s", "k8s-file"))
		return 0;
	out->region[0] = '\0';

	if (o->no_network) {
		note(out, false, "no zone from --az, GTRACE_AZ or files, and network lookups are off");
	} else if (from_network(o, out)) {
		pr_debug("availability zone %s from %s\n", out->az, out->source);
		return 0;
	}
	/* Asked not to look on the network: say it only with -v, not on every run. */
	if (o->no_network)
		pr_debug("availability zone unknown: %s\n", out->note);
	else
		pr_warn("availability zone unknown: %s (set --az or GTRACE_AZ)\n", out->note);
	return -ENOENT;
}

static int emit_if(gt_meta_emit_fn emit, void *arg, const char *key, const char *value)
{
	return *value ? emit(arg, key, value) : 0;
}

int az__write_meta(const struct gt_az *a, gt_meta_emit_fn emit, void *arg)
{
	int err;

	if ((err = emit_if(emit, arg, "az", a->az)) ||
	    (err = emit_if(emit, arg, "az.id", a->az_id)) ||
	    (err = emit_if(emit, arg, "az.source", a->source)) ||
	    (err = emit_if(emit, arg, "cloud.availability_zone", a->az)) ||
	    (err = emit_if(emit, arg, "cloud.region", a->region)) ||
	    (err = emit_if(emit, arg, "cloud.provider", a->provider)) ||
	    (err = emit_if(emit, arg, "host.name", a->host)))
		return err;
	return 0;
}
