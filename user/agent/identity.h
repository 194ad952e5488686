/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who a profiled process is, as every profile of it says: the service name
 * (OTEL_SERVICE_NAME or PYROSCOPE_APPLICATION_NAME from its environment,
 * else its Kubernetes workload, else its executable's name), pid,
 * executable, build ID, Go version, container ID and pod UID from its cgroup
 * path.  Host and zone are the agent's and are added by the caller.
 * Attribute names follow the OpenTelemetry semantic conventions.
 */
#ifndef GTRACE_IDENTITY_H
#define GTRACE_IDENTITY_H

#include <sys/types.h>
#include "binary/target.h"

#define ID_MAX_ATTRS 16

struct agent_identity {
	char service[512];
	char service_source[32];  /* "OTEL_SERVICE_NAME", "PYROSCOPE_APPLICATION_NAME", "k8s-pod", "exe" */
	char exe_path[512];	  /* what /proc/PID/exe names (inside its mount namespace) */
	char exe_name[512];	  /* its last path element */
	char container_id[80];	  /* 64 hex digits, "" when not in a container */
	char pod_uid[40];	  /* "" when not in a Kubernetes pod */
	char pod_name[256];	  /* HOSTNAME of a pod's process, "" otherwise */
	char pid_str[16];
	char build_id_go[256], build_id_gnu[72], go_version[64]; /* copies: t may go first */
	/* name/value pairs, OTel names, empty values left out; point into this struct */
	int nattrs;
	const char *attr[ID_MAX_ATTRS][2];
};

/*
 * Fills *id for pid from /proc (t may be NULL: the names are then known,
 * the attributes not yet, see identity__set_binary).  0 or -ESRCH (gone).
 */
int identity__read(pid_t pid, const struct gt_target *t, struct agent_identity *id);
/* Adds what the binary tells (build IDs, Go version) and fills attr. */
void identity__set_binary(struct agent_identity *id, const struct gt_target *t);
/* *dst = *src with attr pointing into dst (an identity that outlives its process). */
void identity__copy(struct agent_identity *dst, const struct agent_identity *src);

/*
 * Container ID and pod UID from one /proc/PID/cgroup text (systemd and
 * cgroupfs drivers, containerd, CRI-O, Docker); exposed for unit tests.
 */
void identity__parse_cgroup(const char *text, char *container_id, size_t cid_len, char *pod_uid,
			    size_t uid_len);

/* "checkout" from a pod name "checkout-7d4b9c8f6-x2x9z" (Deployment/ReplicaSet suffixes). */
void identity__workload(const char *pod, char *out, size_t len);

#endif
