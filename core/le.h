/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * le.h - little-endian integers at any address, for the on-disk formats
 * (the log, checkpoints).  Byte by byte, so that they neither depend on
 * the host's byte order nor need aligned pointers; compilers turn each
 * into one load or store on hosts where that is allowed.
 *
 * Only .c files include this header (names as short as these would clash
 * in a test that brings its own).
 */
#ifndef TDB_CORE_LE_H
#define TDB_CORE_LE_H

#include "port.h"

static inline void put_le16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void put_le32(u8 *p, u32 v)
{
	put_le16(p, (u16)v);
	put_le16(p + 2, (u16)(v >> 16));
}

static inline void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

static inline u16 get_le16(const u8 *p)
{
	return (u16)(p[0] | (p[1] << 8));
}

static inline u32 get_le32(const u8 *p)
{
	return (u32)get_le16(p) | ((u32)get_le16(p + 2) << 16);
}

static inline u64 get_le64(const u8 *p)
{
	return (u64)get_le32(p) | ((u64)get_le32(p + 4) << 32);
}

#endif /* TDB_CORE_LE_H */
