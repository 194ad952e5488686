// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Shared option parsing; see cli.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "live/az.h"
#include "live/cpu_sampler.h"
#include "cmd/cli.h"
#include "lib/debug.h"

bool cli__common_opt(int c)
{
	if (c == 'q')
		gt_quiet = 1;
	else if (c == 'v')
		gt_verbose++;
	else
		return false;
	return true;
}

int cli__pid(const char *arg, pid_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v <= 0 || v > 0x7fffffff) {
		pr_err("invalid PID '%s'\n", arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cli__want_pid(pid_t pid, int argc, char **argv, const char *cmd)
{
	if (!pid) {
		pr_err("which process? give -p PID (see 'gtrace %s --help')\n", cmd);
		return -EINVAL;
	}
	if (optind != argc) {
		pr_err("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int cli__seconds(const char *arg, const char *what, const char *example, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v > 0)) {
		pr_err("invalid %s '%s' (seconds, e.g. %s)\n", what, arg, example);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A power-of-two size with an optional K/M/G suffix, at least one page. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v < 4096 || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

int cli__buffer(const char *arg, uint64_t *out)
{
	if (!parse_size(arg, out))
		return 0;
	pr_err("invalid --buffer '%s' (a power of two, e.g. 4M, 32M)\n", arg);
	return -EINVAL;
}

bool cli__az_opt(int c, const char *arg, struct gt_az_opts *o)
{
	switch (c) {
	case CLI_OPT_AZ: o->az = arg; return true;
	case CLI_OPT_AZ_FILE: o->az_file = arg; return true;
	case CLI_OPT_IMDS: o->imds_endpoint = arg; return true;
	case CLI_OPT_NO_AZ: o->no_network = true; return true;
	}
	return false;
}

int cli__choice(const char *arg, const char *what, const char *const *names)
{
	char list[256];
	size_t n = 0, len = 0;

	for (; names[n]; n++)
		if (!strcmp(arg, names[n]))
			return (int)n;
	list[0] = 0;
	for (size_t i = 0; i < n && len < sizeof(list); i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
				i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	pr_err("unknown %s '%s' (%s)\n", what, arg, list);
	return -1;
}

int cli__cpu_hz(const char *arg, unsigned *hz)
{
	char *end;
	unsigned long v;

	if (!arg) {
		*hz = GT_CPU_HZ_DEFAULT;
		return 0;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || !v || v > GT_CPU_HZ_MAX) {
		pr_err("invalid CPU sampling rate '%s' (samples per second per CPU, 1 to %d; "
		       "default %d)\n", arg, GT_CPU_HZ_MAX, GT_CPU_HZ_DEFAULT);
		return -EINVAL;
	}
	*hz = v;
	return 0;
}
