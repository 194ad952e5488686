/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --metrics ADDR: Prometheus text format at GET /metrics, served from the
 * agent's own loop (one short request at a time; a scrape is a few KiB).
 * Any other path answers 404.
 */
#ifndef GTRACE_METRICS_H
#define GTRACE_METRICS_H

#include <stdio.h>

struct metrics_server;

/* Writes the metrics text to f. */
typedef void (*metrics_render_fn)(void *ctx, FILE *f);

/* Listens on "HOST:PORT" (e.g. 127.0.0.1:9464).  0 or -errno (printed). */
int metrics__open(struct metrics_server **out, const char *addr, metrics_render_fn fn, void *ctx);
int metrics__fd(const struct metrics_server *m);
/* Answers the connection waiting on the listening socket. */
void metrics__serve(struct metrics_server *m);
void metrics__close(struct metrics_server *m);

#endif
