/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one JSON string writer (RFC 8259 escaping) every JSON output uses. */
#ifndef GTRACE_JSON_H
#define GTRACE_JSON_H

#include <stdio.h>

/* Writes s as a quoted JSON string; NULL is written as null. */
void json_str(FILE *f, const char *s);

#endif
