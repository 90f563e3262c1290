// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * port_kernel.c - kernel implementations of the port primitives that are
 * not one-line wrappers: logging, error names, randomness, threads,
 * attribute parsing and files.
 * Each function mirrors its namesake in core/port_user.c (return values,
 * errno conventions); where the kernel forces a difference, its comment
 * says so.
 *
 * The file functions may sleep and run only where tdbd would call them:
 * the module's init and exit and its kthreads (log writer, checkpoint).
 * They resolve paths against the calling task's root and working
 * directory (a kthread's are the init task's), so data_dir is absolute,
 * and they act with the caller's credentials: files are created owned by
 * root, mode 0600 (a kthread's umask is 022).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "port.h"

#include <linux/fs.h>
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/mount.h>
#include <linux/dcache.h>
#include <linux/stat.h>
#include <linux/random.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/build_bug.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/sched/task.h>

static_assert(sizeof(struct port_hash_key) == sizeof(hsiphash_key_t));

void port_hash_key_init(struct port_hash_key *key)
{
	port_random_bytes(key, sizeof(*key));
}

/*
 * getrandom(2) without flags blocks until the pool is seeded, and so does
 * this.  A signal cuts the wait short (a kthread takes none, insmod may):
 * the bytes then come from a pool that may not be seeded yet, with the
 * same warning as port_user.c's fallback.
 */
void port_random_bytes(void *buf, size_t len)
{
	if (wait_for_random_bytes())
		port_log(PORT_LOG_WARN,
			 "random pool not seeded; hash keys may be guessable");
	get_random_bytes(buf, len);
}

/*
 * printk at the level given.  port_user.c formats into 512 bytes and
 * hands the line to a sink; printk's own limit (about 1 KiB) applies here.
 *
 * Warnings and notes are rate-limited: clients can cause them (each
 * connection closed for malformed frames says why), and a client must
 * not be able to flood the kernel log.  Errors are the owner's own
 * (the disk, recovery) and always go out.
 */
void port_log(int level, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 100);
	struct va_format vaf;
	va_list ap;

	/* Debug lines print only when enabled: they spend no budget. */
	if (level != PORT_LOG_ERR && level != PORT_LOG_DEBUG &&
	    !__ratelimit(&rs))
		return;
	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	switch (level) {
	case PORT_LOG_ERR:
		pr_err("%pV\n", &vaf);
		break;
	case PORT_LOG_WARN:
		pr_warn("%pV\n", &vaf);
		break;
	case PORT_LOG_INFO:
		pr_info("%pV\n", &vaf);
		break;
	case PORT_LOG_DEBUG:
		pr_debug("%pV\n", &vaf);
		break;
	default:
		pr_notice("%pV\n", &vaf);
		break;
	}
	va_end(ap);
}

/* The errors that the engine, the disk and the allocators produce. */
#define PORT_ERRNO(e) [e] = #e

