/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * internal.h - libtdb's private declarations: the connection, the rings,
 * message building and parsing, and the hooks by which received responses
 * reach the batch or call that waits for them.
 *
 * Sequence numbers.  Every request carries a 32-bit nlmsg_seq whose high
 * 16 bits name who waits for the answer (0: the synchronous call in
 * progress, 1..65535: a batch of this connection) and whose low 16 bits are
 * a slot of that waiter (a counter for synchronous calls).  A response is
 * handed to its waiter by this number; one that no waiter expects is a
 * protocol error.
 */
#ifndef TDB_LIBTDB_INTERNAL_H
#define TDB_LIBTDB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libmnl/libmnl.h>

#include "tdb/tdb.h"

#define TDB_EXPORT __attribute__((visibility("default")))

#define SEQ_OWNER(seq) ((uint32_t)(seq) >> 16)
#define SEQ_SLOT(seq) ((uint32_t)(seq) & 0xffffU)
#define SEQ_MAKE(owner, slot) (((uint32_t)(owner) << 16) | ((slot) & 0xffffU))

#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct tdb {
	int sock;			/* control channel */
	int tx_efd;			/* we write: wakes the owner */
	int rx_efd;			/* owner writes: wakes us */
	unsigned long fork_gen;		/* conn_fork_gen() at connect */
	int dead;			/* sticky -errno once the link broke */

	void *region;
	size_t region_size;
	struct tdb_ring_ctl *ctl;
	uint32_t frame_size, frame_count;
	uint8_t *tx_ring, *rx_ring;
	uint32_t tx_head;		/* next TX frame we fill */
	uint32_t rx_head;		/* next RX frame we read */
	uint32_t spin_ns;		/* how long ring_wait() spins now */
	uint32_t waits;			/* ring_wait() calls, for its probes */

	/* Reassembled RX batch: messages [rx_pos, rx_len) not handed out. */
	uint8_t *rx_buf;
	size_t rx_cap, rx_len, rx_pos;
	size_t rx_asm;			/* bytes of a batch being assembled */

	/* Synchronous calls build their one message here. */
	uint8_t *tx_buf;
	size_t tx_cap;
	uint16_t sync_seq;

	struct tdb_batch *batches;	/* every batch made from this conn */
	uint16_t next_batch_id;
	struct tdb_scan *scans;		/* every open scan */
};

/* conn.c */
unsigned long conn_fork_gen(void);
/* 0 if @db may be used by this process now, else its -errno. */
int conn_usable(const struct tdb *db);
/* Marks the connection broken with @err (first error wins); returns it. */
int conn_fail(struct tdb *db, int err);
/* tdb.ko ended the connection (owner_gone): -ESHUTDOWN or -ECONNRESET. */
int conn_gone_error(const struct tdb *db);

/* ring.c */
/* The bounds of ring.c's adaptive spin; a connection starts at the top. */
#define RING_SPIN_MAX_NS 20000U
#define RING_SPIN_MIN_NS 1000U
#define RING_SPIN_PROBE 64U

/*
 * Copies @len bytes (one batch of messages) into TX frames: one VALID
 * frame, or COPY frames and a final VALID one.  While it waits for a free
 * frame it drains the RX ring, handing responses to their waiters.
 */
int ring_send(struct tdb *db, const void *buf, size_t len);
/*
 * The next response message, validated as far as its headers go: 1 with
 * *@nlh pointing into the connection's RX buffer (valid until the next
 * call of ring_recv), 0 if none has arrived and @wait is false, -errno.
 */
int ring_recv(struct tdb *db, const struct nlmsghdr **nlh, bool wait);
/* Hands every response that has arrived to its waiter. */
int ring_drain(struct tdb *db);
/* Gives @nlh, which the caller does not wait for, to its waiter. */
int ring_dispatch(struct tdb *db, const struct nlmsghdr *nlh);

/* msg.c */
int msg_check_table(const char *table);
int msg_check_call(struct tdb *db, const char *table);
int msg_check_put_flags(unsigned int flags);
int msg_check_key(const void *key, size_t klen);
int msg_check_value(const void *val, size_t vlen);
/* Bytes a message with these attributes takes (see msg_put_*). */
size_t msg_size(const char *table, size_t klen, size_t vlen, size_t extra);
size_t msg_value_size(size_t vlen);
struct nlmsghdr *msg_start(void *buf, uint8_t cmd, uint32_t seq);
void msg_put_table(struct nlmsghdr *nlh, const char *table);
void msg_put_key(struct nlmsghdr *nlh, const void *key, size_t klen);
void msg_put_value(struct nlmsghdr *nlh, const void *val, size_t vlen);

/* The parsed top-level attributes of one response. */
struct msg_attrs {
	const struct nlmsghdr *nlh;	/* the whole response */
	int status;
	const struct nlattr *tb[TDB_A_MAX + 1];
	/* TDB_A_VALUE may come in chunks (tdb/proto.h, Values). */
	const void *val;
	size_t vlen;
	const struct nlattr *val_first;	/* first chunk, for copying */
	unsigned int val_chunks;
	const char *message;		/* TDB_A_MESSAGE or NULL */
};

/* Parses a response to @cmd: 0 (msg_attrs.status holds the owner's) or -EPROTO. */
int msg_parse(const struct nlmsghdr *nlh, uint8_t cmd, struct msg_attrs *a);
/* Validates one attribute against the protocol's type for it. */
int msg_attr_valid(const struct nlattr *attr);
/* Copies the value (which may be in chunks) to @dst, at most @cap bytes. */
void msg_value_copy(const struct msg_attrs *a, void *dst, size_t cap);
/* An attribute's value (validated by msg_parse()); 0 when @attr is NULL. */
uint32_t msg_get_u32(const struct nlattr *attr);
uint64_t msg_get_u64(const struct nlattr *attr);

/* sync.c */
/*
 * Sends the message in db->tx_buf and waits for its response: 0 with
 * @a parsed (a->status is the owner's answer), or -errno.  The response
 * stays valid until the next call on @db.
 */
int sync_call(struct tdb *db, struct msg_attrs *a);
/* db->tx_buf with room for @size bytes, or NULL. */
void *sync_buf(struct tdb *db, size_t size);
/* The start of a synchronous request in db->tx_buf. */
struct nlmsghdr *sync_start(struct tdb *db, uint8_t cmd, size_t size);

/* batch.c */
struct tdb_batch *batch_find(struct tdb *db, uint16_t id);
int batch_complete(struct tdb_batch *b, const struct nlmsghdr *nlh);
void batch_detach_all(struct tdb *db);
/*
 * Queues the complete message @msg (its nlmsg_seq is set here) as one
 * operation of @b, for requests the batch API does not build itself
 * (load.c's LOAD).  A LOAD's completion carries the owner's RECORDS
 * figure in vlen.  0 or -errno, as the tdb_batch_* queueing calls.
 */
int batch_queue_msg(struct tdb_batch *b, const struct nlmsghdr *msg,
		    void *user);

/* scan.c */
void scan_detach_all(struct tdb *db);

#endif /* TDB_LIBTDB_INTERNAL_H */
