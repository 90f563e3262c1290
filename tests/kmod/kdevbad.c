// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kdevbad - hostile TDB_IOC_CONNECT arguments against /dev/tdb, for the
 * guest's tests: every one must fail with its errno, and leave nothing
 * behind.  Each bad connect is tried ROUNDS times, more than max_conns'
 * default, so that a connection slot or a pin leaked on an error path
 * shows as -EUSERS (run it as an unprivileged user) or in STATS: after
 * all of them a good connection must work and the owner must count no
 * connection but it.
 *
 * Exit status 0 when every case failed as it should, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <tdb/tdb.h>

#define ROUNDS 300

static int failures;
static size_t region_size;

/* One CONNECT with @dc's region and eventfds: 0 or -errno. */
static int try_connect(struct tdb_dev_connect *dc)
{
	int fd = open(TDB_DEVICE, O_RDWR | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = ioctl(fd, TDB_IOC_CONNECT, dc) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static void expect(const char *what, struct tdb_dev_connect *dc, int want)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct tdb_dev_connect c = *dc;
		int rc = try_connect(&c);

		if (rc != want) {
			printf("kdevbad: %s: %d (%s), not %d (%s)\n", what, rc,
			       strerror(-rc), want, strerror(-want));
			failures++;
			return;
		}
	}
	printf("kdevbad: %s: %s, %d times\n", what, strerror(-want), ROUNDS);
}

static void *map(int prot, int flags, int fd)
{
	void *p = mmap(NULL, region_size, prot, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("kdevbad: mmap");
		exit(1);
	}
	return p;
}

int main(void)
{
	struct tdb_dev_connect good = {
		.magic = TDB_HELLO_MAGIC,
		.version = TDB_PROTO_VERSION,
	}, dc;
	const int private = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	struct tdb_stats st;
	struct tdb *db;
	int fd, efd1, efd2, pipefd[2], rc;
	char path[] = "/tmp/kdevbad.XXXXXX";
	size_t half;
	void *p;

	fd = open(TDB_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TDB_IOC_GEOMETRY, &good) < 0) {
		perror("kdevbad: " TDB_DEVICE);
		return 1;
	}
	dc = good;
	dc.magic ^= 1;
	rc = ioctl(fd, TDB_IOC_GEOMETRY, &dc) < 0 ? -errno : 0;
	if (rc != -EPROTO) {
		printf("kdevbad: GEOMETRY with a bad magic: %d\n", rc);
		failures++;
	}
	rc = ioctl(fd, _IO('t', 99)) < 0 ? -errno : 0;
	if (rc != -ENOTTY) {
		printf("kdevbad: an unknown ioctl: %d\n", rc);
		failures++;
	}
	close(fd);
	region_size = good.region_size;
	efd1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd1 < 0 || efd2 < 0 || pipe(pipefd) < 0) {
		perror("kdevbad: eventfd");
		return 1;
	}
	good.tx_efd = efd1;
	good.rx_efd = efd2;
	good.region = (uintptr_t)map(PROT_READ | PROT_WRITE, private, -1);

	dc = good;
	dc.version++;
	expect("a version mismatch", &dc, -EPROTO);
	dc = good;
	dc.region = 0;
	expect("a NULL region", &dc, -EFAULT);
	dc = good;
	dc.region += 64;
	expect("an unaligned region", &dc, -EINVAL);
	dc = good;
	p = map(PROT_READ | PROT_WRITE, private, -1);
	half = (region_size / 2) & ~(size_t)(sysconf(_SC_PAGESIZE) - 1);
	if (munmap((char *)p + half, region_size - half) < 0) {
		perror("kdevbad: munmap");
		return 1;
	}
	dc.region = (uintptr_t)p;
	expect("a region half unmapped", &dc, -EFAULT);
	dc.region = (uintptr_t)map(PROT_READ, private, -1);
	expect("a read-only region", &dc, -EFAULT);
	dc.region = (uintptr_t)map(PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
				   -1);
	expect("a shared anonymous region", &dc, -EINVAL);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)region_size) < 0) {
		perror("kdevbad: temporary file");
		return 1;
	}
	dc.region = (uintptr_t)map(PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_POPULATE, fd);
	expect("a file-backed region", &dc, -EINVAL);
	unlink(path);
	dc = good;
	dc.rx_efd = dc.tx_efd;
	expect("one eventfd twice", &dc, -EINVAL);
	dc = good;
	dc.tx_efd = pipefd[1];
	expect("a pipe as TX eventfd", &dc, -EINVAL);
	dc = good;
	dc.rx_efd = pipefd[0];
	expect("a pipe as RX eventfd", &dc, -EINVAL);
	dc = good;
	dc.tx_efd = -1;
	expect("no TX eventfd", &dc, -EBADF);
	dc = good;
	dc.rx_efd = 9999;
	expect("a closed RX eventfd", &dc, -EBADF);

	/* Nothing was kept: a slot for this uid, and one connection. */
	rc = tdb_connect(TDB_DEVICE, &db);
	if (rc) {
		printf("kdevbad: a good connection after all that: %s\n",
		       tdb_strerror(rc));
		return 1;
	}
	rc = tdb_stats(db, &st);
	if (rc || st.connections != 1) {
		printf("kdevbad: STATS after all that: %d, %u connections\n",
		       rc, rc ? 0 : st.connections);
		failures++;
	}
	tdb_close(db);
	return failures != 0;
}
