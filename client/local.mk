# client/local.mk — mapispoolctl, a client of libmapispool like any other.
bin_PROGRAMS += client/mapispoolctl
client_mapispoolctl_SOURCES = client/mapispoolctl.c
client_mapispoolctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
# Links the core too, for its JSON codecs of property values (--json).
client_mapispoolctl_LDADD = lib/libmapispool.la lib/libmapicore.la $(JSONC_LIBS)

dist_man_MANS += man/mapispoolctl.1 man/libmapispool.3

# bash completion, installed under the command's name, where
# bash-completion loads it on first use.
EXTRA_DIST += client/mapispoolctl.bash-completion
install-data-local: install-bash-completion
uninstall-local: uninstall-bash-completion
install-bash-completion:
	$(MKDIR_P) '$(DESTDIR)$(bashcompdir)'
	$(INSTALL_DATA) $(srcdir)/client/mapispoolctl.bash-completion \
		'$(DESTDIR)$(bashcompdir)/mapispoolctl'
uninstall-bash-completion:
	rm -f '$(DESTDIR)$(bashcompdir)/mapispoolctl'
.PHONY: install-bash-completion uninstall-bash-completion
