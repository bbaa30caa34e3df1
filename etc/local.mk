# etc/local.mk — the documented default configuration.
mapispoolconfdir = $(sysconfdir)/mapispool
dist_mapispoolconf_DATA = etc/mapispool.conf
