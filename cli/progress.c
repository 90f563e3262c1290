// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * progress.c - the progress bar of 'tdbcli load'.  One line on stderr,
 * rewritten in place ("\r", then erase to its end):
 *
 *    42% [##########--------------]  1234567 records  1190476/s  0:03 left
 *
 * or, for input of unknown size (standard input, a pipe), the records,
 * the bytes read and the rate.  Time left is the time so far scaled by
 * the bytes still to read, which holds for records of even size.
 */
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"

/* Redraws at most this often, in seconds. */
#define PROGRESS_PERIOD 0.1
/* The clock is read once per this many updates (a power of two). */
#define PROGRESS_TICKS 64U
/* The columns the text after the bar may take. */
#define TAIL_MAX 44

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

void progress_start(struct progress *p, uint64_t total_bytes)
{
	struct winsize ws;

	*p = (struct progress){ .total = total_bytes, .width = 80 };
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->on = isatty(STDERR_FILENO);
	if (p->on && !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		p->width = ws.ws_col;
}

double progress_elapsed(const struct progress *p)
{
	return since(&p->start);
}

/* "0:07", "12:34", "1:02:03" */
static void fmt_time(char *buf, size_t cap, double s)
{
	unsigned long t = (unsigned long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

/*
 * Draws the line in one write: stderr is unbuffered, and a terminal that
 * receives it piecemeal would show it torn.
 */
static void draw(struct progress *p, uint64_t records, uint64_t bytes,
		 const char *what, double now)
{
	char out[512], tail[160], left[48] = "", t[32];
	double rate = now > 0 ? (double)records / now : 0;
	int room = (int)p->width - 1;	/* the last column: the cursor */
	unsigned int pct;
	size_t n = 0;
	int bar = 0;

	if (p->total && bytes > p->total)
		bytes = p->total;	/* the file grew while read */
	if (what) {
		snprintf(left, sizeof(left), "  %s", what);
	} else if (p->total && bytes && now >= 1) {
		fmt_time(t, sizeof(t),
			 now * (double)(p->total - bytes) / (double)bytes);
		snprintf(left, sizeof(left), "  %s left", t);
	}
	if (!p->total) {
		snprintf(tail, sizeof(tail), "%llu records  %.1f MiB  %.0f/s%s",
			 (unsigned long long)records, (double)bytes / (1 << 20),
			 rate, left);
		n = (size_t)snprintf(out, sizeof(out), "\r%.*s\033[K",
				     room > 0 ? room : 0, tail);
		goto out;
	}
	pct = (unsigned int)(bytes * 100 / p->total);
	snprintf(tail, sizeof(tail), "  %llu records  %.0f/s%s",
		 (unsigned long long)records, rate, left);
	/*
	 * "100%", then " [" and "]" around a bar of 10 to 40 columns, as
	 * wide as leaves room for the longest tail ("  12345678 records
	 * 1234567/s  1:02:03 left"), so that it keeps its width.
	 */
	room -= 4;
	if (room - 3 - TAIL_MAX >= 10)
		bar = room - 3 - TAIL_MAX > 40 ? 40 : room - 3 - TAIL_MAX;
	n = (size_t)snprintf(out, sizeof(out), "\r%3u%%", pct);
	if (bar) {
		unsigned int fill = (unsigned int)bar * pct / 100;

		out[n++] = ' ';
		out[n++] = '[';
		for (unsigned int i = 0; i < (unsigned int)bar; i++)
			out[n++] = i < fill ? '#' : '-';
		out[n++] = ']';
		room -= bar + 3;
	}
	n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s\033[K",
			      room > 0 ? room : 0, tail);
out:
	fwrite(out, 1, n < sizeof(out) ? n : sizeof(out) - 1, stderr);
	p->drawn = true;
	p->last = now;
}

void progress_update(struct progress *p, uint64_t records, uint64_t bytes)
{
	double now;

	if (!p->on || ++p->tick % PROGRESS_TICKS)
		return;
	now = since(&p->start);
	if (now - p->last >= PROGRESS_PERIOD)
		draw(p, records, bytes, NULL, now);
}

void progress_show(struct progress *p, uint64_t records, uint64_t bytes,
		   const char *what)
{
	if (p->on)
		draw(p, records, bytes, what, since(&p->start));
}

void progress_clear(struct progress *p)
{
	if (!p->drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->drawn = false;
}
