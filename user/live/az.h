/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Availability-zone resolution, so a capture says where it was taken.
 * Sources are tried in order and the first good answer wins: --az, env
 * GTRACE_AZ, a file (--az-file, default /etc/gtrace/az), Kubernetes (env
 * GTRACE_K8S_ZONE or a downward-API labels file, then the API server's
 * Node object), then the cloud metadata services (AWS IMDSv2, GCP, Azure)
 * asked in parallel within one short deadline.  Answers that do not look
 * like a zone (HTML from a proxy, binary, too long) are refused with a
 * warning and never stored.  See docs/clock-and-az.md.
 */
#ifndef GTRACE_AZ_H
#define GTRACE_AZ_H

#include <stdbool.h>
#include "lib/clock.h" /* gt_meta_emit_fn */

#define GT_AZ_FILE "/etc/gtrace/az"
#define GT_AZ_TIMEOUT_MS 300
/* AWS, GCP and Azure all answer on this link-local address. */
#define GT_IMDS_ENDPOINT "http://169.254.169.254"
/* Where the Kubernetes docs mount a downward-API volume of pod labels. */
#define GT_K8S_LABELS_FILE "/etc/podinfo/labels"
#define GT_K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct gt_az_opts {
	const char *az;		   /* --az: wins over everything */
	const char *az_file;	   /* --az-file; NULL = GT_AZ_FILE, silent when missing; "" = none */
	const char *imds_endpoint; /* --imds-endpoint base URL for all clouds; NULL = default */
	unsigned timeout_ms;	   /* all network lookups together; 0 = GT_AZ_TIMEOUT_MS */
	bool no_network;	   /* --no-az-detect: flag, env and files only */
	const char *k8s_labels_file; /* NULL = $GTRACE_K8S_LABELS_FILE or GT_K8S_LABELS_FILE;
					"" = none */
	const char *k8s_api;	   /* API server base URL; NULL = from KUBERNETES_SERVICE_* */
	const char *k8s_sa_dir;	   /* service-account token dir; NULL = GT_K8S_SA_DIR */
};

struct gt_az {
	char az[64];	   /* "us-east-1a", "us-central1-a", "eastus2-1"; "" = unknown */
	char az_id[64];	   /* AWS zone id "use1-az6", Azure zone number; may be "" */
	char region[64];   /* "us-east-1"; may be "" */
	char provider[16]; /* "aws", "gcp", "azure", "k8s", "manual" */
	char source[16];   /* "flag", "env", "file", "k8s-env", "k8s-file", "k8s-api",
			      "imds-aws", "imds-gcp", "imds-azure" */
	char host[256];	   /* gethostname() */
	char note[256];	   /* last thing refused or given up on, "" if none */
};

/*
 * Fills *out.  0 when a zone was found; -ENOENT when none was (out still
 * has the host name, maybe provider and region, and note says why); never
 * fatal for a recording.  Prints one warning when nothing was found.
 */
int az__resolve(const struct gt_az_opts *o, struct gt_az *out);

/*
 * Emits az, az.id, az.source, cloud.region, cloud.provider, host.name and
 * the OpenTelemetry cloud.availability_zone; empty values are left out.
 */
int az__write_meta(const struct gt_az *a, gt_meta_emit_fn emit, void *arg);

#endif
