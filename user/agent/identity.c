// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process's identity from /proc: its environment for the service name,
 * its cgroup path for container and pod.  Read once when the agent starts
 * profiling it; a process cannot change any of these without an exec, which
 * makes it a new process to the agent.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/identity.h"

/* Reads a /proc file whole (up to cap bytes).  Length or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while (got < (ssize_t)cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

/* Value of NAME in a NUL-separated environment, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = env; p < env + len; p += strlen(p) + 1)
		if (!strncmp(p, name, nl) && p[nl] == '=')
			return p + nl + 1;
	return NULL;
}

static bool is_hex(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (!isxdigit((unsigned char)p[i]) || isupper((unsigned char)p[i]))
			return false;
	return true;
}

void identity__parse_cgroup(const char *text, char *cid, size_t cid_len, char *uid,
			    size_t uid_len)
{
	const char *p;

	cid[0] = uid[0] = 0;
	/* a container id is a run of exactly 64 lowercase hex digits */
	for (p = text; *p; p++) {
		if (is_hex(p, 64) && (p == text || !isxdigit((unsigned char)p[-1])) &&
		    !isxdigit((unsigned char)p[64])) {
			snprintf(cid, cid_len, "%.64s", p);
			break;
		}
	}
	/* pod<uid>: dashes with cgroupfs, underscores with the systemd driver */
	for (p = text; (p = strstr(p, "pod")); p += 3) {
		char u[37];
		int i;

		for (i = 0; i < 36 && p[3 + i]; i++)
			u[i] = p[3 + i] == '_' ? '-' : p[3 + i];
		u[i] = 0;
		if (i == 36 && u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-' &&
		    is_hex(u, 8) && is_hex(u + 9, 4) && is_hex(u + 14, 4) && is_hex(u + 19, 4) &&
		    is_hex(u + 24, 12)) {
			snprintf(uid, uid_len, "%s", u);
			break;
		}
	}
}

/* A generated name part: lowercase letters and digits with at least one digit, or 5 chars. */
static bool generated(const char *s, size_t n, bool rs_hash)
{
	bool digit = false;

	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
		digit |= isdigit((unsigned char)s[i]) != 0;
	}
	return rs_hash ? (n >= 6 && n <= 10 && digit) : n == 5;
}

void identity__workload(const char *pod, char *out, size_t len)
{
	const char *d1 = strrchr(pod, '-'), *d0;

	snprintf(out, len, "%s", pod);
	if (!d1 || !generated(d1 + 1, strlen(d1 + 1), false))
		return;
	out[d1 - pod] = 0; /* StatefulSet/DaemonSet/Job pods end here */
	for (d0 = d1 - 1; d0 > pod && *d0 != '-'; d0--)
		;
	if (d0 > pod && generated(d0 + 1, d1 - d0 - 1, true))
		out[d0 - pod] = 0;
}

static void attr(struct agent_identity *id, const char *k, const char *v)
{
	if (v && *v && id->nattrs < ID_MAX_ATTRS) {
		id->attr[id->nattrs][0] = k;
		id->attr[id->nattrs][1] = v;
		id->nattrs++;
	}
}

int identity__read(pid_t pid, const struct gt_target *t, struct agent_identity *id)
{
	static char env[256 * 1024];
	char path[64], cg[8192];
	const char *v, *base;
	ssize_t n;

	memset(id, 0, sizeof(*id));
	snprintf(id->pid_str, sizeof(id->pid_str), "%d", pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, id->exe_path, sizeof(id->exe_path) - 1);
	if (n < 0)
		return -ESRCH;
	id->exe_path[n] = 0;
	base = strrchr(id->exe_path, '/');
	snprintf(id->exe_name, sizeof(id->exe_name), "%s", base ? base + 1 : id->exe_path);
	/* a binary replaced on disk reads "path (deleted)" */
	if ((n = strlen(id->exe_name)) > 10 && !strcmp(id->exe_name + n - 10, " (deleted)"))
		id->exe_name[n - 10] = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (slurp(path, cg, sizeof(cg)) >= 0)
		identity__parse_cgroup(cg, id->container_id, sizeof(id->container_id), id->pod_uid,
				       sizeof(id->pod_uid));

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	n = slurp(path, env, sizeof(env));
	if (n > 0 && (v = env_get(env, n, "OTEL_SERVICE_NAME")) && *v) {
		snprintf(id->service, sizeof(id->service), "%s", v);
		snprintf(id->service_source, sizeof(id->service_source), "OTEL_SERVICE_NAME");
	} else if (n > 0 && (v = env_get(env, n, "PYROSCOPE_APPLICATION_NAME")) && *v) {
		snprintf(id->service, sizeof(id->service), "%s", v);
		snprintf(id->service_source, sizeof(id->service_source),
			 "PYROSCOPE_APPLICATION_NAME");
	}
	/* in a pod, HOSTNAME is the pod name unless the spec overrides it */
	if (n > 0 && id->pod_uid[0] && (v = env_get(env, n, "HOSTNAME")))
		snprintf(id->pod_name, sizeof(id->pod_name), "%s", v);
	if (!id->service[0] && id->pod_name[0]) {
		identity__workload(id->pod_name, id->service, sizeof(id->service));
		snprintf(id->service_source, sizeof(id->service_source), "k8s-pod");
	}
	if (!id->service[0]) {
		snprintf(id->service, sizeof(id->service), "%s", id->exe_name);
		snprintf(id->service_source, sizeof(id->service_source), "exe");
	}

	if (t)
		identity__set_binary(id, t);
	return 0;
}

void identity__set_binary(struct agent_identity *id, const struct gt_target *t)
{
	snprintf(id->build_id_go, sizeof(id->build_id_go), "%s", t->elf.go_build_id);
	snprintf(id->build_id_gnu, sizeof(id->build_id_gnu), "%s", t->elf.gnu_build_id);
	snprintf(id->go_version, sizeof(id->go_version), "%s", t->ver.str);
	id->nattrs = 0;
	attr(id, "service.name", id->service);
	attr(id, "process.pid", id->pid_str);
	attr(id, "process.executable.name", id->exe_name);
	attr(id, "process.executable.path", id->exe_path);
	attr(id, "process.executable.build_id.go", id->build_id_go);
	attr(id, "process.executable.build_id.gnu", id->build_id_gnu);
	attr(id, "process.runtime.name", "go");
	attr(id, "process.runtime.version", id->go_version);
	attr(id, "container.id", id->container_id);
	attr(id, "k8s.pod.uid", id->pod_uid);
	attr(id, "k8s.pod.name", id->pod_name);
}

void identity__copy(struct agent_identity *dst, const struct agent_identity *src)
{
	const char *lo = (const char *)src, *hi = lo + sizeof(*src);

	*dst = *src;
	for (int i = 0; i < dst->nattrs; i++)
		for (int j = 0; j < 2; j++)
			if (src->attr[i][j] >= lo && src->attr[i][j] < hi)
				dst->attr[i][j] = (const char *)dst + (src->attr[i][j] - lo);
}
