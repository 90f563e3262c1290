/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * progress.h - the progress bar of 'tdbcli load' on a terminal: records,
 * records per second and, when the input's size is known, the share read
 * and the time left, redrawn at most ten times a second on stderr.  Off
 * the terminal it draws nothing and costs one test per update.
 */
#ifndef TDB_CLI_PROGRESS_H
#define TDB_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct progress {
	bool on;		/* stderr is a terminal */
	bool drawn;		/* a bar is on the screen */
	uint64_t total;		/* input bytes, 0: unknown (no time left) */
	unsigned int width;	/* the terminal's columns */
	unsigned int tick;	/* updates since the clock was last read */
	struct timespec start;
	double last;		/* seconds since start of the last redraw */
};

/* Starts the clock; draws only when stderr is a terminal. */
void progress_start(struct progress *p, uint64_t total_bytes);
/* Records loaded and input bytes read so far: redraws if it is time. */
void progress_update(struct progress *p, uint64_t records, uint64_t bytes);
/* Draws now, with @what ("committing") in place of the time left. */
void progress_show(struct progress *p, uint64_t records, uint64_t bytes,
		   const char *what);
/* Erases the bar, before any other output. */
void progress_clear(struct progress *p);
/* Seconds since progress_start(). */
double progress_elapsed(const struct progress *p);

#endif /* TDB_CLI_PROGRESS_H */
