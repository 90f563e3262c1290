// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * keytype.c - key checks per key type.
 *
 * Decisions recorded here:
 *  - A prefix with host bits set is refused, not silently masked: the
 *    owner stores exactly the bytes it was given, so that a key read back
 *    equals the key written, and clients (libtdb's tdb_key_parse) normalise
 *    and tell their user.
 *  - str keys are not checked for NUL bytes or encoding: the type is a
 *    hint for clients that print keys.
 */
#include "keytype.h"

/* Fixed key lengths; 0 for any length. */
static const u8 tdb_keytype_len[TDB_KEY_TYPE_MAX + 1] = {
	[TDB_KEY_U32] = 4,	[TDB_KEY_U64] = 8,    [TDB_KEY_IPV4] = 4,
	[TDB_KEY_IPV6] = 16,	[TDB_KEY_CIDR4] = 5,  [TDB_KEY_CIDR6] = 17,
	[TDB_KEY_MAC] = 6,
};

static const char *const tdb_keytype_len_why[TDB_KEY_TYPE_MAX + 1] = {
	[TDB_KEY_U32] = "a u32 key is 4 bytes",
	[TDB_KEY_U64] = "a u64 key is 8 bytes",
	[TDB_KEY_IPV4] = "an ipv4 key is 4 bytes",
	[TDB_KEY_IPV6] = "an ipv6 key is 16 bytes",
	[TDB_KEY_CIDR4] = "a cidr4 key is 5 bytes: address and length",
	[TDB_KEY_CIDR6] = "a cidr6 key is 17 bytes: address and length",
	[TDB_KEY_MAC] = "a mac key is 6 bytes",
};

/* Whether the @alen address bytes of @key have no bit set past @plen. */
static bool tdb_prefix_clean(const u8 *key, u32 alen, u32 plen)
{
	u32 i = plen / 8;

	if (plen % 8 && (key[i++] & (0xffU >> (plen % 8))))
		return false;
	for (; i < alen; i++)
		if (key[i])
			return false;
	return true;
}

int tdb_keytype_check(u32 type, const u8 *key, u32 klen, const char **why)
{
	u32 alen;

	if (type > TDB_KEY_TYPE_MAX || !tdb_keytype_len[type])
		return 0;
	if (klen != tdb_keytype_len[type]) {
		*why = tdb_keytype_len_why[type];
		return -EINVAL;
	}
	if (!tdb_keytype_is_prefix(type))
		return 0;
	alen = tdb_keytype_addr_len(type);
	if (key[alen] > alen * 8) {
		*why = alen == 4 ? "prefix length over 32" :
				   "prefix length over 128";
		return -EINVAL;
	}
	if (!tdb_prefix_clean(key, alen, key[alen])) {
		*why = "prefix has bits set past its length";
		return -EINVAL;
	}
	return 0;
}
