# mk/install.mk - installing tdb, its man pages, and the test of both and
# of the Debian packages (included by the top-level Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   tdbd, tdbcli, libtdb
#                   (shared, static, headers, pkg-config), schemas, man
#                   pages, bash completion, the systemd unit and the
#                   example configuration
#   make uninstall  (same PREFIX and DESTDIR) removes exactly those files
#   make man        the man pages, from man/*.scd with scdoc, in $(O)/man/
#   make install-test  installs into a temporary directory and builds
#                   against it, renders the man pages, uninstalls, and
#                   builds the Debian packages (tests/install/run.sh)
#
# Every directory below may be overridden; debian/rules sets LIBDIR to the
# multiarch directory.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/tdb
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SCHEMADIR ?= $(DATADIR)/tdb/schema
# bash-completion loads completions/NAME from every $XDG_DATA_DIRS entry,
# /usr/local/share included, when NAME is first completed.
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# systemd looks for units in /usr/local/lib/systemd/system as well as in
# the distribution's directory.  For PREFIX=/usr the unit goes where
# Debian 12's systemd.pc (systemdsystemunitdir) and dh_installsystemd
# want it, /lib/systemd/system: the move to /usr/lib comes with Debian 13.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)

# The configuration file, dist/tdb.conf (part of tdbd's side).  The unit
# starts tdbd with --config $(SYSCONFDIR)/tdb/tdb.conf, so install
# puts the file there, but only when there is none: an administrator's
# edits survive a reinstall.  The pristine copy always goes to $(DOCDIR)
# as the example; uninstall removes the one in $(SYSCONFDIR) only when it
# still equals that example, and says so when it keeps an edited one.
# SYSCONFDIR is /etc for PREFIX=/usr, else $(PREFIX)/etc, as GNU's
# sysconfdir.  (The Debian package ships the file as a conffile, whose
# edits dpkg keeps.)
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
EXAMPLE_CONF := $(wildcard dist/tdb.conf)
SYSTEMD_UNIT := $(wildcard dist/tdbd.service)

# libtdb.so.1 (the soname the build links) is installed under its full
# name, with the soname's link and the link for -ltdb.  The version in that
# name is the library's ABI (major.minor.patch, the major being the
# soname's), not tdb's release (TDB_VERSION): a release that keeps the ABI
# keeps the name, and libtdb.so.0.1.0 would belie its soname .1.
LIBTDB_VERSION ?= 1.0.0
LIBTDB_REAL := libtdb.so.$(LIBTDB_VERSION)
ifneq ($(LIBTDB_SONAME),$(basename $(basename $(LIBTDB_REAL))))
$(error LIBTDB_VERSION $(LIBTDB_VERSION) does not begin with the major \
	version of LIBTDB_SONAME $(LIBTDB_SONAME))
endif

INSTALL ?= install
SCDOC ?= scdoc

