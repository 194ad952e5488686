// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ncurses for `gtrace top` (see top_screen.h): the view draws, this only places lines. */
#include <errno.h>
#include <curses.h>
#include <unistd.h>
#include "lib/debug.h"
#include "export/top_screen.h"

static bool open_;
static int row;

int topscreen__open(void)
{
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		pr_err("gtrace top needs a terminal; use --once for plain text\n");
		return -ENOTTY;
	}
	if (!initscr())
		return -ENOTTY;
	open_ = true;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_CYAN, -1);
		init_pair(2, COLOR_BLACK, COLOR_CYAN);
	}
	return 0;
}

void topscreen__close(void)
{
	if (open_)
		endwin();
	open_ = false;
}

static void put_line(void *ctx, enum topview_attr a, const char *text)
{
	int attr = A_NORMAL;

	if (row >= LINES)
		return;
	switch (a) {
	case TV_TITLE: attr = A_BOLD; break;
	case TV_HEADER: attr = has_colors() ? COLOR_PAIR(1) | A_BOLD : A_BOLD; break;
	case TV_SELECTED: attr = has_colors() ? COLOR_PAIR(2) : A_REVERSE; break;
	case TV_DIM: attr = A_DIM; break;
	default: break;
	}
	attron(attr);
	mvaddnstr(row, 0, text, COLS);
	attroff(attr);
	row++;
}

void topscreen__draw(struct topview *v)
{
	erase();
	row = 0;
	topview__draw(v, LINES, COLS, put_line, NULL);
	refresh();
}

int topscreen__key(int timeout_ms)
{
	timeout(timeout_ms);
	return getch();
}
