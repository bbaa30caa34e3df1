# systemd/local.mk — unit files (paths and the service type filled in at
# build time), the system user and the spool directory.  The socket units
# come only with libsystemd: without it the daemon cannot take a socket.
systemdsystemunit_DATA = systemd/mapispoold.service
systemduserunit_DATA = systemd/user/mapispoold.service
if HAVE_LIBSYSTEMD
systemdsystemunit_DATA += systemd/mapispoold.socket
systemduserunit_DATA += systemd/user/mapispoold.socket
endif
sysusers_DATA = systemd/sysusers.d/mapispool.conf
tmpfiles_DATA = systemd/tmpfiles.d/mapispool.conf

CLEANFILES += systemd/mapispoold.service systemd/user/mapispoold.service
EXTRA_DIST += systemd/mapispoold.service.in systemd/mapispoold.socket \
	systemd/user/mapispoold.service.in systemd/user/mapispoold.socket \
	systemd/sysusers.d/mapispool.conf systemd/tmpfiles.d/mapispool.conf

systemd_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@SYSTEMD_SERVICE_TYPE[@]|$(SYSTEMD_SERVICE_TYPE)|g'

systemd/mapispoold.service: systemd/mapispoold.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
		$(systemd_subst) < $(srcdir)/systemd/mapispoold.service.in > $@
systemd/user/mapispoold.service: systemd/user/mapispoold.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd/user && \
		$(systemd_subst) < $(srcdir)/systemd/user/mapispoold.service.in > $@
