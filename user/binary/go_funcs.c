// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "binary/go_funcs.h"
#include "binary/pclntab.h"

bool go_funcs__is_system(const char *name)
{
	if (name[0] != 'r' || strncmp(name, "runtime.", 8))
		return false;
	return strcmp(name, "runtime.main") && strcmp(name, "runtime.handleAsyncEvent");
}

const struct gt_func *go_funcs__finalizer(const struct gt_pclntab *t)
{
	const struct gt_func *f = pclntab__lookup_name(t, "runtime.runfinq");

	return f ? f : pclntab__lookup_name(t, "runtime.runFinalizers");
}
