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

int t_versions(char out[][16], int max)
{
	char path[512], line[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/versions", t_fixtures());
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%15s", out[n]) == 1)
			n++;
	fclose(f);
	return n;
}

unsigned char *t_slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc(n + 1)) && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[n] = 0; /* text callers (strstr) stop here; len does not count it */
		*len = n;
	}
	fclose(f);
	return buf;
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
