// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace stamp: say where an existing pprof profile (Go's net/http/pprof,
 * runtime/pprof, ours) was taken.  It decodes the gzipped or plain
 * profile with the generated protobuf-c code, resolves the zone as record
 * does (az__resolve), adds the string labels az, cloud.availability_zone,
 * cloud.region, cloud.provider and host.name to every sample (replacing
 * earlier stamps), a "gtrace stamp:" comment, and writes it back gzipped.
 * Nothing else in the profile changes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "live/az.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/outfile.h"
#include "lib/gzip.h"
#include "lib/debug.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Label Label;

#define STAMP_MAX_INPUT (1ULL << 30) /* pprof files are MBs; this is garbage */
#define STAMP_PREFIX "gtrace stamp:"
#define NR_KEYS 5

static const char *const stamp_keys[NR_KEYS] = {
	"az", "cloud.availability_zone", "cloud.region", "cloud.provider", "host.name",
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace stamp PROFILE.pb.gz [--az ZONE] [--az-file F] [--imds-endpoint URL]\n"
		"                    [--no-az-detect] -o OUT\n"
		"\n"
		"Add where a pprof profile was taken: string labels az, cloud.availability_zone,\n"
		"cloud.region, cloud.provider and host.name on every sample, and a comment.\n"
		"The zone is found as 'gtrace record' finds it (docs/clock-and-az.md).\n"
		"\n"
		"  --az ZONE             the zone, no lookup\n"
		"  --az-file F           read the zone from F (default /etc/gtrace/az)\n"
		"  --imds-endpoint URL   cloud metadata base URL (default http://169.254.169.254)\n"
		"  --no-az-detect        no network lookups (flag, env and files only)\n"
		"  -o, --output OUT      write the stamped profile here (gzipped; '-' = stdout)\n"
		"  -q, --quiet           no warnings\n"
		"  -v, --verbose         more detail\n"
		"\n"
		"example:\n"
		"  curl -so heap.pb.gz http://localhost:6060/debug/pprof/heap\n"
		"  gtrace stamp heap.pb.gz -o heap.stamped.pb.gz && go tool pprof -tags heap.stamped.pb.gz\n");
}

