// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * dev.c - /dev/tdb and the connections made through it.
 *
 * A client asks for the ring geometry (TDB_IOC_GEOMETRY), maps a private
 * anonymous region of that size, makes two eventfds and connects
 * (TDB_IOC_CONNECT): the module pins the region's pages (as AF_XDP pins
 * its UMEM) and maps them into the kernel, writes the control page, keeps
 * references to both eventfds and hooks a wait-queue entry on the TX one,
 * as KVM's irqfd does.  The entry sees every write to the eventfd (a
 * kick) and its release (EPOLLHUP: the last descriptor closed, so the
 * client is gone) and only sets a flag and wakes the worker: it runs
 * under the eventfd's spinlock.
 *
 * Decision: the region is the client's memory, not the device's.  A
 * mapping of device memory would hold the device file and so the module
 * for as long as the client lives, and rmmod must work with clients
 * connected.  Pinned pages cannot go away under the owner's mapping
 * whatever the client does (munmap, fork, exit), and nothing the client
 * holds runs module code.  The device file itself is only needed for the
 * two ioctls; libtdb closes it at once.
 *
 * Limits.  Each connection pins TDB_REGION_SIZE() bytes (2 MiB with the
 * default geometry), counted in the owner's conn_bytes with its buffers;
 * all of them together stay under conn_mem_mib.  A uid other than root
 * holds at most max_conns connections (tdbd's --max-conns).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kmod.h"

static DEFINE_SPINLOCK(dev_lock);	/* protects uid_counts */

/* Connections per uid, for max_conns. */
struct uid_count {
	struct hlist_node node;
	u32 uid;
	unsigned int n;
};

static DEFINE_HASHTABLE(uid_counts, 6);

/* Counts a connection of @uid: 0, or -EUSERS at the limit. */
static int uid_take(u32 uid, struct uid_count *spare)
{
	struct uid_count *u;
	int err = 0;

	spin_lock(&dev_lock);
	hash_for_each_possible(uid_counts, u, node, uid)
		if (u->uid == uid)
			break;
	if (!u) {
		u = spare;
		u->uid = uid;
		u->n = 0;
		hash_add(uid_counts, &u->node, uid);
		spare = NULL;
	}
	if (uid && tdb_max_conns && u->n >= tdb_max_conns)
		err = -EUSERS;
	else
		u->n++;
	spin_unlock(&dev_lock);
	kfree(spare);
	return err;
}

static void uid_drop(u32 uid)
{
	struct uid_count *u;

	spin_lock(&dev_lock);
	hash_for_each_possible(uid_counts, u, node, uid) {
		if (u->uid != uid)
			continue;
		if (!--u->n) {
			hash_del(&u->node);
			kfree(u);
		}
		break;
	}
	spin_unlock(&dev_lock);
}

static size_t dev_region_size(void)
{
	return TDB_REGION_SIZE(tdb_frame_size, tdb_frame_count);
}

void kconn_wake_client(struct tdb_conn *tc)
{
	struct kconn *kc = container_of(tc, struct kconn, tc);

	/* Never blocks: a full counter saturates. */
	eventfd_signal(kc->rx, 1);
}

/* The TX eventfd's wait-queue callback, under its spinlock. */
static int kconn_tx_wake(wait_queue_entry_t *wait, unsigned int mode,
			 int sync, void *key)
{
	struct kconn *kc = container_of(wait, struct kconn, tx_wait);
	__poll_t flags = key_to_poll(key);

	if (flags & EPOLLHUP)
		WRITE_ONCE(kc->hup, true);
	if (flags & (EPOLLIN | EPOLLHUP))
		tdb_worker_kick(kc->w);
	return 0;
}

static void kconn_tx_queue(struct file *file, wait_queue_head_t *wqh,
			   poll_table *pt)
{
	struct kconn *kc = container_of(pt, struct kconn, tx_pt);

	kc->tx_wqh = wqh;
	add_wait_queue(wqh, &kc->tx_wait);
}

/* Takes the client's eventfds and watches the TX one.  0 or -errno. */
static int kconn_eventfds(struct kconn *kc, int tx_fd, int rx_fd)
{
	struct fd f;
	int err = 0;

	kc->rx = eventfd_ctx_fdget(rx_fd);
	if (IS_ERR(kc->rx)) {
		err = PTR_ERR(kc->rx);
		kc->rx = NULL;
		return err;
	}
	f = fdget(tx_fd);
	if (!f.file)
		return -EBADF;
	kc->tx = eventfd_ctx_fileget(f.file);
	if (IS_ERR(kc->tx)) {
		err = PTR_ERR(kc->tx);
		kc->tx = NULL;
		goto out;
	}
	if (kc->tx == kc->rx) {
		err = -EINVAL;
		goto out;
	}
	init_waitqueue_func_entry(&kc->tx_wait, kconn_tx_wake);
	init_poll_funcptr(&kc->tx_pt, kconn_tx_queue);
	vfs_poll(f.file, &kc->tx_pt);
	if (!kc->tx_wqh)
		err = -EINVAL;
out:
	fdput(f);
	return err;
}

/* Pins the client's region and maps it.  0 or -errno. */
static int kconn_region(struct kconn *kc, u64 addr)
{
	int err = -EFAULT;
	unsigned long i;
	long n;

	kc->region_size = dev_region_size();
	kc->npages = kc->region_size >> PAGE_SHIFT;
	if (!PAGE_ALIGNED(addr) || !PAGE_ALIGNED(kc->region_size))
		return -EINVAL;
	kc->pages = kvcalloc(kc->npages, sizeof(*kc->pages), GFP_KERNEL);
	if (!kc->pages)
		return -ENOMEM;
	n = pin_user_pages_fast(addr, kc->npages, FOLL_WRITE | FOLL_LONGTERM,
				kc->pages);
	if (n != kc->npages)
		goto unpin;
	/*
	 * Anonymous memory only: the module writes through its own mapping,
	 * which file systems would not see dirtying their page cache.
	 */
	err = -EINVAL;
	for (i = 0; i < kc->npages; i++)
		if (!PageAnon(kc->pages[i]))
			goto unpin;
	err = -ENOMEM;
	kc->region = vmap(kc->pages, kc->npages, VM_MAP, PAGE_KERNEL);
	if (!kc->region)
		goto unpin;
	return 0;
unpin:
	if (n > 0)
		unpin_user_pages(kc->pages, n);
	kvfree(kc->pages);
	kc->pages = NULL;
	return n < 0 ? n : err;
}

static void kconn_free(struct kconn *kc)
{
	if (kc->tx_wqh) {
		u64 cnt;

		eventfd_ctx_remove_wait_queue(kc->tx, &kc->tx_wait, &cnt);
	}
	if (kc->tx)
		eventfd_ctx_put(kc->tx);
	if (kc->rx)
		eventfd_ctx_put(kc->rx);
	if (kc->region) {
		vunmap(kc->region);
		unpin_user_pages_dirty_lock(kc->pages, kc->npages, true);
		kvfree(kc->pages);
	}
	if (kc->uid_counted)
		uid_drop(kc->uid);
	kfree(kc);
}

void kconn_destroy(struct kconn *kc, u32 gone)
{
	if (gone) {
		WRITE_ONCE(kc->tc.ctl->owner_gone, gone);
		smp_mb();
		eventfd_signal(kc->rx, 1);
	}
	tdb_conn_fini(&kc->tc);
	kconn_free(kc);
}

static const struct tdb_conn_ops kconn_ops = {
	.wake_client = kconn_wake_client,
	.log_want = tdb_kmod_log_want,
	.log_appended = tdb_kmod_log_appended,
};

static int dev_hello(struct tdb_dev_connect *dc)
{
	if (dc->magic != TDB_HELLO_MAGIC || dc->version != TDB_PROTO_VERSION)
		return -EPROTO;
	dc->frame_size = tdb_frame_size;
	dc->frame_count = tdb_frame_count;
	dc->region_size = dev_region_size();
	return 0;
}

/*
 * The credentials are the opener's (file->f_cred), as a socket's peer
 * credentials are its connector's: a descriptor passed to another
 * process keeps them.
 */
static int dev_connect(struct file *file, struct tdb_dev_connect *dc)
{
	const struct tdb_cred cred = {
		.uid = from_kuid_munged(&init_user_ns, file->f_cred->euid),
		.gid = from_kgid_munged(&init_user_ns, file->f_cred->egid),
	};
	struct uid_count *spare;
	struct kconn *kc;
	int err;

	err = dev_hello(dc);
	if (err)
		return err;
	/* Racy by a connection or two: a bound, not an account. */
	if (port_atomic_read(&tdb_owner.conn_bytes) + dc->region_size >
	    tdb_owner.conn_bytes_max) {
		pr_warn_ratelimited("uid %u: connections hold %u MiB already (conn_mem_mib)\n",
				    cred.uid, tdb_conn_mem_mib);
		return -ENOMEM;
	}
	spare = kzalloc(sizeof(*spare), GFP_KERNEL);
	kc = kzalloc(sizeof(*kc), GFP_KERNEL);
	if (!spare || !kc) {
		kfree(spare);
		kfree(kc);
		return -ENOMEM;
	}
	err = uid_take(cred.uid, spare);
	if (err) {
		kfree(kc);
		return err;
	}
	/* Its own copy: kc->tc is not set up until later. */
	kc->uid = cred.uid;
	kc->uid_counted = true;
	/* Before the TX eventfd's callback can run: it kicks kc->w. */
	kc->w = tdb_workers_pick();
	err = kconn_region(kc, dc->region);
	if (err)
		goto free;
	err = kconn_eventfds(kc, dc->tx_efd, dc->rx_efd);
	if (err)
		goto free;
	err = tdb_conn_init(&kc->tc, &tdb_owner, &kconn_ops,
			    task_tgid_nr(current), &cred,
			    sizeof(*kc) + kc->region_size +
				    kc->npages * sizeof(*kc->pages));
	if (err)
		goto free;
	tdb_conn_set_region(&kc->tc, kc->region, tdb_frame_size,
			    tdb_frame_count);
	dc->conn_id = kc->tc.id;
	tdb_conn_log(&kc->tc, PORT_LOG_DEBUG, "connected");
	/* From here on the worker owns it, and may already run it. */
	tdb_workers_add(kc);
	return 0;
free:
	kconn_free(kc);
	return err;
}

static long dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tdb_dev_connect dc;
	void __user *uarg = (void __user *)arg;
	int err;

	if (cmd != TDB_IOC_GEOMETRY && cmd != TDB_IOC_CONNECT)
		return -ENOTTY;
	if (copy_from_user(&dc, uarg, sizeof(dc)))
		return -EFAULT;
	if (cmd == TDB_IOC_GEOMETRY) {
		err = dev_hello(&dc);
	} else {
		err = dev_connect(file, &dc);
		/*
		 * A connection made cannot be taken back: should the copy
		 * fail, the client never learns of it and its eventfd's end
		 * ends it.
		 */
	}
	if (err)
		return err;
	return copy_to_user(uarg, &dc, sizeof(dc)) ? -EFAULT : 0;
}

static const struct file_operations dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice dev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tdb",
	.fops = &dev_fops,
	/* Anyone may connect: access control is per table. */
	.mode = 0666,
};

int tdb_dev_init(void)
{
	return misc_register(&dev_misc);
}

/*
 * No ioctl runs by now: an open device file holds the module, so rmmod
 * fails (EBUSY) while any process has one open.
 */
void tdb_dev_fini(void)
{
	misc_deregister(&dev_misc);
}
