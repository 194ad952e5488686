/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What one uprobe trap costs on this host, measured rather than assumed
 * (the slicer's model takes "trap + program time" per hit and can count
 * only the program part): a bare uprobe (a perf event, no BPF program) is
 * put on a function of this very process, which is then called n times
 * with and without it.  The difference per call is the kernel's
 * breakpoint, the uprobe dispatch and the return to user space: what every
 * probe hit costs a target before any program runs.  Costs the caller a
 * few ms of its own CPU, nothing in any other process.
 */
#ifndef GTRACE_TRAP_COST_H
#define GTRACE_TRAP_COST_H

/* ns per trap (the best of a few rounds), or -errno when no uprobe could be placed. */
int trap_cost__measure(double *ns_per_trap);

#endif
