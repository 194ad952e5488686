// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace agent: continuous goroutine profiling of every Go process on the
 * host (user/agent/).  This file only turns flags, a config file (same
 * keys as the long flags, "key = value" lines) and the environment into
 * struct agent_opts; flags win over the file.  Secrets (tokens, basic auth,
 * headers) are accepted from the config file and the environment only,
 * never from argv, where every user of the host could read them.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/debug.h"
#include "agent/agent.h"
#include "live/cpu_sampler.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_flag = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace agent [--pyroscope URL] [--otlp URL] [--dir DIR] [--window 15s]\n"
		"                    [--budget 1%%] [--include REGEX] [--exclude REGEX]\n"
		"                    [--labels k=v,...] [--metrics ADDR] [--config FILE] [options]\n"
		"\n"
		"Profile every Go process on this host, containers included, and ship one\n"
		"set of profiles per process each window: wall, offcpu, runnable (sampled from\n"
		"goroutine snapshots, no probes), goroutines, cpu (one host-wide on-CPU\n"
		"sampler), and within --budget offcpu_exact and schedlat (from transition\n"
		"capture slices).  Runs until SIGTERM or Ctrl-C,\n"
		"then flushes the current window.  Needs root (CAP_BPF, CAP_PERFMON,\n"
		"CAP_SYS_PTRACE, CAP_SYS_RESOURCE) and the host PID namespace.\n"
		"\n"
		"  --pyroscope URL     push to Pyroscope (push.v1.PusherService/Push), e.g.\n"
		"                      http://pyroscope:4040\n"
		"  --otlp URL          push OTLP profiles over HTTP (v1development), e.g.\n"
		"                      http://collector:4318\n"
		"  --dir DIR           also write DIR/<service>/<type>/<start>.pb.gz\n"
		"  --dir-max SIZE      retention of --dir, oldest removed first (default 1G)\n"
		"  --spool DIR         where windows wait while an endpoint is down; kept across\n"
		"                      restarts (default /var/lib/gtrace/spool)\n"
		"  --spool-max SIZE    bound of the spool; oldest dropped first (default 256M)\n"
		"  --window DUR        window length, e.g. 15s (default), 10, 1m\n"
		"  --budget PCT        agent CPU allowed per target, as a share of that target's\n"
		"                      own CPU, e.g. 1%% (default) or 0.5%%: half for the sampler's\n"
		"                      reads, half for probes attached in slices (the exact\n"
		"                      offcpu_exact and schedlat profiles); 0: sampling only,\n"
		"                      at a fixed rate, no probe\n"
		"  --host-budget PCT   all probes' cost on all targets together, as a share of\n"
		"                      one core (default 5%%)\n"
		"  --slice-min-duty F  a floor on the slices' duty cycle, 0..1, over the budget\n"
		"                      (default none; tests use 1 to keep the probes on)\n"
		"  --sample-hz N       goroutine snapshots a second per process, at most (default 10)\n"
		"  --cpu-hz N          the cpu profile: on-CPU samples a second per CPU, one\n"
		"                      host-wide sampler (perf_event + BPF, no uprobe; default\n"
		"                      19, as the eBPF profilers); 0: no cpu profile\n"
		"  --include REGEX     profile only processes whose service name or executable\n"
		"                      path matches (POSIX extended regex)\n"
		"  --exclude REGEX     skip those that match\n"
		"  --labels k=v,...    add labels to every profile\n"
		"  --metrics ADDR      serve Prometheus metrics at http://ADDR/metrics,\n"
		"                      e.g. 127.0.0.1:9464\n"
		"  --config FILE       read options from FILE: 'key = value' lines with the\n"
		"                      long option names; also the secrets pyroscope-token,\n"
		"                      pyroscope-basic-auth (user:password), pyroscope-tenant,\n"
		"                      pyroscope-header, otlp-token, otlp-header ('Name: value')\n"
		"  --duration DUR      stop after DUR (default: run until signalled)\n"
		"  --az, --az-file, --imds-endpoint, --no-az-detect   zone, as for record\n"
		"  -q, --quiet         no lifecycle lines\n"
		"  -v, --verbose       more detail\n"
		"\n"
		"Secrets from the environment: GTRACE_PYROSCOPE_TOKEN,\n"
		"GTRACE_PYROSCOPE_BASIC_AUTH, GTRACE_PYROSCOPE_TENANT, GTRACE_OTLP_TOKEN,\n"
		"OTEL_EXPORTER_OTLP_HEADERS (k=v,...).  They are never taken from flags.\n"
		"\n"
		"examples:\n"
		"  gtrace agent --pyroscope http://127.0.0.1:4040 --metrics 127.0.0.1:9464\n"
		"  gtrace agent --otlp http://127.0.0.1:4318 --dir /var/lib/gtrace/profiles --budget 0\n");
}

