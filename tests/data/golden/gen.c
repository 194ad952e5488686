// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes tests/data/golden/synth.gtr with the synthetic capture writer of
 * the unit tests (tests/unit/synth.c) and the real capture writer, and its
 * malformed neighbours.  Run by tests/data/golden/regen.sh only when the
 * format changes on purpose; tests/e2e/golden.sh reads the committed files.
 */
#include <stdio.h>
#include "synth.h"

int gt_verbose;
int gt_quiet = 1;

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen OUT.gtr\n");
		return 2;
	}
	return synth_write(argv[1]) ? 1 : 0;
}