static int read_all(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0, k;
	uint8_t *b = NULL, *nb;

	if (!f) {
		pr_err("cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	do {
		if (n == cap || !b) {
			cap = b ? cap * 2 : cap;
			if (cap > STAMP_MAX_INPUT || !(nb = realloc(b, cap))) {
				pr_err("%s: too large for a profile\n", path);
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		k = fread(b + n, 1, cap - n, f);
		n += k;
	} while (k);
	if (b && ferror(f)) {
		pr_err("cannot read %s: %s\n", path, strerror(errno));
		free(b);
		b = NULL;
	}
	if (f != stdin)
		fclose(f);
	*buf = b;
	*len = n;
	return b ? 0 : -EIO;
}

/* Gzipped or plain bytes -> a checked Profile.  One error line on failure. */
static Profile *decode(const char *path, const uint8_t *buf, size_t len)
{
	uint8_t *raw = NULL;
	size_t rlen = len;
	bool gzipped;
	Profile *p;
	int err;

	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		err = gzip__inflate(buf, len, STAMP_MAX_INPUT, &raw, &rlen);
		if (err) {
			pr_err("%s: %s\n", path, err == -ENOMEM ? "out of memory inflating it" :
			       "damaged gzip data (truncated or corrupt): not a whole profile");
			return NULL;
		}
		buf = raw;
	}
	gzipped = raw != NULL;
	p = rlen ? perftools__profiles__profile__unpack(NULL, rlen, buf) : NULL;
	free(raw);
	if (!len) {
		pr_err("%s is empty, not a pprof profile\n", path);
		return NULL;
	}
	/* pprof requires string_table[0] == "": random bytes rarely manage that */
	if (p && (!p->n_string_table || p->string_table[0][0])) {
		perftools__profiles__profile__free_unpacked(p, NULL);
		p = NULL;
	}
	if (!p && gzipped)
		pr_err("%s is gzip, but not of a pprof profile (perftools.profiles.Profile)\n", path);
	else if (!p)
		pr_err("%s is not a pprof profile (neither gzip nor a perftools.profiles.Profile)\n",
		       path);
	return p;
}

/* What gets written, kept apart from the unpacked profile it points into. */
struct stamp {
	char **strs;	     /* the new string table */
	size_t nstrs;
	int64_t *comments;
	size_t ncomments;
	Label labels[NR_KEYS];
	int nlabels;
	Label ***sample_labels; /* per sample: its new label array */
	char *comment;
};

static int64_t intern(struct stamp *s, const char *str)
{
	for (size_t i = 0; i < s->nstrs; i++)
		if (!strcmp(s->strs[i], str))
			return i;
	s->strs[s->nstrs] = (char *)str;
	return s->nstrs++;
}

static bool is_stamp_key(const Profile *p, int64_t key)
{
	for (int i = 0; i < NR_KEYS; i++)
		if (key >= 0 && (size_t)key < p->n_string_table &&
		    !strcmp(p->string_table[key], stamp_keys[i]))
			return true;
	return false;
}

static int build(struct stamp *s, const Profile *p, const struct gt_az *az, bool found)
{
	const char *vals[NR_KEYS] = { az->az, az->az, az->region, az->provider, az->host };
	char buf[1024];

	s->strs = calloc(p->n_string_table + NR_KEYS * 2 + 1, sizeof(char *));
	s->comments = calloc(p->n_comment + 1, sizeof(int64_t));
	s->sample_labels = calloc(p->n_sample + 1, sizeof(Label **));
	if (!s->strs || !s->comments || !s->sample_labels)
		return -ENOMEM;
	memcpy(s->strs, p->string_table, p->n_string_table * sizeof(char *));
	s->nstrs = p->n_string_table;
	for (int i = 0; i < NR_KEYS; i++) {
		if (!vals[i][0])
			continue; /* pprof drops empty string labels anyway */
		perftools__profiles__label__init(&s->labels[s->nlabels]);
		s->labels[s->nlabels].key = intern(s, stamp_keys[i]);
		s->labels[s->nlabels].str = intern(s, vals[i]);
		s->nlabels++;
	}
	if (found)
		snprintf(buf, sizeof(buf), STAMP_PREFIX " az=%s (source %s)%s%s%s%s host=%s", az->az,
			 az->source, az->region[0] ? " region=" : "", az->region,
			 az->provider[0] ? " provider=" : "", az->provider, az->host);
	else
		snprintf(buf, sizeof(buf), STAMP_PREFIX " az unknown (%s) host=%s",
			 az->note[0] ? az->note : "no source answered", az->host);
	s->comment = strdup(buf);
	if (!s->comment)
		return -ENOMEM;
	/* an earlier stamp is replaced, not stacked */
	for (size_t i = 0; i < p->n_comment; i++) {
		int64_t k = p->comment[i];

		if (k < 0 || (size_t)k >= p->n_string_table ||
		    strncmp(p->string_table[k], STAMP_PREFIX, strlen(STAMP_PREFIX)))
			s->comments[s->ncomments++] = k;
	}
	s->comments[s->ncomments++] = intern(s, s->comment);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = p->sample[i];
		Label **l = calloc(sm->n_label + NR_KEYS + 1, sizeof(*l));
		size_t n = 0;

		if (!l)
			return -ENOMEM;
		for (size_t j = 0; j < sm->n_label; j++)
			if (!is_stamp_key(p, sm->label[j]->key))
				l[n++] = sm->label[j];
		for (int j = 0; j < s->nlabels; j++)
			l[n++] = &s->labels[j];
		s->sample_labels[i] = l;
	}
	return 0;
}

/* Packs p with the stamp swapped in, then puts the profile's own arrays back. */
static int pack(struct stamp *s, Profile *p, uint8_t **out, size_t *len)
{
	char **strs = p->string_table;
	size_t nstrs = p->n_string_table, ncom = p->n_comment;
	int64_t *com = p->comment;
	Label ***sl = calloc(p->n_sample + 1, sizeof(*sl));
	size_t *nl = calloc(p->n_sample + 1, sizeof(*nl));
	int err = 0;

	if (!sl || !nl) {
		err = -ENOMEM;
		goto out;
	}
	p->string_table = s->strs;
	p->n_string_table = s->nstrs;
	p->comment = s->comments;
	p->n_comment = s->ncomments;
	for (size_t i = 0; i < p->n_sample; i++) {
		size_t n = 0;

		sl[i] = p->sample[i]->label;
		nl[i] = p->sample[i]->n_label;
		for (Label **l = s->sample_labels[i]; l[n]; n++)
			;
		p->sample[i]->label = s->sample_labels[i];
		p->sample[i]->n_label = n;
	}
	*len = perftools__profiles__profile__get_packed_size(p);
	*out = malloc(*len ? *len : 1);
	if (*out)
		perftools__profiles__profile__pack(p, *out);
	else
		err = -ENOMEM;
	p->string_table = strs;
	p->n_string_table = nstrs;
	p->comment = com;
	p->n_comment = ncom;
	for (size_t i = 0; i < p->n_sample; i++) {
		p->sample[i]->label = sl[i];
		p->sample[i]->n_label = nl[i];
	}
out:
	free(sl);
	free(nl);
	return err;
}

static void stamp_free(struct stamp *s, const Profile *p)
{
	for (size_t i = 0; s->sample_labels && i < p->n_sample; i++)
		free(s->sample_labels[i]);
	free(s->sample_labels);
	free(s->strs);
	free(s->comments);
	free(s->comment);
}

/* Fresh file renamed over OUT (lib/outfile.h); OUT may not be the input. */
static int write_out(const char *input, const char *output, const uint8_t *buf, size_t len)
{
	struct gt_outfile of;
	FILE *f;

	if (outfile__open(&of, output, GT_OUT_ATOMIC, 0644, &input, 1))
		return -EIO;
	if (!(f = outfile__fdopen(&of))) {
		outfile__abort(&of, NULL);
		return -EIO;
	}
	if (fwrite(buf, 1, len, f) != len) {
		pr_err("cannot write %s: %s\n", output, strerror(errno));
		outfile__abort(&of, f);
		return -EIO;
	}
	return outfile__commit(&of, f);
}

static int stamp(const char *input, const char *output, const struct gt_az_opts *ao)
{
	struct stamp s = { 0 };
	struct gt_az az;
	uint8_t *in = NULL, *raw = NULL, *gz = NULL;
	size_t len = 0, rlen = 0, gzlen = 0;
	Profile *p;
	int err, found;

	/* Before reading: stamping a profile onto itself is refused, not half-done. */
	if (outfile__check(output, &input, 1))
		return -EEXIST;
	err = read_all(input, &in, &len);
	if (err)
		return err;
	p = decode(input, in, len);
	free(in);
	if (!p)
		return -EINVAL;
	found = !az__resolve(ao, &az); /* prints its own warning when nothing is found */
	err = build(&s, p, &az, found);
	if (!err)
		err = pack(&s, p, &raw, &rlen);
	if (!err)
		err = gzip__compress(raw, rlen, &gz, &gzlen);
	if (err)
		pr_err("stamping %s failed: %s\n", input, strerror(-err));
	else
		err = write_out(input, output, gz, gzlen);
	if (!err)
		pr_info("stamp: %zu samples of %s: %s\n", p->n_sample, input, s.comment);
	stamp_free(&s, p);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(raw);
	free(gz);
	return err;
}

int cmd_stamp(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_AZ_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct gt_az_opts ao = { 0 };
	const char *output = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c) || cli__az_opt(c, optarg, &ao))
			continue;
		switch (c) {
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		pr_err("%s (see 'gtrace stamp --help')\n",
		       optind == argc ? "which profile? give PROFILE.pb.gz" : "one profile at a time");
		return GT_EXIT_USAGE;
	}
	if (!output) {
		pr_err("where to? give -o OUT ('-' for stdout)\n");
		return GT_EXIT_USAGE;
	}
	if (!strcmp(output, "-") && isatty(fileno(stdout))) {
		pr_err("a profile is binary: give -o FILE or redirect stdout\n");
		return GT_EXIT_USAGE;
	}
	return stamp(argv[optind], output, &ao) ? GT_EXIT_ERROR : GT_EXIT_OK;
}