enum {
	O_PYRO = 0x100, O_OTLP, O_DIR, O_DIR_MAX, O_SPOOL, O_SPOOL_MAX, O_WINDOW, O_BUDGET, O_HZ,
	O_INCLUDE, O_EXCLUDE, O_LABELS, O_METRICS, O_CONFIG, O_DURATION,
	O_HOST_BUDGET, O_SLICE_MIN_DUTY, O_CPU_HZ,
	/* config file and environment only */
	O_PYRO_TOKEN, O_PYRO_BASIC, O_PYRO_TENANT, O_PYRO_HEADER, O_OTLP_TOKEN, O_OTLP_HEADER,
};

static const struct option longopts[] = {
	{ "pyroscope", required_argument, NULL, O_PYRO },
	{ "otlp", required_argument, NULL, O_OTLP },
	{ "dir", required_argument, NULL, O_DIR },
	{ "dir-max", required_argument, NULL, O_DIR_MAX },
	{ "spool", required_argument, NULL, O_SPOOL },
	{ "spool-max", required_argument, NULL, O_SPOOL_MAX },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "budget", required_argument, NULL, O_BUDGET },
	{ "host-budget", required_argument, NULL, O_HOST_BUDGET },
	{ "slice-min-duty", required_argument, NULL, O_SLICE_MIN_DUTY },
	{ "sample-hz", required_argument, NULL, O_HZ },
	{ "cpu-hz", required_argument, NULL, O_CPU_HZ },
	{ "include", required_argument, NULL, O_INCLUDE },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "labels", required_argument, NULL, O_LABELS },
	{ "metrics", required_argument, NULL, O_METRICS },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "duration", required_argument, NULL, O_DURATION },
	CLI_AZ_LONGOPTS,
	CLI_COMMON_LONGOPTS,
	{ 0 },
};

static const struct { const char *key; int opt; } secret_keys[] = {
	{ "pyroscope-token", O_PYRO_TOKEN }, { "pyroscope-basic-auth", O_PYRO_BASIC },
	{ "pyroscope-tenant", O_PYRO_TENANT }, { "pyroscope-header", O_PYRO_HEADER },
	{ "otlp-token", O_OTLP_TOKEN }, { "otlp-header", O_OTLP_HEADER },
};

/* A duration: "15s", "1m", "500ms" or plain seconds. */
static int parse_dur(const char *what, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end), mul = 1;

	if (!strcmp(end, "ms"))
		mul = 1e-3;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (*end && strcmp(end, "s"))
		v = -1;
	if (end == s || !(v > 0)) {
		pr_err("invalid %s '%s' (a duration, e.g. 15s, 1m, 500ms)\n", what, s);
		return -EINVAL;
	}
	*out = v * mul;
	return 0;
}

static int parse_bytes(const char *what, const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1 << 10; end++; break;
	case 'm': case 'M': v *= 1 << 20; end++; break;
	case 'g': case 'G': v *= 1 << 30; end++; break;
	}
	if (end == s || *end || v < 0) {
		pr_err("invalid %s '%s' (a size, e.g. 256M, 1G)\n", what, s);
		return -EINVAL;
	}
	*out = (uint64_t)v;
	return 0;
}

