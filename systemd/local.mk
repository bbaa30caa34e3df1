# systemd/local.mk — unit files, with paths filled in at build time.
systemdsystemunit_DATA = systemd/mapispoold.service
CLEANFILES += systemd/mapispoold.service
EXTRA_DIST += systemd/mapispoold.service.in

systemd/mapispoold.service: systemd/mapispoold.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' < $(srcdir)/systemd/mapispoold.service.in > $@
