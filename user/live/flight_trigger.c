// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The flight recorder's triggers (flight_trigger.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "capture/capture.h"
#include "lib/debug.h"
#include "live/flight_trigger.h"

#define TRIGGER_GAP_NS (10 * 1000000000ull) /* at most one firing per trigger per 10 s */

static int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		v /= 1e3;
	else if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	*ns = v * 1e9;
	return 0;
}

static int parse_count(const char *s, uint64_t *n)
{
	char *end;

	errno = 0;
	*n = strtoull(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

static void trigger_name(struct flight_trigger *tr)
{
	size_t i;

	for (i = 0; tr->text[i] && i < sizeof(tr->name) - 1; i++) {
		char c = tr->text[i];

		tr->name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '_';
	}
	tr->name[i] = 0;
}

int flight_trigger__parse(const char *s, struct flight_trigger *tr)
{
	const char *gt = strrchr(s, '>');

	memset(tr, 0, sizeof(*tr));
	tr->text = s;
	tr->armed = true;
	trigger_name(tr);
	if (!strncmp(s, "label:", 6)) {
		const char *eq = strchr(s + 6, '=');

		tr->kind = FT_LABEL;
		/* checked here so a bad one is one usage line (gs_filter would print its own) */
		if (!eq || eq == s + 6 || eq - (s + 6) > GT_LABEL_STR_MAX ||
		    strlen(eq + 1) > GT_LABEL_STR_MAX)
			return -EINVAL;
		return gs_filter__parse(&tr->label, s);
	}
	if (!gt)
		return -EINVAL;
	if (!strncmp(s, "goroutines>", 11)) {
		tr->kind = FT_GOROUTINES;
		return parse_count(gt + 1, &tr->n);
	}
	if (!strncmp(s, "blocked>", 8)) {
		tr->kind = FT_BLOCKED;
		return parse_duration(gt + 1, &tr->n);
	}
	if (!strncmp(s, "waiting[", 8) && gt > s + 9 && gt[-1] == ']') {
		tr->kind = FT_WAITING;
		return parse_count(gt + 1, &tr->n);
	}
	return -EINVAL;
}

static int find_reason(const struct gt_target *t, const char *name)
{
	for (int i = 1; i < 256; i++)
		if (t->rt.waitreason[i] && !strcmp(t->rt.waitreason[i], name))
			return i;
	return -1;
}

int flight_trigger__resolve(struct flight_trigger *t, int n, const struct gt_target *target)
{
	for (int i = 0; i < n; i++) {
		struct flight_trigger *tr = &t[i];
		char name[128];
		size_t len;

		if (tr->kind != FT_WAITING)
			continue;
		len = strrchr(tr->text, '>') - 1 - (tr->text + 8);
		snprintf(name, sizeof(name), "%.*s", (int)len, tr->text + 8);
		tr->reason = find_reason(target, name);
		if (tr->reason < 0) {
			pr_err("no wait reason '%s' in this Go (%s); see 'gtrace info -p PID'\n",
			       name, target->ver.str);
			return -EINVAL;
		}
	}
	return 0;
}

void flight_trigger__labelset(struct flight_trigger *t, int n, const struct gt_event_hdr *rec)
{
	struct gt_labelset *ls = NULL;
	bool any = false;

	for (int i = 0; i < n && !any; i++)
		any = t[i].kind == FT_LABEL;
	/* the capture reader's decoder: one reading of the blob layout */
	if (!any || capture__labelset_decode(rec, &ls))
		return;
	for (int i = 0; i < n; i++)
		if (t[i].kind == FT_LABEL && gs_filter__match_labels(&t[i].label, ls))
			t[i].pending = true;
	capture__labelset_free(ls);
}

struct count_ctx {
	struct flight_counts *c;
	uint64_t now;
};

static int count_one(struct gstate *gs, struct gs_g *g, void *arg)
{
	struct count_ctx *x = arg;

	(void)gs;
	if (g->system)
		return 0;
	x->c->alive++;
	if (g->state != GS_WAITING || g->pseudo)
		return 0;
	x->c->waiting[g->reason]++;
	if (g->since && x->now > g->since && x->now - g->since > x->c->oldest_park)
		x->c->oldest_park = x->now - g->since;
	return 0;
}

void flight_trigger__count(struct gstate *live, uint64_t now, struct flight_counts *c)
{
	struct count_ctx x = { c, now };

	memset(c, 0, sizeof(*c));
	gstate__foreach(live, count_one, &x);
}

static bool condition(const struct flight_trigger *tr, const struct flight_counts *c)
{
	switch (tr->kind) {
	case FT_GOROUTINES: return c->alive > tr->n;
	case FT_WAITING: return c->waiting[tr->reason] > tr->n;
	case FT_BLOCKED: return c->oldest_park > tr->n;
	case FT_LABEL: return tr->pending;
	}
	return false;
}

void flight_trigger__check(struct flight_trigger *t, int n, const struct flight_counts *c,
			   uint64_t now, void (*fire)(void *arg, struct flight_trigger *tr),
			   void *arg)
{
	for (int i = 0; i < n; i++) {
		struct flight_trigger *tr = &t[i];

		if (!condition(tr, c)) {
			tr->armed = true;
			continue;
		}
		if (!tr->armed || (tr->fired && now - tr->last_fire < TRIGGER_GAP_NS))
			continue;
		tr->armed = tr->pending = false;
		tr->last_fire = now;
		tr->fired++;
		fire(arg, tr);
	}
}