HEADERS := $(wildcard include/tdb/*.h)
SCHEMAS := $(wildcard schema/*.json) $(wildcard schema/README.md)
# man/NAME.SECTION.scd: tdbcli.1.scd -> tdbcli.1, installed in man1/.
MAN_SRC := $(wildcard man/*.scd)
MAN_OUT := $(MAN_SRC:man/%.scd=$(O)/man/%)
man_section = $(patsubst .%,%,$(suffix $(1)))

.PHONY: man install install-build uninstall install-test

man: $(MAN_OUT)

$(O)/man/%: man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) <$< >$@.tmp
	mv $@.tmp $@

# What install copies, built (and nothing else: no tests, no benchmarks).
install-build: $(PROGS) $(MAN_OUT)

# pkg-config's paths are written relative to ${prefix} where they are under
# it, so that --define-variable=prefix=... relocates them all.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: install-build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/tdb $(DESTDIR)$(SCHEMADIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 755 $(O)/tdbd/tdbd $(DESTDIR)$(SBINDIR)/tdbd
	$(INSTALL) -m 755 $(O)/cli/tdbcli $(DESTDIR)$(BINDIR)/tdbcli
	$(INSTALL) -m 644 $(O)/libtdb/$(LIBTDB_SONAME) \
		$(DESTDIR)$(LIBDIR)/$(LIBTDB_REAL)
	ln -sfn $(LIBTDB_REAL) $(DESTDIR)$(LIBDIR)/$(LIBTDB_SONAME)
	ln -sfn $(LIBTDB_SONAME) $(DESTDIR)$(LIBDIR)/libtdb.so
	$(INSTALL) -m 644 $(O)/libtdb/libtdb.a $(DESTDIR)$(LIBDIR)/libtdb.a
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|g' \
	    -e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|g' \
	    -e 's|@VERSION@|$(TDB_VERSION)|g' \
		libtdb.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/libtdb.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/libtdb.pc
	$(INSTALL) -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/tdb/
	$(INSTALL) -m 644 $(SCHEMAS) $(DESTDIR)$(SCHEMADIR)/
	$(INSTALL) -m 644 completion/tdbcli $(DESTDIR)$(BASHCOMPDIR)/tdbcli
	set -e; for m in $(MAN_OUT); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		$(INSTALL) -d $$d; \
		$(INSTALL) -m 644 $$m $$d/; \
	done
ifneq ($(SYSTEMD_UNIT),)
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|/usr/sbin/tdbd|$(SBINDIR)/tdbd|g' \
	    -e 's|/etc/tdb/tdb.conf|$(SYSCONFDIR)/tdb/tdb.conf|g' \
		$(SYSTEMD_UNIT) >$(DESTDIR)$(SYSTEMDUNITDIR)/tdbd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/tdbd.service
endif
ifneq ($(EXAMPLE_CONF),)
	$(INSTALL) -d $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/tdb
	$(INSTALL) -m 644 $(EXAMPLE_CONF) $(DESTDIR)$(DOCDIR)/tdb.conf
	if [ -e $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf ]; then \
		echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf" \
		     "(the example is $(DOCDIR)/tdb.conf)"; \
	else \
		$(INSTALL) -m 644 $(EXAMPLE_CONF) \
			$(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf && \
		touch $(DESTDIR)$(DOCDIR)/tdb.conf.installed; \
	fi
endif
	if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi

# Only the directories that are tdb's own are removed, and only when
# empty: bin/, lib/ and the like stay.
# The configuration goes only when install put it there (a stamp says so:
# a package's or an administrator's file equal to the example stays).
uninstall:
	if [ -e $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf ] && \
	   [ -e $(DESTDIR)$(DOCDIR)/tdb.conf.installed ]; then \
		if cmp -s $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf \
			$(DESTDIR)$(DOCDIR)/tdb.conf; then \
			rm -f $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf; \
		else \
			echo "uninstall: keeping $(DESTDIR)$(SYSCONFDIR)/tdb/tdb.conf:" \
			     "it differs from the example"; \
		fi; \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/tdbd $(DESTDIR)$(BINDIR)/tdbcli \
		$(DESTDIR)$(LIBDIR)/$(LIBTDB_REAL) \
		$(DESTDIR)$(LIBDIR)/$(LIBTDB_SONAME) \
		$(DESTDIR)$(LIBDIR)/libtdb.so $(DESTDIR)$(LIBDIR)/libtdb.a \
		$(DESTDIR)$(PKGCONFIGDIR)/libtdb.pc \
		$(HEADERS:include/tdb/%=$(DESTDIR)$(INCLUDEDIR)/tdb/%) \
		$(SCHEMAS:schema/%=$(DESTDIR)$(SCHEMADIR)/%) \
		$(DESTDIR)$(BASHCOMPDIR)/tdbcli \
		$(foreach m,$(MAN_SRC:man/%.scd=%),$(DESTDIR)$(MANDIR)/man$(call man_section,$(m))/$(m)) \
		$(DESTDIR)$(SYSTEMDUNITDIR)/tdbd.service \
		$(DESTDIR)$(DOCDIR)/tdb.conf $(DESTDIR)$(DOCDIR)/tdb.conf.installed
	for d in $(DESTDIR)$(INCLUDEDIR)/tdb $(DESTDIR)$(SCHEMADIR) \
		 $(DESTDIR)$(DATADIR)/tdb $(DESTDIR)$(DOCDIR) \
		 $(DESTDIR)$(SYSCONFDIR)/tdb; do \
		if [ -d $$d ]; then rmdir --ignore-fail-on-non-empty $$d; fi; \
	done
	if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi

# Installs into a temporary directory, builds a program against it, renders
# the man pages, uninstalls, and builds the Debian packages in a copy of
# the tree.
install-test: deps-test
	@tests/install/run.sh $(O)
