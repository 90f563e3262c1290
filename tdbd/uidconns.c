// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * uidconns.c - connections per uid, so that one local user cannot take
 * all of the owner's memory (each connection holds a 2 MiB ring region
 * and its buffers) by opening connections and keeping them.
 *
 * A short list of (uid, count) under a mutex: it is touched once per
 * connect and once per disconnect, and a machine has few distinct uids
 * connected at once.  Root is not counted.
 */
#include <pthread.h>
#include <stdlib.h>

#include "tdbd.h"

struct uid_count {
	struct uid_count *next;
	uid_t uid;
	unsigned int n;
};

static pthread_mutex_t uid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uid_count *uid_counts;

int uid_conns_take(uid_t uid, unsigned int max)
{
	struct uid_count *u;
	int err = 0;

	if (!uid)
		return 0;
	pthread_mutex_lock(&uid_lock);
	for (u = uid_counts; u && u->uid != uid; u = u->next)
		;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			err = -ENOMEM;
			goto unlock;
		}
		u->uid = uid;
		u->next = uid_counts;
		uid_counts = u;
	}
	if (max && u->n >= max)
		err = -EUSERS;
	else
		u->n++;
unlock:
	pthread_mutex_unlock(&uid_lock);
	return err;
}

void uid_conns_drop(uid_t uid)
{
	struct uid_count **link, *u;

	if (!uid)
		return;
	pthread_mutex_lock(&uid_lock);
	for (link = &uid_counts; (u = *link) && u->uid != uid; link = &u->next)
		;
	if (u && !--u->n) {
		*link = u->next;
		free(u);
	}
	pthread_mutex_unlock(&uid_lock);
}
