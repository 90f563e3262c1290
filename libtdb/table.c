// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * table.c - table calls: create, drop, info, list; and owner statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

TDB_EXPORT int tdb_create(struct tdb *db, const char *table,
			  const struct tdb_create_opts *opts)
{
	static const struct tdb_create_opts defaults = {
		.mode = 0600,
		.key_type = TDB_KEY_BYTES,
		.durability = TDB_DUR_ASYNC,
	};
	struct nlmsghdr *nlh;
	struct msg_attrs a;
	int err;

	err = msg_check_call(db, table);
	if (err)
		return err;
	if (!opts)
		opts = &defaults;
	if (opts->key_type > TDB_KEY_TYPE_MAX ||
	    opts->durability > TDB_DUR_MAX || opts->mode > 0777 ||
	    opts->schema_len > TDB_SCHEMA_MAX ||
	    (opts->schema_len && !opts->schema))
		return -EINVAL;
	nlh = sync_start(db, TDB_CMD_TABLE_CREATE,
			 msg_size(table, 0, (size_t)-1,
				  5 * (MNL_ATTR_HDRLEN + 8) +
					  MNL_ALIGN(opts->schema_len)));
	if (!nlh)
		return -ENOMEM;
	msg_put_table(nlh, table);
	mnl_attr_put_u64(nlh, TDB_A_QUOTA, opts->quota);
	mnl_attr_put_u32(nlh, TDB_A_MODE, opts->mode ? opts->mode : 0600);
	mnl_attr_put_u32(nlh, TDB_A_KEY_TYPE, opts->key_type);
	mnl_attr_put_u32(nlh, TDB_A_DURABILITY, opts->durability);
	if (opts->schema_len)
		mnl_attr_put(nlh, TDB_A_SCHEMA, opts->schema_len,
			     opts->schema);
	err = sync_call(db, &a);
	return err ? err : a.status;
}

/*
 * Sends a request that names only @table, or nothing when @table is NULL,
 * and waits for it: 0 with the response in @a, or -errno (the owner's
 * status included).
 */
static int table_call(struct tdb *db, uint8_t cmd, const char *table,
		      struct msg_attrs *a)
{
	struct nlmsghdr *nlh;
	int err;

	err = table ? msg_check_call(db, table) : conn_usable(db);
	if (err)
		return err;
	nlh = sync_start(db, cmd, msg_size(table, 0, (size_t)-1, 0));
	if (!nlh)
		return -ENOMEM;
	if (table)
		msg_put_table(nlh, table);
	err = sync_call(db, a);
	return err ? err : a->status;
}

TDB_EXPORT int tdb_drop(struct tdb *db, const char *table)
{
	struct msg_attrs a;

	return table_call(db, TDB_CMD_TABLE_DROP, table, &a);
}

/*
 * Fills @info from TABLE_INFO attributes @tb (already validated).  Every
 * figure must be there; the name only when @name is NULL.
 */
static int fill_info(const struct nlattr *const *tb, const char *name,
		     struct tdb_table_info *info)
{
	static const int need[] = {
		TDB_A_RECORDS, TDB_A_MEM_BYTES, TDB_A_QUOTA, TDB_A_UID,
		TDB_A_GID, TDB_A_MODE, TDB_A_KEY_TYPE, TDB_A_DURABILITY,
	};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!tb[need[i]])
			return -EPROTO;
	if (!name) {
		if (!tb[TDB_A_TABLE])
			return -EPROTO;
		name = mnl_attr_get_str(tb[TDB_A_TABLE]);
	}
	memset(info, 0, sizeof(*info));
	if (strlen(name) >= sizeof(info->name))
		return -EPROTO;
	strcpy(info->name, name);
	info->records = msg_get_u64(tb[TDB_A_RECORDS]);
	info->mem_bytes = msg_get_u64(tb[TDB_A_MEM_BYTES]);
	info->quota = msg_get_u64(tb[TDB_A_QUOTA]);
	info->uid = msg_get_u32(tb[TDB_A_UID]);
	info->gid = msg_get_u32(tb[TDB_A_GID]);
	info->mode = msg_get_u32(tb[TDB_A_MODE]);
	info->key_type = msg_get_u32(tb[TDB_A_KEY_TYPE]);
	info->durability = msg_get_u32(tb[TDB_A_DURABILITY]);
	/* Log figures: an owner without a log leaves them out. */
	info->log_lsn = msg_get_u64(tb[TDB_A_LOG_LSN]);
	info->checkpoint_time = msg_get_u64(tb[TDB_A_CKPT_TIME]);
	info->checkpoint_lsn = msg_get_u64(tb[TDB_A_CKPT_LSN]);
	return 0;
}

TDB_EXPORT int tdb_info(struct tdb *db, const char *table,
			struct tdb_table_info *info)
{
	struct msg_attrs a;
	int err;

	err = table_call(db, TDB_CMD_TABLE_INFO, table, &a);
	if (err)
		return err;
	err = fill_info(a.tb, table, info);
	return err ? conn_fail(db, err) : 0;
}

struct nest_attrs {
	const struct nlattr *tb[TDB_A_MAX + 1];
};

