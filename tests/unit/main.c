// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Runs every registered unit test, or those whose name contains argv[1]. */
#include <stdarg.h>
#include <stdlib.h>
#include "test.h"

int gt_verbose;
int gt_quiet = 1;

static struct t_case *cases;
static int cur_failed, cur_skipped;

void t_register(struct t_case *c)
{
	struct t_case **p = &cases;

	/* keep file order stable: append */
	while (*p)
		p = &(*p)->next;
	*p = c;
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	cur_failed = 1;
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "  skipped: ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	cur_skipped = 1;
}

int t_failed(void)
{
	return cur_failed;
}

const char *t_fixtures(void)
{
	const char *d = getenv("GTRACE_FIXTURES");

	return d ? d : "build/fixtures";
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0, skip = 0;

	for (struct t_case *c = cases; c; c = c->next) {
		if (argc > 1 && !strstr(c->name, argv[1]))
			continue;
		cur_failed = cur_skipped = 0;
		fflush(stdout);
		c->fn();
		if (cur_failed) {
			printf("FAIL unit/%s\n", c->name);
			fail++;
		} else if (cur_skipped) {
			printf("SKIP unit/%s\n", c->name);
			skip++;
		} else {
			printf("PASS unit/%s\n", c->name);
			pass++;
		}
		fflush(stdout);
	}
	fprintf(stderr, "unit: %d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
