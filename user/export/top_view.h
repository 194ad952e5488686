/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The screen of `gtrace top`, from a sampler (live/sampler.h): goroutines
 * by state and wait reason, the heaviest blocking stacks by sampled wait
 * time, the goroutine count and its growth, the creation sites of the
 * goroutines alive longest (leak suspects), label sets and their share.
 * The view keeps what the keys choose (sort, filters, the stack expanded)
 * and draws as lines, so the curses screen (top_screen.h) and --once
 * (plain text) show the same thing.
 */
#ifndef GTRACE_TOP_VIEW_H
#define GTRACE_TOP_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include "live/sampler.h"

enum topview_attr { TV_NORMAL, TV_TITLE, TV_HEADER, TV_SELECTED, TV_DIM };

/* Where lines go: a curses window or a FILE. */
typedef void (*topview_line_fn)(void *ctx, enum topview_attr a, const char *text);

struct topview;

struct topview *topview__new(struct sampler *s);
void topview__free(struct topview *v);

/* After a pass: the goroutine count history and each goroutine's first sight. */
int topview__update(struct topview *v, const struct sampler_pass_stats *st, double hz);

/* Draws up to rows lines (0: all) of width cols. */
void topview__draw(struct topview *v, int rows, int cols, topview_line_fn fn, void *ctx);

/*
 * A key: 'q' returns false (quit); 's' sort, 'w' wait-reason filter, 'l'
 * label filter, 'c' clear filters, up/down 'j'/'k' select, enter/'e'
 * expand, 'r' restart the aggregation.  Keys are ncurses key codes or chars.
 */
bool topview__key(struct topview *v, int key);

#endif
