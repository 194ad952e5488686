/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A minimal shim for the kernel's multi-uprobe link (BPF_TRACE_UPROBE_MULTI,
 * Linux 6.6+): one bpf(BPF_LINK_CREATE) puts one program on many offsets of
 * one file for one PID, and closing the link's fd takes them all off again,
 * with one RCU wait instead of one per probe.  libbpf has this as
 * bpf_program__attach_uprobe_multi() since 1.3; Debian 12 ships 1.1.2, and
 * the project vendors no libbpf, so the one syscall is made here by hand.
 *
 * The kernel accepts such a link only for a program loaded with
 * expected_attach_type BPF_TRACE_UPROBE_MULTI (what libbpf >= 1.3 sets for
 * SEC("uprobe.multi"); 1.1.2's section parser does not know that name, so
 * the caller sets the type with bpf_program__set_expected_attach_type()
 * before load).  Such a program cannot also be attached through a perf
 * event, so a caller that falls back to per-probe links must reload.
 */
#ifndef GTRACE_UPROBE_MULTI_H
#define GTRACE_UPROBE_MULTI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* enum bpf_attach_type value in the kernel's UAPI (Debian 12's headers predate it). */
#define GT_BPF_TRACE_UPROBE_MULTI 48

/*
 * Attaches prog_fd at offsets[0..cnt) (file offsets in path) for pid's
 * threads only; cookies[i] (NULL: none) is what bpf_get_attach_cookie()
 * returns at offsets[i].  Returns the link fd (close it to detach), or -errno:
 * -EINVAL / -EOPNOTSUPP / -ENOSYS when the kernel has no multi-uprobe links.
 */
int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, size_t cnt, pid_t pid);

/* Whether err (from uprobe_multi__attach) means "this kernel cannot", not a bad site. */
int uprobe_multi__unsupported(int err);

#endif
