/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The curses terminal of `gtrace top`: full screen, restored on exit and on signals. */
#ifndef GTRACE_TOP_SCREEN_H
#define GTRACE_TOP_SCREEN_H

#include "export/top_view.h"

/* 0, or -ENOTTY when stdout is not a terminal (printed). */
int topscreen__open(void);
void topscreen__close(void);
/* Redraws the whole view. */
void topscreen__draw(struct topview *v);
/* A key within timeout_ms, or -1. */
int topscreen__key(int timeout_ms);

#endif
