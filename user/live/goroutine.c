// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A goroutine read from outside, and the runtime's names of its states (see goroutine.h). */
#include <stdlib.h>
#include <string.h>
#include "live/goroutine.h"

void goroutine__free(struct gt_goroutine *g)
{
	if (!(g->flags & GT_G_SHARED)) {
		free(g->pcs);
		for (int i = 0; i < g->nlabels; i++) {
			free(g->labels[i].key);
			free(g->labels[i].value);
		}
		free(g->labels);
	}
	memset(g, 0, sizeof(*g));
}

const char *goroutine__status_name(uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting", "moribund", "dead",
		"enqueue", "copystack", "preempted", "leaked", "dead (extra)",
	};

	return status < sizeof(names) / sizeof(*names) ? names[status] : "unknown";
}

const char *goroutine__state(const struct gt_target *t, const struct gt_goroutine *g)
{
	const char *r = t->rt.waitreason[g->reason];

	if (g->status == GT_G_WAITING && g->reason && r && *r)
		return r;
	return goroutine__status_name(g->status);
}
