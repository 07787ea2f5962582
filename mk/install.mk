# mk/install.mk — `make install` / `make uninstall` (issue 6).  Included at the end of
# the Makefile; installs what `make` built in $(B)/.
#
#   make install                          PREFIX=/usr/local, SYSCONFDIR=/etc
#   make install PREFIX=/usr DESTDIR=/tmp/pkg      staged install (packaging, tests)
#   make uninstall [PREFIX=… DESTDIR=…]   removes what install put there; the config is
#                                         removed only if it is unchanged
#
# What goes where:
#   $(BINDIR)/kh-*                        the five programs and three tools
#   $(PKGDATADIR)/data/*.csv              the catalogue (units, indicators, rules, targets)
#   $(SYSCONFDIR)/khuyenhoc/kh.ini        deploy/kh.ini with run_dir = $(STATEDIR) and
#                                         data_dir = $(PKGDATADIR)/data (never overwritten:
#                                         an existing one is kept, the new default goes
#                                         beside it as kh.ini.dist)
#   $(UNITDIR)/kh-*.service               deploy/systemd/*.service with @BINDIR@,
#                                         @SYSCONFDIR@, @PREFIX@, @STATEDIR@ filled in
#   $(SYSUSERSDIR)/khuyenhoc.conf         the khuyenhoc system user (systemd-sysusers)
# Keys stay under %RUN%/keys, i.e. $(STATEDIR)/keys, owned by that user (see README).

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
PKGDATADIR  ?= $(PREFIX)/share/khuyenhoc
SYSCONFDIR  ?= /etc
STATEDIR    ?= /var/lib/khuyenhoc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL     ?= install

KH_UNITS    := kh-collector.service kh-validator.service kh-aggregator.service \
               kh-notifier.service kh-node@.service
KH_DATA     := $(notdir $(wildcard data/*.csv))
KH_PROGS    := $(notdir $(BINS))

# sed script shared by the units and the config
# systemd makes the state folder (StateDirectory=, relative to /var/lib)
STATEDIR_NAME = $(patsubst /var/lib/%,%,$(STATEDIR))
KH_SUBST    := -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
               -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' \
               -e 's|@STATEDIR_NAME@|$(STATEDIR_NAME)|g'
# the installed config: only run_dir and data_dir change (every other path is %RUN%/…)
KH_CONF_SED := -e 's|^run_dir = [^ ;]*|run_dir = $(STATEDIR)|' \
               -e 's|^data_dir = [^ ;]*|data_dir = $(PKGDATADIR)/data|'

# $(call kh_install_conf,SED) — deploy/kh.ini through SED as $(SYSCONFDIR)/khuyenhoc/kh.ini,
# never over a changed one (the new default goes beside it as kh.ini.dist); and
# $(call kh_uninstall_conf,SED) — removes it only if unchanged.  install-node uses them too.
kh_install_conf = sed $(1) deploy/kh.ini >$(DESTDIR)$(SYSCONFDIR)/khuyenhoc/kh.ini.dist && \
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/khuyenhoc/kh.ini.dist && \
	conf=$(DESTDIR)$(SYSCONFDIR)/khuyenhoc/kh.ini; \
	if [ -e $$conf ]; then \
	    if cmp -s $$conf $$conf.dist; then rm -f $$conf.dist; \
	    else echo "  KEEP  $$conf (yours; the new default is $$conf.dist)"; fi; \
	else mv $$conf.dist $$conf && echo "  CONF  $$conf"; fi
kh_uninstall_conf = conf=$(DESTDIR)$(SYSCONFDIR)/khuyenhoc/kh.ini; rm -f $$conf.dist; \
	if [ -e $$conf ]; then \
	    if sed $(1) deploy/kh.ini | cmp -s - $$conf; then rm -f $$conf; \
	    else echo "  KEEP  $$conf (changed since install: remove it yourself)"; fi; fi; \
	rmdir $(DESTDIR)$(SYSCONFDIR)/khuyenhoc 2>/dev/null || true

.PHONY: install uninstall

# INSTALL_NO_BUILD=1: install what $(B) holds without (re)building it — the test does so for
# the sanitizer build (make san), which only its own compiler and flags may link
install: $(if $(INSTALL_NO_BUILD),,$(BINS))
	$(Q)case "$(STATEDIR)" in /var/lib/?*) ;; *) echo "install: STATEDIR must be under /var/lib" \
	    "(systemd's StateDirectory= makes it), not $(STATEDIR)" >&2; exit 1 ;; esac
	$(Q)for b in $(BINS); do [ -x $$b ] || \
	    { echo "install: $$b is not built (run make first)" >&2; exit 1; }; done
	$(Q)for u in $(KH_UNITS); do [ -f deploy/systemd/$$u ] || \
	    { echo "install: deploy/systemd/$$u is missing" >&2; exit 1; }; done
	$(Q)grep -q '^run_dir = ' deploy/kh.ini && grep -q '^data_dir = ' deploy/kh.ini || \
	    { echo "install: deploy/kh.ini has no run_dir/data_dir line to rewrite" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDATADIR)/data \
	    $(DESTDIR)$(SYSCONFDIR)/khuyenhoc $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(addprefix data/,$(KH_DATA)) $(DESTDIR)$(PKGDATADIR)/data/
	$(Q)for u in $(KH_UNITS); do \
	    sed $(KH_SUBST) deploy/systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u && \
	    echo "  UNIT  $(DESTDIR)$(UNITDIR)/$$u" || exit 1; done
	$(Q)sed $(KH_SUBST) deploy/systemd/khuyenhoc.sysusers >$(DESTDIR)$(SYSUSERSDIR)/khuyenhoc.conf
	$(Q)chmod 0644 $(DESTDIR)$(SYSUSERSDIR)/khuyenhoc.conf
	$(Q)$(call kh_install_conf,$(KH_CONF_SED))
	@echo "installed under $(DESTDIR)$(PREFIX); next: systemd-sysusers, keys, systemctl" \
	      "enable --now (README: Deploying)"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(KH_PROGS))
	rm -f $(addprefix $(DESTDIR)$(PKGDATADIR)/data/,$(KH_DATA))
	$(Q)rmdir $(DESTDIR)$(PKGDATADIR)/data $(DESTDIR)$(PKGDATADIR) 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(KH_UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/khuyenhoc.conf
	$(Q)$(call kh_uninstall_conf,$(KH_CONF_SED))
	@echo "uninstalled from $(DESTDIR)$(PREFIX); $(STATEDIR) (databases, keys) is left alone"
