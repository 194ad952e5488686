// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include "capture/event_specs.h"

#define HDR sizeof(struct gt_event_hdr)
#define PC(type, field, kind) { offsetof(struct type, field), kind }

const struct gt_event_spec gt_event_specs[GT_EV_MAX] = {
	[GT_EV_CREATE] = { "create", sizeof(struct gt_ev_create), "create",
			   { PC(gt_ev_create, gopc, GT_PC_RETURN),
			     PC(gt_ev_create, startpc, GT_PC_ENTRY) } },
	[GT_EV_START] = { "start", sizeof(struct gt_ev_start), "start" },
	[GT_EV_PARK] = { "park", sizeof(struct gt_ev_park), "park" },
	[GT_EV_UNPARK] = { "unpark", sizeof(struct gt_ev_unpark), "unpark" },
	[GT_EV_PREEMPT] = { "preempt", HDR, "preempt" },
	[GT_EV_YIELD] = { "yield", HDR, "yield" },
	/* pairs share a class: selecting one half alone would leave the other dangling */
	[GT_EV_SYSCALL_ENTER] = { "syscall_enter", HDR, "syscall" },
	[GT_EV_SYSCALL_EXIT] = { "syscall_exit", HDR, "syscall" },
	[GT_EV_EXIT] = { "exit", HDR, "exit" },
	/* version 1 records end before .stack */
	[GT_EV_LABELS] = { "labels", offsetof(struct gt_ev_labels, stack), "labels" },
	[GT_EV_LABELSET] = { "labelset", offsetof(struct gt_ev_labelset, blob) },
	[GT_EV_STACK] = { "stack", offsetof(struct gt_ev_stack, pcs), .pc_array = true },
	[GT_EV_WAIT_END] = { "wait_end", HDR, "park" },
	[GT_EV_LOSS] = { "loss", sizeof(struct gt_ev_loss) },
	[GT_EV_SNAPSHOT] = { "snapshot", sizeof(struct gt_ev_snapshot), NULL,
			     { PC(gt_ev_snapshot, gopc, GT_PC_RETURN),
			       PC(gt_ev_snapshot, startpc, GT_PC_ENTRY) } },
	[GT_EV_GAP] = { "gap", sizeof(struct gt_ev_gap) },
	/* its stacks are STACK records; a CPU sample itself holds no address */
	[GT_EV_CPU_SAMPLE] = { "cpu_sample", sizeof(struct gt_ev_cpu_sample) },
};

void event_spec__each_pc(struct gt_event_hdr *rec, void (*fn)(void *arg, __u64 *pc, int kind),
			 void *arg)
{
	const struct gt_event_spec *s = event_spec(rec->type);

	if (!s)
		return;
	for (int i = 0; i < GT_EVENT_SPEC_PCS && s->pcs[i].off; i++) {
		__u64 *pc = (__u64 *)((char *)rec + s->pcs[i].off);

		if (s->pcs[i].off + sizeof(*pc) <= rec->size && *pc)
			fn(arg, pc, s->pcs[i].kind);
	}
	/* Kernel stacks (CPU samples, --kernel-stacks) hold no address of the target. */
	if (s->pc_array && !(rec->flags & GT_F_KERNEL_STACK)) {
		struct gt_ev_stack *st = (struct gt_ev_stack *)rec;
		size_t room = rec->size < offsetof(struct gt_ev_stack, pcs) ? 0 :
			      (rec->size - offsetof(struct gt_ev_stack, pcs)) / 8;

		for (uint32_t i = 0; i < st->nr && i < GT_STACK_MAX && i < room; i++)
			if (st->pcs[i])
				fn(arg, &st->pcs[i], GT_PC_RETURN);
	}
}
