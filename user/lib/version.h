/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one version string: printed by --version and written into every capture. */
#ifndef GTRACE_VERSION_H
#define GTRACE_VERSION_H

#define GTRACE_VERSION "0.1.0"

#endif