static int nest_cb(const struct nlattr *attr, void *data)
{
	struct nest_attrs *n = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (msg_attr_valid(attr))
		return MNL_CB_ERROR;
	if (type >= 1 && type <= TDB_A_MAX && !n->tb[type])
		n->tb[type] = attr;
	return MNL_CB_OK;
}

/*
 * Parses the attributes nested in @attr into @n: 0, or -EPROTO if one is
 * malformed or does not fill the container exactly.
 */
static int parse_nested(const struct nlattr *attr, struct nest_attrs *n)
{
	const uint8_t *p = mnl_attr_get_payload(attr);
	size_t len = mnl_attr_get_payload_len(attr);
	size_t off = 0;

	memset(n, 0, sizeof(*n));
	while (off < len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		if (len - off < MNL_ATTR_HDRLEN || a->nla_len < MNL_ATTR_HDRLEN ||
		    a->nla_len > len - off)
			return -EPROTO;
		if (nest_cb(a, n) != MNL_CB_OK)
			return -EPROTO;
		off += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

TDB_EXPORT int tdb_tables(struct tdb *db, struct tdb_table_info **list)
{
	const struct nlattr *attr;
	struct tdb_table_info *arr = NULL;
	struct msg_attrs a;
	size_t n = 0, cap = 0;
	int err;

	*list = NULL;
	err = table_call(db, TDB_CMD_TABLE_LIST, NULL, &a);
	if (err)
		return err;

	/* The response is still in the RX buffer: walk every entry. */
	/* msg_parse() validated every attribute's length. */
	mnl_attr_for_each(attr, a.nlh, sizeof(struct tdb_genlhdr)) {
		struct nest_attrs ne;

		if (mnl_attr_get_type(attr) != TDB_A_TABLE_ENTRY)
			continue;
		err = parse_nested(attr, &ne);
		if (err)
			goto bad;
		if (n == cap) {
			struct tdb_table_info *na;

			cap = cap ? cap * 2 : 16;
			na = realloc(arr, cap * sizeof(*arr));
			if (!na) {
				free(arr);
				return -ENOMEM;
			}
			arr = na;
		}
		err = fill_info(ne.tb, NULL, &arr[n]);
		if (err)
			goto bad;
		n++;
	}
	if (n > INT32_MAX)
		goto bad;
	if (!arr) {
		/* A valid, empty list: callers may still free() it. */
		arr = malloc(sizeof(*arr));
		if (!arr)
			return -ENOMEM;
	}
	*list = arr;
	return (int)n;
bad:
	free(arr);
	return conn_fail(db, -EPROTO);
}

TDB_EXPORT int tdb_stats(struct tdb *db, struct tdb_stats *st)
{
	struct msg_attrs a;
	int err;

	err = table_call(db, TDB_CMD_STATS, NULL, &a);
	if (err)
		return err;
	if (!a.tb[TDB_A_REQUESTS] || !a.tb[TDB_A_MEM_BYTES] ||
	    !a.tb[TDB_A_TABLES] || !a.tb[TDB_A_CONNECTIONS])
		return conn_fail(db, -EPROTO);
	memset(st, 0, sizeof(*st));
	st->requests = msg_get_u64(a.tb[TDB_A_REQUESTS]);
	st->mem_bytes = msg_get_u64(a.tb[TDB_A_MEM_BYTES]);
	st->tables = msg_get_u32(a.tb[TDB_A_TABLES]);
	st->connections = msg_get_u32(a.tb[TDB_A_CONNECTIONS]);
	st->log_bytes = msg_get_u64(a.tb[TDB_A_LOG_BYTES]);
	st->log_durable_lsn = msg_get_u64(a.tb[TDB_A_LOG_LSN]);
	st->log_syncs = msg_get_u64(a.tb[TDB_A_LOG_SYNCS]);
	st->log_writes = msg_get_u64(a.tb[TDB_A_LOG_WRITES]);
	st->log_sync_rate = msg_get_u32(a.tb[TDB_A_LOG_SYNC_RATE]);
	st->log_write_rate = msg_get_u32(a.tb[TDB_A_LOG_WRITE_RATE]);
	st->log_error = (int32_t)msg_get_u32(a.tb[TDB_A_LOG_ERROR]);
	st->checkpoint_time = msg_get_u64(a.tb[TDB_A_CKPT_TIME]);
	st->checkpoint_lsn = msg_get_u64(a.tb[TDB_A_CKPT_LSN]);
	return 0;
}

TDB_EXPORT int tdb_table_schema(struct tdb *db, const char *table,
				char **schema, size_t *len)
{
	const struct nlattr *sa;
	struct msg_attrs a;
	size_t n;
	int err;

	*schema = NULL;
	*len = 0;
	err = table_call(db, TDB_CMD_TABLE_INFO, table, &a);
	if (err)
		return err;
	sa = a.tb[TDB_A_SCHEMA];
	if (!sa)
		return 0;
	n = mnl_attr_get_payload_len(sa);
	if (n > TDB_SCHEMA_MAX)
		return conn_fail(db, -EPROTO);
	*schema = malloc(n + 1);
	if (!*schema)
		return -ENOMEM;
	memcpy(*schema, mnl_attr_get_payload(sa), n);
	(*schema)[n] = 0;
	*len = n;
	return 0;
}