static const char *const port_errnames[] = {
	PORT_ERRNO(EPERM),	 PORT_ERRNO(ENOENT),	PORT_ERRNO(EINTR),
	PORT_ERRNO(EIO),	 PORT_ERRNO(ENXIO),	PORT_ERRNO(E2BIG),
	PORT_ERRNO(EBADF),	 PORT_ERRNO(EAGAIN),	PORT_ERRNO(ENOMEM),
	PORT_ERRNO(EACCES),	 PORT_ERRNO(EFAULT),	PORT_ERRNO(EBUSY),
	PORT_ERRNO(EEXIST),	 PORT_ERRNO(EXDEV),	PORT_ERRNO(ENODEV),
	PORT_ERRNO(ENOTDIR),	 PORT_ERRNO(EISDIR),	PORT_ERRNO(EINVAL),
	PORT_ERRNO(ENFILE),	 PORT_ERRNO(EMFILE),	PORT_ERRNO(ETXTBSY),
	PORT_ERRNO(EFBIG),	 PORT_ERRNO(ENOSPC),	PORT_ERRNO(ESPIPE),
	PORT_ERRNO(EROFS),	 PORT_ERRNO(EMLINK),	PORT_ERRNO(ERANGE),
	PORT_ERRNO(ENAMETOOLONG), PORT_ERRNO(ENOSYS),	PORT_ERRNO(ENOTEMPTY),
	PORT_ERRNO(ELOOP),	 PORT_ERRNO(ENODATA),	PORT_ERRNO(EOVERFLOW),
	PORT_ERRNO(EBADMSG),	 PORT_ERRNO(EUSERS),	PORT_ERRNO(EOPNOTSUPP),
	PORT_ERRNO(ENOBUFS),	 PORT_ERRNO(ESHUTDOWN), PORT_ERRNO(ETIMEDOUT),
	PORT_ERRNO(ESTALE),	 PORT_ERRNO(EUCLEAN),	PORT_ERRNO(EDQUOT),
	PORT_ERRNO(ECANCELED),	 PORT_ERRNO(EPROTONOSUPPORT),
	PORT_ERRNO(ELIBBAD),
};

const char *port_strerror(int err)
{
	if (err < 0 && -err < ARRAY_SIZE(port_errnames) &&
	    port_errnames[-err])
		return port_errnames[-err];
	return "unknown error";
}

/*
 * Threads: a kthread runs @fn through port_thread_main(), which signals
 * @done when @fn returned.  Joining waits for that before kthread_stop():
 * kthread_stop() marks the thread as having a signal pending, which would
 * cut short every interruptible wait of work still to finish (the last
 * checkpoint).  The task is held so that kthread_stop() may follow a
 * thread that already exited.
 */
struct port_thread {
	struct task_struct *task;
	int (*fn)(void *arg);
	void *arg;
	struct completion done;
};

static int port_thread_main(void *arg)
{
	struct port_thread *t = arg;

	t->fn(t->arg);
	complete(&t->done);
	return 0;
}

int port_thread_run(struct port_thread **out, int (*fn)(void *arg), void *arg,
		    const char *name, int nice)
{
	struct port_thread *t = kzalloc(sizeof(*t), GFP_KERNEL);
	struct task_struct *task;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	init_completion(&t->done);
	task = kthread_create(port_thread_main, t, "%s", name);
	if (IS_ERR(task)) {
		kfree(t);
		return PTR_ERR(task);
	}
	get_task_struct(task);
	set_user_nice(task, nice);
	t->task = task;
	*out = t;
	wake_up_process(task);
	return 0;
}

/*
 * Waits in slices, so that a long last checkpoint at rmmod does not look
 * like a hung task.
 */
void port_thread_join(struct port_thread *t)
{
	while (!wait_for_completion_timeout(&t->done, 10 * HZ))
		;
	kthread_stop(t->task);
	put_task_struct(t->task);
	kfree(t);
}

/*
 * Attributes.  port_user.c goes through libmnl (mnl_attr_parse_payload(),
 * mnl_attr_validate()); this loop has libmnl's semantics exactly, kind by
 * kind, rather than nla_parse()'s, whose policies differ in details (a
 * NLA_NUL_STRING's length counts without the NUL, strict mode refuses
 * unknown types): the same batch must get the same answer from both
 * hosts.
 */
static int port_attr_fail(struct port_attr_error *err, u16 type,
			  const char *reason)
{
	err->type = type;
	err->reason = reason;
	return -EINVAL;
}

/* mnl_attr_validate() for a kind with a fixed payload length or shape. */
static bool port_attr_fits(const struct nlattr *attr, u8 kind)
{
	int plen = nla_len(attr);

	switch (kind) {
	case PORT_ATTR_FLAG:
		return plen == 0;
	case PORT_ATTR_U32:
	case PORT_ATTR_S32:
		return plen == 4;
	case PORT_ATTR_U64:
		return plen == 8;
	case PORT_ATTR_NESTED:
		/* Empty, or room for at least one attribute header. */
		return plen == 0 || plen >= NLA_HDRLEN;
	default:
		return false;
	}
}

