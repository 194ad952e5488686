// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf(BPF_LINK_CREATE, attach_type = BPF_TRACE_UPROBE_MULTI) by hand (see
 * uprobe_multi.h).  The attribute layout is the kernel's union bpf_attr
 * .link_create with its .uprobe_multi member (include/uapi/linux/bpf.h,
 * 6.6+), written out here because Debian 12's <linux/bpf.h> has no such
 * member.  The kernel zero-extends an attribute shorter than its own and
 * refuses a longer one only when the extra bytes are non-zero, so this
 * prefix is all it needs.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include "live/uprobe_multi.h"

struct uprobe_multi_attr {
	uint32_t prog_fd;
	uint32_t target_fd;   /* unused: 0 */
	uint32_t attach_type; /* GT_BPF_TRACE_UPROBE_MULTI */
	uint32_t flags;	      /* link flags: 0 */
	/* the link_create union, 8-byte aligned at offset 16 */
	uint64_t path;		  /* const char * */
	uint64_t offsets;	  /* const u64 *, file offsets */
	uint64_t ref_ctr_offsets; /* none: 0 */
	uint64_t cookies;	  /* const u64 *, one per offset, or 0 */
	uint32_t cnt;
	uint32_t um_flags; /* 0: entry probes (1 would be BPF_F_UPROBE_MULTI_RETURN: never for Go) */
	uint32_t pid;
	uint32_t pad;
};

_Static_assert(offsetof(struct uprobe_multi_attr, path) == 16, "link_create union offset");
_Static_assert(offsetof(struct uprobe_multi_attr, pid) == 56, "uprobe_multi.pid offset");

int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, size_t cnt, pid_t pid)
{
	struct uprobe_multi_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = GT_BPF_TRACE_UPROBE_MULTI;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offsets;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = cnt;
	a.pid = pid;
	fd = syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}

int uprobe_multi__unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -ENOSYS || err == -E2BIG;
}
