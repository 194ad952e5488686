/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny unit-test harness: TEST(name) registers a function; T_ASSERT
 * fails it with file:line and a message; T_SKIP counts it as skipped with
 * a reason.  Each test prints one line PASS/FAIL/SKIP that tests/run.sh counts.
 */
#ifndef GTRACE_TEST_H
#define GTRACE_TEST_H

#include <stdio.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
	struct t_case *next;
};

void t_register(struct t_case *c);
void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int t_failed(void);
/* Directory with fixture binaries (build/fixtures), from GTRACE_FIXTURES. */
const char *t_fixtures(void);
/* The Go versions fixtures were built with ("go1.19", ...); how many (0: none). */
int t_versions(char out[][16], int max);
/* A whole file in memory, NUL-terminated past *len (free it); NULL when unreadable. */
unsigned char *t_slurp(const char *path, size_t *len);

#define TEST(name)                                                                         \
	static void test_##name(void);                                                     \
	static struct t_case t_case_##name = { #name, test_##name, NULL };                 \
	__attribute__((constructor)) static void t_reg_##name(void) { t_register(&t_case_##name); } \
	static void test_##name(void)

/* Fails the test and returns from it when cond is false. */
#define T_ASSERT(cond, ...)                                        \
	do {                                                       \
		if (!(cond)) {                                     \
			t_fail(__FILE__, __LINE__, __VA_ARGS__);   \
			return;                                    \
		}                                                  \
	} while (0)
/* Records a failure and goes on (to report every mismatch). */
#define T_CHECK(cond, ...)                                         \
	do {                                                       \
		if (!(cond))                                       \
			t_fail(__FILE__, __LINE__, __VA_ARGS__);   \
	} while (0)
#define T_SKIP(...)                 \
	do {                        \
		t_skip(__VA_ARGS__); \
		return;             \
	} while (0)

#endif