/* One attribute against its policy entry; as port_user.c's callback. */
static int port_attr_check(const struct nlattr *attr,
			   const struct port_attr_policy *policy,
			   unsigned int maxtype, const struct nlattr **tb,
			   struct port_attr_error *err)
{
	u16 type = nla_type(attr);
	size_t plen = nla_len(attr);
	const struct port_attr_policy *p;
	const char *s;

	if (type > maxtype || policy[type].kind == PORT_ATTR_UNSPEC)
		return 0;
	p = &policy[type];
	if (tb[type] && !p->multi)
		return port_attr_fail(err, type, "attribute repeated");
	switch (p->kind) {
	case PORT_ATTR_BINARY:
		if (plen < p->min_len)
			return port_attr_fail(err, type, "attribute too short");
		if (p->max_len && plen > p->max_len)
			return port_attr_fail(err, type, "attribute too long");
		break;
	case PORT_ATTR_STRING:
		s = nla_data(attr);
		if (!plen || s[plen - 1])
			return port_attr_fail(err, type,
					      "string not NUL-terminated");
		if (p->max_len && plen > p->max_len)
			return port_attr_fail(err, type, "string too long");
		if (strlen(s) + 1 != plen)
			return port_attr_fail(err, type, "NUL inside string");
		break;
	default:
		if (!port_attr_fits(attr, p->kind))
			return port_attr_fail(err, type,
					      "attribute length does not fit its type");
		break;
	}
	if (!tb[type])
		tb[type] = attr;
	return 0;
}

int port_attr_parse(const void *buf, size_t len,
		    const struct port_attr_policy *policy, unsigned int maxtype,
		    const struct nlattr **tb, struct port_attr_error *err)
{
	const struct nlattr *attr;
	size_t end = 0;
	int rem, ret;

	memset(tb, 0, (maxtype + 1) * sizeof(*tb));
	if (len > INT_MAX)
		return port_attr_fail(err, 0, "attributes too long");
	nla_for_each_attr(attr, buf, (int)len, rem) {
		end = (const char *)attr - (const char *)buf +
		      NLA_ALIGN(attr->nla_len);
		ret = port_attr_check(attr, policy, maxtype, tb, err);
		if (ret)
			return ret;
	}
	/* A truncated attribute ends the walk early: that is an error. */
	if (end < len)
		return port_attr_fail(err, 0,
				      "truncated attribute or trailing bytes");
	return 0;
}

/* Files: an open struct file, and paths built as "dir/name". */
struct port_file {
	struct file *filp;
};

/* "@dir/@name" in a PATH_MAX buffer from names_cachep, or ERR_PTR. */
static char *port_path(const char *dir, const char *name)
{
	char *path = __getname();
	int n;

	if (!path)
		return ERR_PTR(-ENOMEM);
	n = snprintf(path, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX) {
		__putname(path);
		return ERR_PTR(-ENAMETOOLONG);
	}
	return path;
}

int port_file_open(const char *dir, const char *name, unsigned int flags,
		   struct port_file **out)
{
	int oflags = O_RDWR | O_LARGEFILE;
	struct port_file *f;
	struct file *filp;
	char *path;
	int err;

	path = port_path(dir, name);
	if (IS_ERR(path))
		return PTR_ERR(path);
	if (flags & PORT_F_CREATE)
		oflags |= O_CREAT;
	if (flags & PORT_F_EXCL)
		oflags |= O_EXCL;
	if (flags & PORT_F_TRUNC)
		oflags |= O_TRUNC;
	f = kmalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		err = -ENOMEM;
		goto free_path;
	}
	filp = filp_open(path, oflags, 0600);
	if (IS_ERR(filp)) {
		err = PTR_ERR(filp);
		goto free_f;
	}
	f->filp = filp;
	*out = f;
	__putname(path);
	return 0;