/* "1%", "0.5%" or a plain share (0.01), between 0 and 1. */
static int parse_share(const char *what, const char *of, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (end == s || *end || v < 0 || v > 1) {
		pr_err("invalid %s '%s' (a share of %s, e.g. 1%%, 0.5%%, 0)\n", what, s, of);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* record's --cpu-hz, plus 0: no CPU sampler. */
static int parse_cpu_hz(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > GT_CPU_HZ_MAX) {
		pr_err("invalid --cpu-hz '%s' (samples a second per CPU, 0 to %d; 0: no cpu "
		       "profile)\n", s, GT_CPU_HZ_MAX);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_budget(const char *s, double *out)
{
	return parse_share("--budget", "the target's CPU", s, out);
}

/* k=v,k2=v2 into o->labels (strings are kept: they come from argv or a strdup). */
static int parse_labels(struct agent_opts *o, char *s)
{
	for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq || eq == kv || o->nlabels == AGENT_MAX_LABELS) {
			pr_err("invalid --labels '%s' (k=v,k2=v2, at most %d)\n", kv, AGENT_MAX_LABELS);
			return -EINVAL;
		}
		*eq = 0;
		o->labels[o->nlabels][0] = kv;
		o->labels[o->nlabels++][1] = eq + 1;
	}
	return 0;
}

static int add_header(struct ship_sink_opts *s, const char *h)
{
	if (!strchr(h, ':') || s->nheaders == SHIP_MAX_HEADERS) {
		pr_err("invalid header '%s' (Name: value)\n", h);
		return -EINVAL;
	}
	s->headers[s->nheaders++] = h;
	return 0;
}

/* One option, from argv or the config file (arg is then a strdup that stays). */
static int apply(struct agent_opts *o, int c, char *arg)
{
	char *h;

	if (cli__az_opt(c, arg, &o->az))
		return 0;
	switch (c) {
	case O_PYRO: o->pyroscope_url = arg; return 0;
	case O_OTLP: o->otlp_url = arg; return 0;
	case O_DIR: o->dir = arg; return 0;
	case O_DIR_MAX: return parse_bytes("--dir-max", arg, &o->dir_max);
	case O_SPOOL: o->spool = *arg ? arg : NULL; return 0;
	case O_SPOOL_MAX: return parse_bytes("--spool-max", arg, &o->spool_max);
	case O_WINDOW: return parse_dur("--window", arg, &o->window_s);
	case O_DURATION: return parse_dur("--duration", arg, &o->duration_s);
	case O_BUDGET: return parse_budget(arg, &o->budget);
	case O_HOST_BUDGET: return parse_share("--host-budget", "one core", arg, &o->host_budget);
	case O_SLICE_MIN_DUTY:
		return parse_share("--slice-min-duty", "each second", arg, &o->slice_min_duty);
	case O_HZ:
		return cli__seconds(arg, "--sample-hz", "10", &o->sample_hz); /* a positive number */
	case O_CPU_HZ:
		return parse_cpu_hz(arg, &o->cpu_hz);
	case O_INCLUDE: o->include = arg; return 0;
	case O_EXCLUDE: o->exclude = arg; return 0;
	case O_LABELS: return parse_labels(o, arg);
	case O_METRICS: o->metrics_addr = arg; return 0;
	case O_PYRO_TOKEN: o->pyroscope.bearer = arg; return 0;
	case O_PYRO_BASIC: o->pyroscope.basic_auth = arg; return 0;
	case O_PYRO_TENANT:
		if (asprintf(&h, "X-Scope-OrgID: %s", arg) < 0)
			return -ENOMEM;
		return add_header(&o->pyroscope, h);
	case O_PYRO_HEADER: return add_header(&o->pyroscope, arg);
	case O_OTLP_TOKEN: o->otlp.bearer = arg; return 0;
	case O_OTLP_HEADER: return add_header(&o->otlp, arg);
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	if (e - s >= 2 && ((*s == '"' && e[-1] == '"') || (*s == '\'' && e[-1] == '\''))) {
		e[-1] = 0;
		s++;
	}
	return s;
}

static int read_config(struct agent_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int ln = 0, err = 0;

	if (!f) {
		pr_err("cannot read --config %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *k = trim(line), *eq, *v;
		int c = -1;

		ln++;
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			pr_err("%s:%d: expected 'key = value'\n", path, ln);
			err = -EINVAL;
			break;
		}
		*eq = 0;
		k = trim(k);
		v = strdup(trim(eq + 1));
		for (const struct option *lo = longopts; lo->name && c < 0; lo++)
			if (!strcmp(lo->name, k) && lo->has_arg == required_argument &&
			    lo->val != O_CONFIG)
				c = lo->val;
		for (size_t i = 0; i < sizeof(secret_keys) / sizeof(*secret_keys) && c < 0; i++)
			if (!strcmp(secret_keys[i].key, k))
				c = secret_keys[i].opt;
		if (!strcmp(k, "no-az-detect")) {
			o->az.no_network = !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes");
			continue;
		}
		if (c < 0 || !v) {
			pr_err("%s:%d: unknown key '%s' (see 'gtrace agent --help')\n", path, ln, k);
			err = -EINVAL;
			break;
		}
		err = apply(o, c, v);
		if (err)
			pr_err("%s:%d: in '%s'\n", path, ln, k);
	}
	fclose(f);
	return err;
}

/* Secrets from the environment, unless the config file gave them. */
static int read_env(struct agent_opts *o)
{
	const char *v;
	int err = 0;

	if (!o->pyroscope.bearer && (v = getenv("GTRACE_PYROSCOPE_TOKEN")) && *v)
		o->pyroscope.bearer = v;
	if (!o->pyroscope.basic_auth && (v = getenv("GTRACE_PYROSCOPE_BASIC_AUTH")) && *v)
		o->pyroscope.basic_auth = v;
	if ((v = getenv("GTRACE_PYROSCOPE_TENANT")) && *v)
		err = apply(o, O_PYRO_TENANT, (char *)v);
	if (!o->otlp.bearer && (v = getenv("GTRACE_OTLP_TOKEN")) && *v)
		o->otlp.bearer = v;
	if (!err && (v = getenv("OTEL_EXPORTER_OTLP_HEADERS")) && *v) {
		char *s = strdup(v), *save = NULL;

		for (char *kv = s ? strtok_r(s, ",", &save) : NULL; kv && !err;
		     kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '='), *h;

			if (!eq)
				continue;
			*eq = 0;
			if (asprintf(&h, "%s: %s", trim(kv), trim(eq + 1)) < 0)
				return -ENOMEM;
			err = add_header(&o->otlp, h);
		}
	}
	return err;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_opts o = {
		.window_s = 15, .budget = 0.01, .host_budget = 0.05, .sample_hz = 10, .cpu_hz = GT_AGENT_CPU_HZ_DEFAULT, .dir_max = 1ull << 30,
		.spool = "/var/lib/gtrace/spool", .spool_max = 256ull << 20, .flush_grace_s = 5,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int c, err;

	/* the config file first, whatever its place on the line: flags then win */
	for (int i = 1; i < argc; i++) {
		const char *f = NULL;

		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			f = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			f = argv[i] + 9;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return GT_EXIT_OK;
		}
		if (f && read_config(&o, f))
			return GT_EXIT_USAGE;
	}
	while ((c = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c))
			continue;
		switch (c) {
		case 'h': usage(stdout); return GT_EXIT_OK;
		case O_CONFIG: break;
		case '?': usage(stderr); return GT_EXIT_USAGE;
		default:
			if (apply(&o, c, optarg))
				return GT_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		pr_err("unexpected argument '%s' (see 'gtrace agent --help')\n", argv[optind]);
		return GT_EXIT_USAGE;
	}
	if (read_env(&o))
		return GT_EXIT_USAGE;
	if (!o.pyroscope_url && !o.otlp_url && !o.dir) {
		pr_err("where to? give --pyroscope URL, --otlp URL or --dir DIR (see 'gtrace agent --help')\n");
		return GT_EXIT_USAGE;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = agent__run(&o, &stop_flag);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}
