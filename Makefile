# tdb - top-level build.
#
#   make            build everything (engine, tests, benchmarks)
#   make test       build and run every test, plain and under ASan/UBSan
#   make bench      run the benchmarks
#   make run        the main job: build and demonstrate the engine
#
# Objects go to $(O) (default build/); the sanitizer build to build/san.

O ?= build
CC ?= cc
OPT ?= -O2
CFLAGS += $(OPT) -g -std=gnu11 -pthread -fno-strict-aliasing \
	  -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -MMD -MP
CPPFLAGS += -D_GNU_SOURCE -Icore -Iinclude
LDLIBS_CORE := -lurcu -lurcu-common -pthread
ifdef SAN
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(O)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:%.c=$(O)/%)

.PHONY: all deps deps-test deps-bench test unit unit-san bench run clean
all: deps $(O)/libtdbcore.a $(UNIT_BIN) $(BENCH_BIN)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(O)/libtdbcore.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libtdbcore.a
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(LDLIBS_CORE)

$(O)/bench/%: $(O)/bench/%.o $(O)/libtdbcore.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS_CORE) -lm

unit: deps-test $(UNIT_BIN)
	@tests/run-unit.sh $(O) $(UNIT_BIN)

unit-san:
	@$(MAKE) --no-print-directory O=build/san SAN=1 OPT=-O1 unit

test: deps-test
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@tests/check-core-includes.sh

bench: deps-bench $(BENCH_BIN)
	$(O)/bench/alloc
	$(O)/bench/index

run: deps $(O)/bench/index $(O)/bench/alloc
	$(O)/bench/index --quick
	$(O)/bench/alloc --quick

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