free_f:
	kfree(f);
free_path:
	__putname(path);
	return err;
}

void port_file_close(struct port_file *f)
{
	if (!f)
		return;
	filp_close(f->filp, NULL);
	kfree(f);
}

/*
 * kernel_write() stops at MAX_RW_COUNT bytes a call; the loop goes on as
 * port_user.c's does after a short pwrite().  -EINTR is not retried: a
 * kthread takes no signals, and a pending one would make the retry spin.
 */
int port_file_pwrite(struct port_file *f, const void *buf, size_t len,
		     u64 off)
{
	const char *p = buf;
	loff_t pos = off;

	while (len) {
		ssize_t n = kernel_write(f->filp, p, len, &pos);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

s64 port_file_pread(struct port_file *f, void *buf, size_t len, u64 off)
{
	char *p = buf;
	size_t done = 0;
	loff_t pos = off;

	while (done < len) {
		ssize_t n = kernel_read(f->filp, p + done, len - done, &pos);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

int port_file_datasync(struct port_file *f)
{
	return vfs_fsync(f->filp, 1);
}

/*
 * ftruncate(2)'s do_sys_ftruncate() is not exported: vfs_truncate() on
 * the file's path does the same for a file open for writing, but checks
 * write permission on the inode rather than on the open file.
 */
int port_file_truncate(struct port_file *f, u64 size)
{
	if (size > (u64)LLONG_MAX)
		return -EINVAL;
	return vfs_truncate(&f->filp->f_path, size);
}

s64 port_file_size(struct port_file *f)
{
	struct kstat st;
	int err;

	err = vfs_getattr(&f->filp->f_path, &st, STATX_SIZE,
			  AT_STATX_SYNC_AS_STAT);
	if (err)
		return err;
	return st.size;
}

/*
 * The parent directory @dir, write access to its mount taken; name
 * lookups under it need its inode lock (the callers take it).
 */
static int port_dir_get(const char *dir, struct path *parent)
{
	int err;

	err = kern_path(dir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, parent);
	if (err)
		return err;
	err = mnt_want_write(parent->mnt);
	if (err)
		path_put(parent);
	return err;
}

static void port_dir_put(struct path *parent)
{
	mnt_drop_write(parent->mnt);
	path_put(parent);
}

/*
 * unlink(2) on "@dir/@name".  A name with a '/' or "." / ".." gets
 * -EACCES from lookup_one() (port.h allows plain names only).  A file
 * delegated over NFS gives -EWOULDBLOCK rather than waiting for the
 * delegation to be broken.
 */
int port_file_unlink(const char *dir, const char *name)
{
	struct user_namespace *ns;
	struct dentry *dentry;
	struct inode *pdir, *inode = NULL;
	struct path parent;
	int err;

	err = port_dir_get(dir, &parent);
	if (err)
		return err;
	ns = mnt_user_ns(parent.mnt);
	pdir = d_inode(parent.dentry);
	inode_lock_nested(pdir, I_MUTEX_PARENT);
	dentry = lookup_one(ns, name, parent.dentry, strlen(name));
	if (IS_ERR(dentry)) {
		err = PTR_ERR(dentry);
		goto unlock;
	}
	if (d_is_negative(dentry)) {
		err = -ENOENT;
	} else {
		/* As unlinkat(2): the last iput() frees blocks unlocked. */
		inode = d_inode(dentry);
		ihold(inode);
		err = vfs_unlink(ns, pdir, dentry, NULL);
	}
	dput(dentry);
unlock:
	inode_unlock(pdir);
	if (inode)
		iput(inode);
	port_dir_put(&parent);
	return err;
}

/* rename(2) of "@dir/@from" to "@dir/@to"; the same limits as unlink. */
int port_file_rename(const char *dir, const char *from, const char *to)
{
	struct dentry *old, *new;
	struct renamedata rd = {};
	struct user_namespace *ns;
	struct path parent;
	int err;

	err = port_dir_get(dir, &parent);
	if (err)
		return err;
	ns = mnt_user_ns(parent.mnt);
	/*
	 * One directory: lock_rename() takes its lock once and has no
	 * ancestor to return (NULL).
	 */
	lock_rename(parent.dentry, parent.dentry);
	old = lookup_one(ns, from, parent.dentry, strlen(from));
	if (IS_ERR(old)) {
		err = PTR_ERR(old);
		goto unlock;
	}
	err = -ENOENT;
	if (d_is_negative(old))
		goto put_old;
	new = lookup_one(ns, to, parent.dentry, strlen(to));
	if (IS_ERR(new)) {
		err = PTR_ERR(new);
		goto put_old;
	}
	/* vfs_rename() checks the kinds itself (-EISDIR, -ENOTDIR). */
	rd.old_mnt_userns = ns;
	rd.old_dir = d_inode(parent.dentry);
	rd.old_dentry = old;
	rd.new_mnt_userns = ns;
	rd.new_dir = d_inode(parent.dentry);
	rd.new_dentry = new;
	err = vfs_rename(&rd);
	dput(new);
put_old:
	dput(old);
unlock:
	unlock_rename(parent.dentry, parent.dentry);
	port_dir_put(&parent);
	return err;
}

/* fsync(2) of the directory itself, opened read-only. */
int port_dir_sync(const char *dir)
{
	struct file *filp;
	int err;

	filp = filp_open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(filp))
		return PTR_ERR(filp);
	err = vfs_fsync(filp, 0);
	filp_close(filp, NULL);
	return err;
}

/*
 * Directory listing.  iterate_dir() holds the directory's lock while it
 * calls the actor, so @fn, which may unlink or rename in @dir, is not
 * called from there: names are gathered a page at a time and handed out
 * between calls, as glibc's readdir() buffers getdents64().  A name that
 * does not fit stops the walk before it and comes again next time.
 */
#define PORT_DIR_BUF PAGE_SIZE

struct port_dir_batch {
	struct dir_context ctx;
	char *buf;
	size_t used;
	bool full;
};

static bool port_dir_actor(struct dir_context *ctx, const char *name,
			   int namlen, loff_t offset, u64 ino,
			   unsigned int d_type)
{
	struct port_dir_batch *b = container_of(ctx, struct port_dir_batch,
						ctx);

	if ((namlen == 1 && name[0] == '.') ||
	    (namlen == 2 && name[0] == '.' && name[1] == '.'))
		return true;
	if (b->used + namlen + 1 > PORT_DIR_BUF) {
		b->full = true;
		return false;
	}
	memcpy(b->buf + b->used, name, namlen);
	b->buf[b->used + namlen] = '\0';
	b->used += namlen + 1;
	return true;
}

int port_dir_list(const char *dir, int (*fn)(void *arg, const char *name),
		  void *arg)
{
	struct port_dir_batch b = { .ctx.actor = port_dir_actor };
	struct file *filp;
	size_t i;
	int ret;

	filp = filp_open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(filp))
		return PTR_ERR(filp);
	b.buf = kmalloc(PORT_DIR_BUF, GFP_KERNEL);
	if (!b.buf) {
		ret = -ENOMEM;
		goto close;
	}
	do {
		b.used = 0;
		b.full = false;
		ret = iterate_dir(filp, &b.ctx);
		if (ret)
			break;
		for (i = 0; i < b.used; i += strlen(b.buf + i) + 1) {
			ret = fn(arg, b.buf + i);
			if (ret)
				goto free_buf;
		}
	} while (b.full);
free_buf:
	kfree(b.buf);
close:
	filp_close(filp, NULL);
	return ret;
}
