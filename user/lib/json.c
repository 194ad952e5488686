// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON string escaping; see json.h. */
#include "lib/json.h"

void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			/* Control bytes and invalid UTF-8 both stay representable. */
			if (*c < 0x20)
				fprintf(f, "\\u%04x", *c);
			else
				putc(*c, f);
		}
	}
	putc('"', f);
}
