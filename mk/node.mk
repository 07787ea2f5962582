# mk/node.mk — a district host: `make install-node`, `make uninstall-node`, `make node-deb`
# (issue 14).  Included at the end of the Makefile after install.mk, whose folders
# (PREFIX, BINDIR, PKGDATADIR, SYSCONFDIR, STATEDIR, UNITDIR) and sed scripts it shares.
#
#   make install-node [PREFIX=/usr/local DESTDIR=…]   only what a district needs
#   make node-deb                                     $(B)/khuyenhoc-node_VERSION_ARCH.deb
#   make node-deps                                    the Debian packages kh-node needs
#
# What goes where (nothing of the build or test toolchain is needed at run time):
#   $(BINDIR)/kh-node
#   $(PKGDATADIR)/data/…                  the catalogue, every folder of data/ (*.csv)
#   $(PKGDATADIR)/node-setup.sh           run once as root: the user $(NODE_USER), the
#                                         officers' group $(NODE_GROUP), the state folders
#                                         (the package's postinst runs it)
#   $(SYSCONFDIR)/khuyenhoc/kh.ini        deploy/kh.ini with run_dir = $(STATEDIR),
#                                         data_dir = $(PKGDATADIR)/data and [node] dir =
#                                         %RUN%/node (one district per host: a fixed spool,
#                                         $(STATEDIR)/node/spool); an existing one is kept
#                                         and the new default goes beside it as kh.ini.dist
#   $(UNITDIR)/kh-node@.service           deploy/district/kh-node@.service, filled in
# The package: the same tree, staged by install-node with PREFIX=/usr, plus DEBIAN/
# (control with Depends computed by scripts/node-deps.sh, conffiles, postinst).

NODE_USER   ?= khnode
NODE_GROUP  ?= kh-officers
NODE_DEB_ARCH = $(shell dpkg --print-architecture)
NODE_DEB    = $(B)/khuyenhoc-node_$(VERSION)_$(NODE_DEB_ARCH).deb
NODE_STAGE  = $(B)/node-deb/root
NODE_DATA   = $(shell cd data && find . -name '*.csv' | sort)
NODE_SUBST  = $(KH_SUBST) -e 's|@NODE_USER@|$(NODE_USER)|g' -e 's|@NODE_GROUP@|$(NODE_GROUP)|g' \
              -e 's|@PKGDATADIR@|$(PKGDATADIR)|g'
NODE_CONF_SED = $(KH_CONF_SED) -e '/^\[node\]/,/^\[/s|^dir = [^ ;]*|dir = %RUN%/node|'

.PHONY: install-node uninstall-node node-deb node-deps

install-node: $(if $(INSTALL_NO_BUILD),,$(B)/bin/kh-node)
	$(Q)case "$(STATEDIR)" in /var/lib/?*) ;; *) echo "install-node: STATEDIR must be under" \
	    "/var/lib (systemd's StateDirectory= keeps it), not $(STATEDIR)" >&2; exit 1 ;; esac
	$(Q)[ -x $(B)/bin/kh-node ] || { echo "install-node: $(B)/bin/kh-node is not built" \
	    "(run make $(B)/bin/kh-node first)" >&2; exit 1; }
	$(Q)grep -q '^run_dir = ' deploy/kh.ini && grep -q '^data_dir = ' deploy/kh.ini && \
	    sed -n '/^\[node\]/,/^\[/p' deploy/kh.ini | grep -q '^dir = ' || \
	    { echo "install-node: deploy/kh.ini has no run_dir/data_dir/[node] dir line to rewrite" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDATADIR)/data \
	    $(DESTDIR)$(SYSCONFDIR)/khuyenhoc $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(B)/bin/kh-node $(DESTDIR)$(BINDIR)/
	$(Q)for f in $(NODE_DATA); do \
	    $(INSTALL) -D -m 0644 data/$$f $(DESTDIR)$(PKGDATADIR)/data/$$f || exit 1; done
	$(Q)sed $(NODE_SUBST) deploy/district/kh-node@.service >$(DESTDIR)$(UNITDIR)/kh-node@.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/kh-node@.service
	$(Q)sed $(NODE_SUBST) deploy/district/node-setup.sh >$(DESTDIR)$(PKGDATADIR)/node-setup.sh
	$(Q)chmod 0755 $(DESTDIR)$(PKGDATADIR)/node-setup.sh
	$(Q)$(call kh_install_conf,$(NODE_CONF_SED))
	@echo "installed the district node under $(DESTDIR)$(PREFIX); next, as root:" \
	      "$(PKGDATADIR)/node-setup.sh, then kh-node keygen (README: Deploy a district host)"

uninstall-node:
	rm -f $(DESTDIR)$(BINDIR)/kh-node $(DESTDIR)$(UNITDIR)/kh-node@.service \
	    $(DESTDIR)$(PKGDATADIR)/node-setup.sh
	rm -f $(addprefix $(DESTDIR)$(PKGDATADIR)/data/,$(NODE_DATA))
	$(Q)find $(DESTDIR)$(PKGDATADIR) -depth -type d -empty -delete 2>/dev/null || true
	$(Q)$(call kh_uninstall_conf,$(NODE_CONF_SED))
	@echo "uninstalled the district node; $(STATEDIR) (outbox, keys) is left alone"

node-deps: $(if $(INSTALL_NO_BUILD),,$(B)/bin/kh-node)
	$(Q)scripts/node-deps.sh $(B)/bin/kh-node

# the package is built from the tree install-node stages (PREFIX=/usr: a package never
# installs into /usr/local); Depends: the libraries' packages, and passwd for the
# postinst's groupadd/useradd
node-deb: $(if $(INSTALL_NO_BUILD),,$(B)/bin/kh-node)
	$(Q)rm -rf $(B)/node-deb
	$(Q)$(MAKE) -s --no-print-directory install-node INSTALL_NO_BUILD=1 PREFIX=/usr \
	    SYSCONFDIR=/etc DESTDIR=$(abspath $(NODE_STAGE)) >/dev/null
	$(Q)mkdir -p $(NODE_STAGE)/DEBIAN
	$(Q)deps=$$(scripts/node-deps.sh $(B)/bin/kh-node) || exit 1; \
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ARCH@|$(NODE_DEB_ARCH)|' \
	    -e "s|@DEPENDS@|$$deps, passwd|" deploy/district/control >$(NODE_STAGE)/DEBIAN/control
	$(Q)echo /etc/khuyenhoc/kh.ini >$(NODE_STAGE)/DEBIAN/conffiles
	$(Q)sed -e 's|@PKGDATADIR@|/usr/share/khuyenhoc|g' deploy/district/postinst \
	    >$(NODE_STAGE)/DEBIAN/postinst
	$(Q)chmod 0755 $(NODE_STAGE)/DEBIAN/postinst
	$(Q)chmod 0644 $(NODE_STAGE)/DEBIAN/control $(NODE_STAGE)/DEBIAN/conffiles
	$(Q)dpkg-deb --root-owner-group --build $(NODE_STAGE) $(NODE_DEB) >/dev/null
	@echo "  DEB   $(NODE_DEB)"
