// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * process_vm_readv wrappers (see remote_mem.h).  At 100,000 goroutines the
 * cost of a read is the number of system calls, not the bytes: callers hand
 * over every range of a step at once and this packs them IOV_MAX a call.
 */
#include <errno.h>
#include <signal.h>
#include <sys/uio.h>
#include "live/remote_mem.h"

/* A failed read means "gone" only when the process is: else a bad address. */
static int target_errno(pid_t pid, int e)
{
	if (e == ESRCH || (kill(pid, 0) && errno == ESRCH))
		return -ESRCH;
	return e == EPERM ? -EPERM : -EFAULT;
}

int rmem__read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, rv = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = process_vm_readv(pid, &l, 1, &rv, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	return target_errno(pid, n < 0 ? errno : EFAULT);
}

int rmem__read64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return rmem__read(pid, addr, v, sizeof(*v));
}

int rmem__readv(pid_t pid, const struct rmem_vec *v, size_t n, bool *ok, uint64_t *ncalls)
{
	struct iovec l[RMEM_IOV_BATCH], rv[RMEM_IOV_BATCH];
	size_t idx[RMEM_IOV_BATCH], i = 0;

	while (i < n) {
		size_t k = 0, got, j;
		ssize_t rc;

		for (; i < n && k < RMEM_IOV_BATCH; i++) {
			ok[i] = !v[i].len;
			if (!v[i].len || !v[i].addr)
				continue;
			l[k] = (struct iovec){ v[i].buf, v[i].len };
			rv[k] = (struct iovec){ (void *)(uintptr_t)v[i].addr, v[i].len };
			idx[k++] = i;
		}
		if (!k)
			continue;
		rc = process_vm_readv(pid, l, k, rv, k, 0);
		if (ncalls)
			++*ncalls;
		if (rc < 0) {
			if (errno == ESRCH || (kill(pid, 0) && errno == ESRCH))
				return -ESRCH;
			rc = 0;
		}
		got = rc;
		for (j = 0; j < k && got >= l[j].iov_len; j++) {
			ok[idx[j]] = true;
			got -= l[j].iov_len;
		}
		if (j < k) /* range idx[j] failed: go on after it */
			i = idx[j] + 1;
	}
	return 0;
}
