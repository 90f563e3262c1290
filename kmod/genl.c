// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * genl.c - the generic netlink family "tdb" (tdb/proto.h): control
 * messages that need no connection.
 *
 * STATS runs a TDB_CMD_STATS request through the executor, as a client's
 * would, and copies the response's attributes into the reply: one
 * implementation of the statistics, whichever way they are asked for.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <net/genetlink.h>

#include "kmod.h"
#include "exec_int.h"

/* A STATS response is well under this. */
#define GENL_STATS_MAX 4096

struct genl_sink {
	struct tdb_out out;
	u8 buf[GENL_STATS_MAX];
	size_t len;
};

static void *genl_sink_reserve(struct tdb_out *out, size_t len)
{
	struct genl_sink *s = container_of(out, struct genl_sink, out);

	return s->len + len <= sizeof(s->buf) ? s->buf + s->len : NULL;
}

static void genl_sink_commit(struct tdb_out *out, size_t len, u64 lsn)
{
	struct genl_sink *s = container_of(out, struct genl_sink, out);

	s->len += len;
}

static bool genl_sink_busy(struct tdb_out *out)
{
	return false;
}

static struct genl_family tdb_genl_family;

/* A reply of @cmd holding @len bytes of attributes from @attrs. */
static int genl_reply_attrs(struct genl_info *info, u8 cmd, const void *attrs,
			    size_t len)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(len, GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put_reply(skb, info, &tdb_genl_family, 0, cmd);
	if (!hdr) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	skb_put_data(skb, attrs, len);
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
}

static int genl_stats(struct sk_buff *req, struct genl_info *info)
{
	struct {
		struct nlmsghdr nlh;
		struct tdb_genlhdr g;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = TDB_MSG_TYPE,
			.nlmsg_seq = info->snd_seq,
		},
		.g = { .cmd = TDB_CMD_STATS, .version = TDB_PROTO_VERSION },
	};
	const struct tdb_cred cred = {
		.uid = from_kuid_munged(&init_user_ns, current_euid()),
		.gid = from_kgid_munged(&init_user_ns, current_egid()),
	};
	struct tdb_session sess;
	struct genl_sink *s;
	const struct nlmsghdr *rsp;
	int ret;

	BUILD_BUG_ON(sizeof(msg) != TDB_MSG_HDRLEN);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->out.reserve = genl_sink_reserve;
	s->out.commit = genl_sink_commit;
	s->out.busy = genl_sink_busy;
	tdb_session_init(&sess, &cred);
	ret = tdb_exec_batch(&tdb_owner, &sess, &msg, sizeof(msg), &s->out);
	tdb_session_end(&tdb_owner, &sess);
	rsp = (const struct nlmsghdr *)s->buf;
	if (ret < 0 || s->len < TDB_MSG_HDRLEN || rsp->nlmsg_len > s->len) {
		ret = ret < 0 ? ret : -EIO;
		goto out;
	}
	ret = genl_reply_attrs(info, TDB_GENL_CMD_STATS,
			       s->buf + TDB_MSG_HDRLEN,
			       rsp->nlmsg_len - TDB_MSG_HDRLEN);
out:
	kfree(s);
	return ret;
}

static int genl_checkpoint(struct sk_buff *req, struct genl_info *info)
{
	struct {
		struct nlattr status_hdr;
		s32 status;
		struct nlattr lsn_hdr;
		u32 lsn[2];	/* u64, 4-byte aligned as netlink puts it */
	} a = {
		.status_hdr = { .nla_len = NLA_HDRLEN + 4,
				.nla_type = TDB_A_STATUS },
		.lsn_hdr = { .nla_len = NLA_HDRLEN + 8,
			     .nla_type = TDB_A_CKPT_LSN },
	};
	u64 lsn = 0;

	a.status = tdb_kmod_checkpoint(&lsn);
	memcpy(a.lsn, &lsn, sizeof(lsn));
	return genl_reply_attrs(info, TDB_GENL_CMD_CHECKPOINT, &a,
				a.status ? NLA_ALIGN(a.status_hdr.nla_len) :
					   sizeof(a));
}

static const struct genl_small_ops tdb_genl_ops[] = {
	{
		.cmd = TDB_GENL_CMD_STATS,
		.validate = GENL_DONT_VALIDATE_STRICT | GENL_DONT_VALIDATE_DUMP,
		.doit = genl_stats,
	},
	{
		.cmd = TDB_GENL_CMD_CHECKPOINT,
		.validate = GENL_DONT_VALIDATE_STRICT | GENL_DONT_VALIDATE_DUMP,
		.doit = genl_checkpoint,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family tdb_genl_family __ro_after_init = {
	.name = TDB_GENL_NAME,
	.version = TDB_GENL_VERSION,
	.maxattr = 0,
	/* A checkpoint takes seconds: not under genl's global mutex. */
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = tdb_genl_ops,
	.n_small_ops = ARRAY_SIZE(tdb_genl_ops),
	.resv_start_op = __TDB_GENL_CMD_MAX,
};

int tdb_genl_init(void)
{
	return genl_register_family(&tdb_genl_family);
}

void tdb_genl_fini(void)
{
	genl_unregister_family(&tdb_genl_family);
}
