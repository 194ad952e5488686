// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Shared option parsing; see cli.h. */
#include <errno.h>
#include <stdlib.h>
#include "cli.h"
#include "debug.h"

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
