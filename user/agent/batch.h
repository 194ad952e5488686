/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One window's worth of profiles from every process, as the encoders
 * (Pyroscope push, OTLP) and the --dir writer take it: each profile with
 * the labels of its series (OTel names: service.name, process.pid, ...).
 */
#ifndef GTRACE_BATCH_H
#define GTRACE_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "agent/window_profiles.h"

#define BATCH_MAX_LABELS 48

struct agent_series {
	const struct agent_profile *p;
	const char *service;  /* service.name, also among labels */
	int nlabels;
	const char *label[BATCH_MAX_LABELS][2];
};

struct agent_batch {
	struct agent_series *s;
	int n, cap;
	int64_t start_ns, end_ns; /* UTC, the window */
};

/* Encodes b as a Pyroscope push.v1.PushRequest.  0 or -ENOMEM; free(*out). */
int pyroscope__encode(const struct agent_batch *b, uint8_t **out, size_t *len);
/* Encodes b as an OTLP ExportProfilesServiceRequest (v1development).  0 or -errno. */
int otlp__encode(const struct agent_batch *b, uint8_t **out, size_t *len);

#endif
