/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The runtime functions gtrace hooks, in one table that `gtrace info` shows
 * and `gtrace record` attaches: the symbol, whether the probe sits at the
 * entry (user/binary/probe_sites.c picks the instruction) or on every RET, whether
 * attaching fails without it, and which runtime traits make it needed.
 */
#ifndef GTRACE_PROBE_PLAN_H
#define GTRACE_PROBE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include "binary/go_offsets.h"
#include "binary/probe_sites.h"

enum gt_probe_kind {
	GT_PROBE_ENTRY,
	GT_PROBE_RET,
};

/* When a probe is needed. */
enum gt_probe_need {
	GT_NEED_ALWAYS,
	GT_NEED_SYSCALL_FASTPATH, /* the runtime CASes the status around syscalls itself (1.26+) */
	GT_NEED_GOID_LATE,	  /* newproc1 sets the goid after making the g runnable (<= 1.23),
				   * and record --create-at-ret asked for the old way (measuring):
				   * never in the default plan */
};

struct gt_probe_plan_entry {
	const char *symbol;	/* pclntab name */
	enum gt_probe_kind kind;
	bool required;		/* attaching fails without it; else a warning */
	enum gt_probe_need need;
	enum gt_site_regs regs;	/* what its program reads: limits how late the site may be */
	const char *why;	/* one line for `gtrace info` */
};

extern const struct gt_probe_plan_entry gt_probe_plan[];
extern const size_t gt_probe_plan_len;

/* Whether e is needed for a runtime with traits tr. */
bool probe_plan__needed(const struct gt_probe_plan_entry *e, const struct gt_go_traits *tr);

const char *probe_plan__kind_name(enum gt_probe_kind k);

#endif
