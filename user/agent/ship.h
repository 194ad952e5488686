/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Delivery of encoded windows to HTTP endpoints (Pyroscope push, OTLP), in
 * order, one sender thread for all sinks.  Every body is written to the
 * spool directory before its first try and removed only after a 2xx, so a
 * store that is down, or an agent that is restarted (even SIGKILLed),
 * loses no window that was complete: the next start sends what the spool
 * holds.  Retries back off from 1 s to 30 s; a 4xx other than 408/429 is a
 * refusal and is dropped (counted), since sending it again cannot help.
 * The spool is bounded: past its size the oldest bodies are dropped.
 */
#ifndef GTRACE_SHIP_H
#define GTRACE_SHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHIP_MAX_HEADERS 16

struct ship_sink_opts {
	const char *name;	  /* "pyroscope", "otlp": the spool subdirectory and metrics label */
	const char *url;	  /* full URL to POST to */
	const char *content_type;
	const char *headers[SHIP_MAX_HEADERS]; /* "Name: value" */
	int nheaders;
	const char *basic_auth;	  /* "user:password", or NULL */
	const char *bearer;	  /* token, or NULL */
	double timeout_s;	  /* per request */
};

struct ship_opts {
	const char *spool_dir;	  /* NULL: memory only (lost on restart) */
	uint64_t spool_max;	  /* bytes over all sinks */
};

struct ship_stats {
	uint64_t sent, errors, dropped, refused;
	uint64_t queued, spool_bytes;
	bool up;		  /* the last try succeeded */
	char last_error[256];
};

struct shipper;

/* Starts the sender; picks up what a previous run left in the spool.  0 or -errno. */
int shipper__open(struct shipper **out, const struct ship_opts *o,
		  const struct ship_sink_opts *sinks, int nsinks);
/* Queues a body for sink i (copied and spooled).  0 or -errno. */
int shipper__enqueue(struct shipper *s, int sink, const uint8_t *body, size_t len);
/* Waits up to grace_s for the queues to drain, then stops; the rest stays spooled. */
void shipper__close(struct shipper *s, double grace_s);
void shipper__stats(struct shipper *s, int sink, struct ship_stats *st);

#endif
