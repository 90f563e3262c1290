/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * keytype.h - what each key type (enum tdb_key_type, tdb/proto.h) allows:
 * fixed lengths, and prefixes with no bits set past their length.  The
 * owner checks every key it stores against its table's type, so a prefix
 * table never holds two spellings of one prefix and its longest-prefix
 * index can trust the bytes.
 */
#ifndef TDB_CORE_KEYTYPE_H
#define TDB_CORE_KEYTYPE_H

#include "port.h"
#include "tdb/proto.h"

/*
 * 0 when @key (@klen bytes, 1..TDB_KEY_MAX) is a valid key of @type, else
 * -EINVAL with *@why saying what is wrong.  Types that take any bytes
 * (bytes, str) accept every key.
 */
int tdb_keytype_check(u32 type, const u8 *key, u32 klen, const char **why);

/* Whether @type keys are prefixes (cidr4, cidr6), with an LPM index. */
static inline bool tdb_keytype_is_prefix(u32 type)
{
	return type == TDB_KEY_CIDR4 || type == TDB_KEY_CIDR6;
}

/* Address bytes of a prefix type's addresses and keys: 4 or 16. */
static inline u32 tdb_keytype_addr_len(u32 type)
{
	return type == TDB_KEY_CIDR6 ? 16 : 4;
}

#endif /* TDB_CORE_KEYTYPE_H */
