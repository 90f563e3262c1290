/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tdb/proto.h - the wire protocol between a tdb owner (tdbd or tdb.ko) and
 * its clients (libtdb): the shared ring region, frames, messages, commands
 * and attributes.  Shared by kmod, tdbd, core and libtdb; it includes
 * only <linux/types.h> so that every one of them can.
 *
 * Connection.  A client connects to the owner's AF_UNIX SOCK_SEQPACKET
 * socket and sends a struct tdb_hello.  The owner answers with a struct
 * tdb_welcome and, as SCM_RIGHTS ancillary data, three descriptors: the
 * ring region (a memfd, to mmap shared, TDB_REGION_SIZE bytes), an eventfd
 * the client writes to wake the owner, and an eventfd the owner writes to
 * wake the client.  A version mismatch is answered with a welcome whose
 * status is -EPROTO and no descriptors.  Closing the socket ends the
 * connection.
 *
 * tdb.ko.  The kernel owner has no socket: a client opens TDB_DEVICE and
 * asks with TDB_IOC_GEOMETRY for the ring geometry, maps a private
 * anonymous region of that size itself, creates the two eventfds, and
 * hands all three over with TDB_IOC_CONNECT; it may then close the
 * device.  The module pins the region's pages for the connection's
 * lifetime and watches the TX eventfd: the connection ends when the last
 * descriptor of that eventfd closes (the process died or closed it).
 * Nothing a client holds refers to the module's code, so rmmod works with
 * clients connected: the module then sets owner_gone in each region,
 * signals the RX eventfd and lets go (and so when it closes one
 * connection for cause).  (Mapping memory of the device, as
 * with a memfd from tdbd, would pin the module for as long as any client
 * kept the mapping.)
 *
 * Region.  One control page (struct tdb_ring_ctl), then the TX ring (client
 * to owner), then the RX ring (owner to client), each of frame_count frames
 * of frame_size bytes.  The owner keeps the geometry it created privately
 * and never trusts the copy in the region.
 *
 * Frames.  Each frame starts with a struct tdb_frame_hdr whose status
 * follows netlink mmap (Linux <= 4.5, NL_MMAP_STATUS_*):
 *
 *   UNUSED    free for the producer of that ring.
 *   RESERVED  claimed by the producer, being filled.
 *   VALID     holds the last (or only) part of a batch: the consumer reads
 *             len once, copies the payload out and sets UNUSED.
 *   COPY      holds a part of a batch that is too large for one frame; the
 *             rest follows in the next frames of the same ring, ending
 *             with a VALID frame.  The consumer copies and goes on.
 *   SKIP      abandoned by the producer: the consumer sets it UNUSED and
 *             moves on without reading it.
 *
 * Each side walks each ring with a private cursor; status words move with
 * acquire/release ordering and nothing else in the region is shared.  The
 * producer stores the payload and len, then the status with release; the
 * consumer loads the status with acquire, then len and the payload.
 *
 * Wakeups.  A consumer about to sleep sets its need-wakeup word in the
 * control page, re-checks its ring, and only then waits on its eventfd; a
 * producer writes to the eventfd only when the word is set (as AF_XDP's
 * XDP_RING_NEED_WAKEUP and io_uring's IORING_SQ_NEED_WAKEUP).  Busy peers
 * exchange frames without system calls.  The sleeper alone sets and
 * clears its word (it clears it once awake); the producer only reads it,
 * after a full barrier between publishing a frame and the read.  An owner
 * whose RX ring is full also sleeps with owner_need_wakeup set: a client
 * that sets RX frames UNUSED should write the TX eventfd when it finds the
 * word set (an owner polls such a ring every millisecond or so anyway).
 *
 * Owner output.  The owner packs whole response messages into RX frames;
 * a response larger than a frame's payload goes out as COPY frames ending
 * with a VALID one.  Every VALID frame ends on a message boundary.
 *
 * Messages.  A batch is a sequence of netlink messages, each a struct
 * nlmsghdr (type TDB_MSG_TYPE, seq chosen by the client), a struct
 * tdb_genlhdr (command, version) and attributes (struct nlattr, 4-byte
 * aligned), exactly as generic netlink lays them out.  The owner answers
 * every request with one response message of the same command and
 * sequence number, whose first attribute is TDB_A_STATUS (0 or -errno).
 * A batch is at most TDB_BATCH_MAX bytes.
 *
 * Values.  An attribute's length (nla_len) is 16 bits, so a value travels
 * as one or more TDB_A_VALUE attributes in a row, each at most
 * TDB_VALUE_CHUNK bytes, whose payloads concatenated are the value (an
 * empty value is one empty attribute).  For the same reason a SCAN record
 * whose nest would pass 65535 bytes continues in the TDB_A_RECORD nests
 * right after it, which hold further VALUE chunks and no KEY.
 */
#ifndef TDB_PROTO_H
#define TDB_PROTO_H

/*
 * The kernel's UAPI types in both worlds: typedefs of our own would clash
 * with <linux/types.h>, which <linux/netlink.h> and libmnl pull in.
 */
#include <linux/types.h>
#include <linux/ioctl.h>

#define TDB_PROTO_VERSION 1
#define TDB_HELLO_MAGIC 0x74646231U	/* "tdb1" */

/* Where tdbd listens when neither --socket nor TDB_SOCKET says otherwise. */
#define TDB_DEFAULT_SOCKET "/run/tdb/tdbd.sock"

/* Limits that every side enforces. */
#define TDB_KEY_MAX 1024U		/* key bytes; keys are 1..TDB_KEY_MAX */
#define TDB_VAL_MAX (1U << 20)		/* value bytes */
#define TDB_NAME_MAX 64U		/* table name bytes, NUL included */
#define TDB_SCAN_MAX_RECORDS 4096U	/* records in one SCAN response */
#define TDB_SCAN_MAX_BYTES (256U << 10)	/* its bytes, past one record */

/* Ring geometry: the owner's choice, within these bounds. */
#define TDB_FRAME_SIZE_MIN 4096U
#define TDB_FRAME_SIZE_MAX (1U << 20)
#define TDB_FRAME_COUNT_MIN 2U
#define TDB_FRAME_COUNT_MAX 4096U
#define TDB_CTL_SIZE 4096U

/* The largest batch (and so the largest message) either side accepts. */
#define TDB_BATCH_MAX (2U << 20)

/* The most value bytes one TDB_A_VALUE attribute carries (see Values). */
#define TDB_VALUE_CHUNK 65528U

struct tdb_hello {
	__u32 magic;		/* TDB_HELLO_MAGIC */
	__u32 version;		/* TDB_PROTO_VERSION */
	__u32 flags;		/* none yet: 0 */
	__u32 reserved;
};

struct tdb_welcome {
	__u32 magic;
	__u32 version;		/* the owner's TDB_PROTO_VERSION */
	__s32 status;		/* 0, or -EPROTO on a version mismatch */
	__u32 frame_size;
	__u32 frame_count;
	__u32 region_size;
	__u64 conn_id;		/* for the owner's log lines */
};

enum tdb_frame_status {
	TDB_FRAME_UNUSED = 0,
	TDB_FRAME_RESERVED = 1,
	TDB_FRAME_VALID = 2,
	TDB_FRAME_COPY = 3,
	TDB_FRAME_SKIP = 4,
};

struct tdb_frame_hdr {
	__u32 status;		/* enum tdb_frame_status */
	__u32 len;		/* payload bytes after this header */
	__u32 reserved[2];
};

#define TDB_FRAME_HDR_SIZE 16U

/* Each need-wakeup word on a cache line of its own. */
struct tdb_ring_ctl {
	__u32 magic;
	__u32 version;
	__u32 frame_size;
	__u32 frame_count;
	__u32 tx_offset;	/* from the start of the region */
	__u32 rx_offset;
	/*
	 * Set by tdb.ko when it ends the connection, before it writes the
	 * RX eventfd: TDB_GONE_SHUTDOWN (the module unloads) or
	 * TDB_GONE_CLOSED (it closed this connection, for a reason it
	 * logged).  Nothing more is read or answered on it.
	 */
	__u32 owner_gone;
	__u32 pad0[9];
	__u32 owner_need_wakeup;	/* owner sleeps: write the TX eventfd */
	__u32 pad1[15];
	__u32 client_need_wakeup;	/* client sleeps: write the RX eventfd */
	__u32 pad2[15];
};

/* Values of owner_gone. */
#define TDB_GONE_SHUTDOWN 1U
#define TDB_GONE_CLOSED 2U

#define TDB_REGION_SIZE(frame_size, frame_count) \
	(TDB_CTL_SIZE + 2UL * (frame_size) * (frame_count))

/* tdb.ko's device and its ioctls (see "tdb.ko" above). */
#define TDB_DEVICE "/dev/tdb"

struct tdb_dev_connect {
	__u32 magic;		/* in: TDB_HELLO_MAGIC */
	__u32 version;		/* in: TDB_PROTO_VERSION */
	__u32 frame_size;	/* out: the owner's geometry */
	__u32 frame_count;
	__u64 region_size;	/* out: TDB_REGION_SIZE() of the above */
	__u64 region;		/* CONNECT in: the region's address */
	__s32 tx_efd;		/* CONNECT in: the client writes it */
	__s32 rx_efd;		/* CONNECT in: the owner writes it */
	__u64 conn_id;		/* CONNECT out: for the owner's log lines */
};

/* Fills the geometry; -EPROTO on a magic or version mismatch. */
#define TDB_IOC_GEOMETRY _IOWR('t', 1, struct tdb_dev_connect)
/*
 * Connects: region must be page aligned, region_size bytes long, private
 * anonymous memory mapped readable and writable (-EINVAL otherwise), and
 * the two descriptors distinct eventfds.  The connection's credentials
 * are the opener's of the device.  -EUSERS when that uid holds too many
 * connections already, -ENOMEM past the module's conn_mem_mib.
 */
#define TDB_IOC_CONNECT _IOWR('t', 2, struct tdb_dev_connect)

/*
 * tdb.ko's generic netlink family, for control messages outside any
 * connection.  Requests carry no attributes; replies use enum tdb_attr,
 * TDB_A_STATUS first.
 *
 *   STATS       the owner's statistics: the attributes of a
 *               TDB_CMD_STATS response.  Anyone may ask.
 *   CHECKPOINT  writes a checkpoint now and answers once it is durable
 *               (TDB_A_STATUS 0, TDB_A_CKPT_LSN), or with the error
 *               that stopped it.  Needs CAP_NET_ADMIN.
 */
#define TDB_GENL_NAME "tdb"
#define TDB_GENL_VERSION 1

enum tdb_genl_cmd {
	TDB_GENL_CMD_UNSPEC,
	TDB_GENL_CMD_STATS,
	TDB_GENL_CMD_CHECKPOINT,
	__TDB_GENL_CMD_MAX,
};

/* Message type of every tdb message (above NLMSG_MIN_TYPE). */
#define TDB_MSG_TYPE 0x20

/* struct genlmsghdr's layout. */
struct tdb_genlhdr {
	__u8 cmd;
	__u8 version;
	__u16 reserved;
};

enum tdb_cmd {
	TDB_CMD_UNSPEC,
	TDB_CMD_TABLE_CREATE,	/* TABLE [QUOTA MODE KEY_TYPE DURABILITY] */
	TDB_CMD_TABLE_DROP,	/* TABLE */
	TDB_CMD_TABLE_LIST,	/* -> TABLE_ENTRY* (nested TABLE_INFO attrs) */
	TDB_CMD_TABLE_INFO,	/* TABLE -> TABLE_INFO attrs */
	TDB_CMD_GET,		/* TABLE KEY -> VALUE */
	TDB_CMD_PUT,		/* TABLE KEY VALUE [FLAGS] */
	TDB_CMD_DEL,		/* TABLE KEY */
	TDB_CMD_SCAN,		/* TABLE [CURSOR] [MAX_RECORDS MAX_BYTES]
				 * -> RECORD* CURSOR [DONE] */
	TDB_CMD_STATS,		/* -> owner statistics */
	TDB_CMD_LOOKUP,		/* TABLE KEY(address) -> KEY(prefix) VALUE */
	TDB_CMD_LOAD_BEGIN,	/* TABLE [FLAGS RECORDS(expected)]
				 * -> TABLE(staging) */
	TDB_CMD_LOAD,		/* TABLE RECORD* -> [RECORDS] */
	TDB_CMD_LOAD_COMMIT,	/* TABLE(staging) -> RECORDS */
	TDB_CMD_LOAD_ABORT,	/* TABLE(staging) */
	__TDB_CMD_MAX,
};
#define TDB_CMD_MAX (__TDB_CMD_MAX - 1)

enum tdb_attr {
	TDB_A_UNSPEC,
	TDB_A_STATUS,		/* s32: 0 or -errno, first in every response */
	TDB_A_TABLE,		/* NUL-terminated name */
	TDB_A_KEY,		/* binary, 1..1024 bytes */
	TDB_A_VALUE,		/* binary, 0..1 MiB */
	TDB_A_FLAGS,		/* u32: TDB_PUT_* for PUT */
	TDB_A_CURSOR,		/* binary, opaque to clients: send back as is */
	TDB_A_MAX_RECORDS,	/* u32 */
	TDB_A_MAX_BYTES,	/* u32 */
	TDB_A_RECORD,		/* nested: KEY VALUE+ (or VALUE+: see Values) */
	TDB_A_DONE,		/* flag (no payload): the scan is complete */
	TDB_A_QUOTA,		/* u64 bytes, 0: none */
	TDB_A_MODE,		/* u32 permission bits */
	TDB_A_UID,		/* u32 */
	TDB_A_GID,		/* u32 */
	TDB_A_KEY_TYPE,		/* u32 enum tdb_key_type */
	TDB_A_DURABILITY,	/* u32 enum tdb_durability */
	TDB_A_RECORDS,		/* u64 */
	TDB_A_MEM_BYTES,	/* u64 */
	TDB_A_TABLE_ENTRY,	/* nested: TABLE and the TABLE_INFO attrs */
	TDB_A_CONNECTIONS,	/* u32: STATS */
	TDB_A_TABLES,		/* u32: STATS */
	TDB_A_REQUESTS,		/* u64: STATS, requests served */
	TDB_A_MESSAGE,		/* NUL-terminated: why a request failed */
	TDB_A_LOG_LSN,		/* u64: INFO: the table's last log position;
				 * STATS: the durable log position */
	TDB_A_CKPT_TIME,	/* u64: last checkpoint, seconds since epoch */
	TDB_A_CKPT_LSN,		/* u64: where recovery replays the log from */
	TDB_A_LOG_BYTES,	/* u64: STATS, log segment bytes on disk */
	TDB_A_LOG_SYNCS,	/* u64: STATS, fdatasyncs of the log */
	TDB_A_LOG_WRITES,	/* u64: STATS, writes made durable */
	TDB_A_LOG_SYNC_RATE,	/* u32: STATS, syncs in the last second */
	TDB_A_LOG_WRITE_RATE,	/* u32: STATS, writes synced in it */
	TDB_A_LOG_ERROR,	/* s32: STATS, the log's error, 0: none */
	TDB_A_SCHEMA,		/* binary: CREATE, INFO: the table's schema */
	__TDB_A_MAX,
};
#define TDB_A_MAX (__TDB_A_MAX - 1)

/* PUT flags. */
#define TDB_PUT_CREATE 0x1	/* fail with -EEXIST if the key exists */
#define TDB_PUT_REPLACE 0x2	/* fail with -ENOENT if it does not */

/* LOAD_BEGIN flags. */
#define TDB_LOAD_REPLACE 0x1	/* the load replaces the table's records */

/*
 * Key types.  The owner checks the length of fixed-size keys, and that a
 * prefix has no bits set past its length (10.1.0.0/8 is refused: send
 * 10.0.0.0/8).  Byte layouts (addresses in network order):
 *   u32, u64   4 or 8 bytes, little-endian (the numbers as the host has
 *              them on x86 and arm64)
 *   ipv4       4 bytes            ipv6   16 bytes
 *   cidr4      4 address bytes then the prefix length, 0..32 (5 bytes)
 *   cidr6      16 address bytes then the prefix length, 0..128 (17 bytes)
 *   mac        6 bytes
 * Tables keyed by cidr4 or cidr6 answer LOOKUP: the record whose prefix
 * is the longest that contains the address (4 or 16 bytes).
 */
enum tdb_key_type {
	TDB_KEY_BYTES,
	TDB_KEY_STR,
	TDB_KEY_U32,
	TDB_KEY_U64,
	TDB_KEY_IPV4,
	TDB_KEY_IPV6,
	TDB_KEY_CIDR4,
	TDB_KEY_CIDR6,
	TDB_KEY_MAC,
	TDB_KEY_TYPE_MAX = TDB_KEY_MAC
};

/* The most bytes of a table's schema (TDB_A_SCHEMA). */
#define TDB_SCHEMA_MAX 16384U

/* Zero is the default, async, so that zeroed options ask for no less. */
enum tdb_durability {
	TDB_DUR_ASYNC,		/* logged, on disk within the flush interval */
	TDB_DUR_SYNC,		/* answered once the log is on disk */
	TDB_DUR_MEMORY,		/* never written: gone after a restart */
	TDB_DUR_MAX = TDB_DUR_MEMORY
};

#endif /* TDB_PROTO_H */
