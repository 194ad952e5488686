// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the capture reader (the one every exporter goes
 * through): the input is written to a memfd and read as a capture, pull
 * style, looking up what each record refers to (stack, label set, symbols,
 * wait reason, wall time) as the exporters do.  Built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so chunk CRCs do not stop
 * mutated inputs before the decoders and the record parser.  A crash or a
 * sanitizer report is a bug; -EBADMSG is expected.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "capture/capture.h"

int gt_verbose;
int gt_quiet = 1;

static void touch_str(const char *s)
{
	if (s && strlen(s) > (1u << 30))
		abort();
}

static void each_meta(const char *k, const char *v, void *arg)
{
	touch_str(k);
	touch_str(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gt_capture *c;
	const struct gt_event_hdr *h;
	struct gt_frame fr[16];
	char path[64];
	int fd = memfd_create("fuzz", 0), n = 0;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!capture__open(&c, path)) {
		capture__meta_foreach(c, each_meta, NULL);
		while (n++ < 100000 && capture__next_event(c, &h) == 1) {
			if (h->size < sizeof(*h))
				abort(); /* the reader must never hand out a short record */
			touch_str(capture__event_name(h->type));
			touch_str(capture__waitreason(c, h->flags));
			capture__wall_ns(c, h->ts);
			if (h->type == GT_EV_PARK) {
				const struct gt_stack *s = capture__stack(c, ((const struct gt_ev_park *)h)->stack);

				for (uint32_t i = 0; s && i < s->nr; i++)
					for (int k = capture__symbolize(c, s->pcs[i] - 1, fr, 16) - 1; k >= 0; k--)
						touch_str(fr[k].func);
			} else if (h->type == GT_EV_LABELS || h->type == GT_EV_CREATE) {
				uint64_t id = h->type == GT_EV_LABELS ? ((const struct gt_ev_labels *)h)->labels :
									((const struct gt_ev_create *)h)->labels;
				const struct gt_labelset *l = capture__labelset(c, id);

				for (uint32_t i = 0; l && i < l->count; i++) {
					touch_str(l->keys[i]);
					touch_str(l->values[i]);
				}
			}
		}
		capture__close(c);
	}
	close(fd);
	return 0;
}
