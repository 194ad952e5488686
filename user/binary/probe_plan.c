// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The hooked runtime functions (see probe_plan.h).  Every goroutine state
 * change goes through casgstatus except the ones listed after it, which
 * CAS the status themselves or need data casgstatus cannot see
 * (docs/go-runtime.md).
 */
#include "binary/probe_plan.h"

const struct gt_probe_plan_entry gt_probe_plan[] = {
	{ "runtime.casgstatus", GT_PROBE_ENTRY, true, GT_NEED_ALWAYS, GT_SITE_ARGS_AND_G,
	  "every status change: gp, old, new in AX, BX, CX" },
	{ "runtime.newproc1", GT_PROBE_RET, true, GT_NEED_GOID_LATE, GT_SITE_ARGS_AND_G,
	  "not in the default plan: before 1.24 creation is taken at casgstatus(_Gdead -> _Grunnable)\n\t\t\t\t\t   and its goid at the first start; `record --create-at-ret` probes these single-stepped RETs" },
	{ "runtime/pprof.runtime_setProfLabel", GT_PROBE_ENTRY, false, GT_NEED_ALWAYS, GT_SITE_ARGS_AND_G,
	  "label changes: the new label set in AX, g in R14" },
	{ "runtime.preemptPark", GT_PROBE_ENTRY, true, GT_NEED_ALWAYS, GT_SITE_ARGS_AND_G,
	  "suspension for the GC, which bypasses casgstatus" },
	{ "runtime.reentersyscall", GT_PROBE_ENTRY, true, GT_NEED_SYSCALL_FASTPATH, GT_SITE_G_ONLY,
	  "syscall entry, CASed without casgstatus" },
	{ "runtime.entersyscallblock", GT_PROBE_ENTRY, true, GT_NEED_SYSCALL_FASTPATH, GT_SITE_G_ONLY,
	  "blocking syscall entry" },
	{ "runtime.exitsyscall", GT_PROBE_ENTRY, true, GT_NEED_SYSCALL_FASTPATH, GT_SITE_G_ONLY,
	  "syscall exit, CASed without casgstatus" },
};

const size_t gt_probe_plan_len = sizeof(gt_probe_plan) / sizeof(gt_probe_plan[0]);

bool probe_plan__needed(const struct gt_probe_plan_entry *e, const struct gt_go_traits *tr)
{
	switch (e->need) {
	case GT_NEED_ALWAYS:
		return true;
	case GT_NEED_SYSCALL_FASTPATH:
		return tr && tr->syscall_cas_fastpath;
	case GT_NEED_GOID_LATE:
		return false; /* the tracer adds it for --create-at-ret only */
	}
	return false;
}

const char *probe_plan__kind_name(enum gt_probe_kind k)
{
	return k == GT_PROBE_RET ? "ret" : "entry";
}
