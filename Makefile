# tdb - top-level build.
#
#   make            build everything: engine, tdbd, libtdb, tdbcli, tests,
#                   benchmarks
#   make test       build and run every test, plain and under ASan/UBSan
#   make bench      run the benchmarks against LMDB, Redis, ipset, nft
#                   (make bench-quick: a small version, in CI)
#   make run        the main job: build, start tdbd, show tdbcli against it
#   make install    PREFIX=/usr/local DESTDIR=: see mk/install.mk
#   make kmod       build kmod/tdb.ko against Debian's kernel headers
#                   (KDIR=... for others; see kmod/Makefile)
#   make kmod-test  boot Debian's kernel under qemu and test tdb.ko there
#                   (also part of make test); make kmod-bench compares
#                   tdb.ko with tdbd in that guest
#   make dkms-install  register tdb.ko's sources with DKMS
#
# Objects go to $(O) (default build/); the sanitizer build to build/san.

O ?= build
CC ?= cc
OPT ?= -O2
CFLAGS += $(OPT) -g -std=gnu11 -pthread -fno-strict-aliasing \
	  -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -MMD -MP
CPPFLAGS += -D_GNU_SOURCE -Icore -Iinclude
LDLIBS_CORE := -lmnl -lurcu -lurcu-common -pthread
ifdef SAN
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(O)/%.o)
TDBD_SRC := $(wildcard tdbd/*.c)
TDBD_OBJ := $(TDBD_SRC:%.c=$(O)/%.o)
LIB_SRC := $(wildcard libtdb/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_BIN := $(INTEG_SRC:%.c=$(O)/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:%.c=$(O)/%)

LIBTDB_SONAME := libtdb.so.1
# The library's ABI version (major = the soname's): its installed name.
LIBTDB_VERSION := 1.0.0
TDB_VERSION := 0.1.0
# What libtdb links: programs linking libtdb.a need the same.
LDLIBS_LIB := -lmnl -ljansson
PROGS := $(if $(TDBD_SRC),$(O)/tdbd/tdbd) $(if $(CLI_SRC),$(O)/cli/tdbcli) \
	 $(if $(LIB_SRC),$(O)/libtdb/libtdb.a $(O)/libtdb/$(LIBTDB_SONAME))

.PHONY: all deps deps-test deps-bench test unit integration cli-test \
	test-plain test-san bench bench-quick bench-ring bench-gets bench-redis bench-durable \
	bench-load run clean \
	kmod kmod-clean dkms-install kmod-test kmod-bench
all: deps-test $(O)/libtdbcore.a $(PROGS) $(UNIT_BIN) $(INTEG_BIN) $(BENCH_BIN)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# libtdb is linked into shared objects: position-independent code.
$(O)/libtdb/%.o: libtdb/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(O)/libtdbcore.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

# One relocatable object with its hidden symbols made local: a program
# linking libtdb.a sees only the exported tdb_* names, as with the .so.
$(O)/libtdb/libtdb.a: $(LIB_OBJ)
	$(LD) -r $^ -o $(O)/libtdb/libtdb-all.o
	objcopy --localize-hidden $(O)/libtdb/libtdb-all.o
	rm -f $@
	$(AR) rcs $@ $(O)/libtdb/libtdb-all.o

$(O)/libtdb/$(LIBTDB_SONAME): $(LIB_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIBTDB_SONAME) $^ -o $@ $(LDLIBS_LIB)
	ln -sf $(LIBTDB_SONAME) $(O)/libtdb/libtdb.so

# tdbd's own: its config file (inih) and readiness for systemd (sd_notify).
LDLIBS_TDBD := -linih -lsystemd
$(O)/tdbd/tdbd: $(TDBD_OBJ) $(O)/libtdbcore.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_CORE) $(LDLIBS_TDBD)

$(O)/cli/tdbcli: $(CLI_OBJ) $(O)/libtdb/libtdb.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB) -lcsv

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libtdbcore.a
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(LDLIBS_CORE)

# Unit tests of libtdb's codecs (tests/unit/test_lib_*.c) link libtdb.
$(O)/tests/unit/test_lib_%: $(O)/tests/unit/test_lib_%.o $(O)/libtdb/libtdb.a
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(LDLIBS_LIB)

$(O)/tests/integration/%: $(O)/tests/integration/%.o $(O)/libtdb/libtdb.a
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(LDLIBS_LIB)

$(O)/bench/%: $(O)/bench/%.o $(O)/libtdbcore.a $(if $(LIB_SRC),$(O)/libtdb/libtdb.a)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_CORE) $(LDLIBS_LIB) -lm

# The LMDB peer: liblmdb alone (scripts/deps.sh bench installs it).
$(O)/bench/lmdb_put.o: | deps-bench
$(O)/bench/lmdb_put: $(O)/bench/lmdb_put.o
	$(CC) $(LDFLAGS) $^ -o $@ -llmdb -pthread
$(O)/bench/lmdb_load.o: | deps-bench
$(O)/bench/lmdb_load: $(O)/bench/lmdb_load.o
	$(CC) $(LDFLAGS) $^ -o $@ -llmdb
$(O)/bench/lmdb_get.o: | deps-bench
$(O)/bench/lmdb_get: $(O)/bench/lmdb_get.o
	$(CC) $(LDFLAGS) $^ -o $@ -llmdb -pthread
# The Redis peers: libtdb and hiredis.
$(O)/bench/redis_put.o: | deps-bench
$(O)/bench/redis_put: $(O)/bench/redis_put.o $(if $(LIB_SRC),$(O)/libtdb/libtdb.a)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB) -lhiredis
$(O)/bench/redis.o: | deps-bench
$(O)/bench/redis: $(O)/bench/redis.o $(if $(LIB_SRC),$(O)/libtdb/libtdb.a)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB) -lhiredis

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(O) $(UNIT_BIN)

integration: $(PROGS) $(INTEG_BIN)
	@if [ -n "$(INTEG_BIN)" ]; then \
		tests/integration/run.sh $(O) $(INTEG_BIN); fi

cli-test: $(PROGS)
	@tests/cli/run.sh $(O)
	@tests/cli/load.sh $(O)
	@tests/tdbd/run.sh $(O)

test-plain: unit integration cli-test

test-san:
	@$(MAKE) --no-print-directory O=build/san SAN=1 OPT=-O1 unit integration

test: deps-test
	@$(MAKE) --no-print-directory test-plain
	@$(MAKE) --no-print-directory test-san
	@$(MAKE) --no-print-directory install-test
	@tests/check-core-includes.sh
	@$(MAKE) --no-print-directory kmod-test

# Every workload of issue 7, tdb against LMDB, Redis, ipset and nft in one
# run: one table, and bench/results/latest.json (scripts/bench.sh).
# bench-quick: the same parts, small, in under 2 minutes (CI runs it).
bench: deps-bench $(BENCH_BIN) $(PROGS)
	scripts/bench.sh $(O) full

bench-quick: deps-bench $(BENCH_BIN) $(PROGS)
	scripts/bench.sh $(O) quick

bench-ring: $(BENCH_BIN) $(PROGS)
	scripts/bench-ring.sh $(O)

# Workloads 1 and 6 of issue 7: batched gets against LMDB, and by table
# size; quick: BENCH_RECORDS=100000 BENCH_SECONDS=1 BENCH_RUNS=1
# BENCH_SCALE="10000 100000" make bench-gets
bench-gets: deps-bench $(O)/bench/gets $(O)/bench/lmdb_get $(PROGS)
	scripts/bench-gets.sh $(O)

# Workloads 2 and 3 of issue 7 against a redis-server of its own; quick:
# BENCH_RECORDS=100000 BENCH_SECONDS=1 BENCH_RUNS=1 make bench-redis
bench-redis: deps-bench $(O)/bench/redis $(PROGS)
	scripts/bench-redis.sh $(O)

bench-durable: deps-bench $(BENCH_BIN) $(PROGS)
	scripts/bench-durable.sh $(O)

# ipset and nft run in private network namespaces (root, or unprivileged
# user namespaces): the machine's firewall is never touched.
bench-load: deps-bench $(BENCH_BIN) $(PROGS)
	scripts/bench-load.sh $(O)

# Needs only the build dependencies: no test is built.
run: deps $(PROGS)
	@scripts/run.sh $(O)

# Kbuild writes its objects next to the sources (core/, kmod/).
# O= for the sub-make: Kbuild would take our O (when given on the command
# line) as its own output directory.
kmod:
	@scripts/deps.sh kmod
	@$(MAKE) --no-print-directory -C kmod O=

kmod-clean:
	@$(MAKE) --no-print-directory -C kmod clean O=

# The module's sources for DKMS (kmod/dkms.conf): what Kbuild reads, under
# $(DESTDIR)/usr/src/tdb-$(TDB_VERSION), registered with dkms unless
# DESTDIR is set (a package registers it when installed).
DKMS_SRC = $(DESTDIR)/usr/src/tdb-$(TDB_VERSION)
dkms-install:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	tar -c --exclude='*.o' --exclude='*.ko' --exclude='.*' \
		--exclude='*.mod*' --exclude='Module.symvers' \
		--exclude='modules.order' kmod core include | \
		tar -x -C $(DKMS_SRC)
	sed 's/@VERSION@/$(TDB_VERSION)/' kmod/dkms.conf >$(DKMS_SRC)/dkms.conf
	rm $(DKMS_SRC)/kmod/dkms.conf
	if [ -z "$(DESTDIR)" ]; then dkms add -m tdb -v $(TDB_VERSION); fi

# tdb.ko under qemu (scripts/kmod-test.sh): the guest runs the integration
# suite against /dev/tdb, rmmod/insmod and power cuts.  The guest's helper
# programs (tests/kmod/*.c) link libtdb as the integration tests do.
KMOD_TEST_BIN := $(patsubst %.c,$(O)/%,$(wildcard tests/kmod/*.c))
$(O)/tests/kmod/%: $(O)/tests/kmod/%.o $(O)/libtdb/libtdb.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_LIB)

kmod-test:
	@scripts/deps.sh kmod-test
	@$(MAKE) --no-print-directory kmod
	@$(MAKE) --no-print-directory $(PROGS) $(INTEG_BIN) $(KMOD_TEST_BIN)
	@scripts/kmod-test.sh $(O)

# Gets and durable puts against tdb.ko and tdbd in one guest (TCG: the
# ratio between the two owners is what counts).
kmod-bench:
	@scripts/deps.sh kmod-test
	@$(MAKE) --no-print-directory kmod
	@$(MAKE) --no-print-directory $(PROGS) $(KMOD_TEST_BIN) \
		$(O)/bench/ring $(O)/bench/durable
	@TDB_KMOD_ONLY=bench scripts/kmod-test.sh $(O)

clean:
	rm -rf build

# Installation, packaging and their tests (mk/*.mk).
-include $(wildcard mk/*.mk)

.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
