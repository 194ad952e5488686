/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's internal register ABI as seen from a uprobe (BPF only).  Arguments
 * and results travel in registers since Go 1.17 (amd64) / 1.18 (arm64) and
 * the stack ABI cannot be chosen from 1.19 on, so these are the only
 * accessors the probes need.  The current g lives in R14 (amd64) / R28
 * (arm64) -- but in functions reached through mcall or systemstack that is
 * g0, so probes take the goroutine from the explicit argument instead.
 */
#ifndef GTRACE_GO_ABI_BPF_H
#define GTRACE_GO_ABI_BPF_H

#if defined(__TARGET_ARCH_x86)
#define GO_ARG1(ctx) ((ctx)->ax)
#define GO_ARG2(ctx) ((ctx)->bx)
#define GO_ARG3(ctx) ((ctx)->cx)
#define GO_RET1(ctx) ((ctx)->ax)
#define GO_G(ctx) ((ctx)->r14)
#define GO_SP(ctx) ((ctx)->sp)
#define GO_FP(ctx) ((ctx)->bp)
#elif defined(__TARGET_ARCH_arm64)
#define GO_ARG1(ctx) ((ctx)->regs[0])
#define GO_ARG2(ctx) ((ctx)->regs[1])
#define GO_ARG3(ctx) ((ctx)->regs[2])
#define GO_RET1(ctx) ((ctx)->regs[0])
#define GO_G(ctx) ((ctx)->regs[28])
#define GO_SP(ctx) ((ctx)->sp)
#define GO_FP(ctx) ((ctx)->regs[29])
#else
#error "gtrace supports x86_64 and arm64"
#endif

/* The bit the GC ORs into a status (GT_G_*, gtrace_events.h) while it scans the stack. */
#define G_SCAN 0x1000

/* g.stackguard0 follows g.stack {lo, hi} in every runtime since Go 1.0. */
#define G_STACKGUARD0 16

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline __u8 read_u8(__u64 addr)
{
	__u8 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

#endif
