// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* String interning (lib/strtab.h): ids from 1 in first-use order, stable across growth. */
#include <stdio.h>
#include "test.h"
#include "lib/strtab.h"

TEST(strtab_ids)
{
	struct strtab t = { 0 };
	char s[32];
	bool fresh;
	uint64_t a, b;

	a = strtab__intern(&t, "running", 7, &fresh);
	T_CHECK(a == 1 && fresh, "first id %llu fresh %d", (unsigned long long)a, fresh);
	b = strtab__intern(&t, "runnable", 8, &fresh);
	T_CHECK(b == 2 && fresh, "second id %llu", (unsigned long long)b);
	a = strtab__intern(&t, "running", 7, &fresh);
	T_CHECK(a == 1 && !fresh, "again: id %llu fresh %d", (unsigned long long)a, fresh);
	/* a prefix is another string */
	a = strtab__intern(&t, "run", 3, &fresh);
	T_CHECK(a == 3 && fresh, "prefix id %llu", (unsigned long long)a);
	for (int i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "s%d", i);
		strtab__intern(&t, s, strlen(s), &fresh);
	}
	for (int i = 0; i < 5000; i += 499) {
		snprintf(s, sizeof(s), "s%d", i);
		a = strtab__intern(&t, s, strlen(s), &fresh);
		T_CHECK(a == (uint64_t)i + 4 && !fresh, "%s: id %llu after growth", s,
			(unsigned long long)a);
	}
	T_CHECK(strtab__intern(&t, "running", 7, &fresh) == 1, "first id kept");
	strtab__free(&t);
}
