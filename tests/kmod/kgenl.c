// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kgenl.c - asks tdb.ko's generic netlink family (tdb/proto.h) for its
 * statistics or a checkpoint, for the guest's tests.
 *
 *   kgenl stats        prints "tables N connections N requests N"
 *   kgenl checkpoint   prints "checkpoint lsn N"
 *
 * Exit status 0, or 1 with the error on stderr (the reply's TDB_A_STATUS
 * or the netlink error, e.g. EPERM for an unprivileged checkpoint).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include <tdb/proto.h>

struct reply {
	int status;
	uint16_t family;
	uint64_t vals[TDB_A_MAX + 1];
	bool have[TDB_A_MAX + 1];
};

static int family_attr(const struct nlattr *a, void *data)
{
	struct reply *r = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		r->family = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr,
			      data);
}

static int tdb_attr(const struct nlattr *a, void *data)
{
	struct reply *r = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t > TDB_A_MAX)
		return MNL_CB_OK;
	switch (mnl_attr_get_payload_len(a)) {
	case 4:
		r->vals[t] = mnl_attr_get_u32(a);
		break;
	case 8:
		r->vals[t] = mnl_attr_get_u64(a);
		break;
	default:
		return MNL_CB_OK;
	}
	r->have[t] = true;
	if (t == TDB_A_STATUS)
		r->status = (int32_t)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int tdb_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tdb_attr, data);
}

/* Sends one request and runs @cb on the reply.  0 or -errno. */
static int call(struct mnl_socket *nl, uint16_t type, uint8_t cmd,
		const char *family_name, mnl_cb_t cb, struct reply *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	unsigned int seq = (unsigned int)time(NULL);
	unsigned int port = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : TDB_GENL_VERSION;
	if (family_name)
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family_name);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, port, cb, r);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct reply r = { 0 };
	struct mnl_socket *nl;
	uint8_t cmd;
	int err;

	if (argc != 2 || (strcmp(argv[1], "stats") &&
			  strcmp(argv[1], "checkpoint"))) {
		fprintf(stderr, "usage: kgenl stats|checkpoint\n");
		return 2;
	}
	cmd = strcmp(argv[1], "stats") ? TDB_GENL_CMD_CHECKPOINT :
					 TDB_GENL_CMD_STATS;
	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("kgenl: netlink socket");
		return 1;
	}
	err = call(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, TDB_GENL_NAME,
		   family_cb, &r);
	if (err || !r.family) {
		fprintf(stderr, "kgenl: no generic netlink family '%s': %s\n",
			TDB_GENL_NAME, strerror(err ? -err : ENOENT));
		return 1;
	}
	err = call(nl, r.family, cmd, NULL, tdb_cb, &r);
	mnl_socket_close(nl);
	if (!err && !r.have[TDB_A_STATUS])
		err = -EPROTO;
	if (!err)
		err = r.status;
	if (err) {
		fprintf(stderr, "kgenl: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	if (cmd == TDB_GENL_CMD_STATS)
		printf("tables %llu connections %llu requests %llu\n",
		       (unsigned long long)r.vals[TDB_A_TABLES],
		       (unsigned long long)r.vals[TDB_A_CONNECTIONS],
		       (unsigned long long)r.vals[TDB_A_REQUESTS]);
	else
		printf("checkpoint lsn %llu\n",
		       (unsigned long long)r.vals[TDB_A_CKPT_LSN]);
	return 0;
}
