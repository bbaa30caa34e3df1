#!/bin/sh
# tests/dovecot.sh DIR CERTDIR — a throw-away Dovecot for the fetch tests.
#
# Writes DIR/dovecot.conf and runs Dovecot in the foreground (exec: the
# caller's pid is Dovecot's master, and SIGTERM stops it).  One user,
# alice/secret (DIR/passwd), whose Maildir is DIR/mail/alice; POP3 and IMAP
# on 127.0.0.1 with STARTTLS on $POP3_PORT and $IMAP_PORT, implicit TLS on
# $POP3S_PORT and $IMAPS_PORT, with CERTDIR/server.pem and server.key.
# Everything Dovecot writes stays in DIR, so it never meets the system's
# instance.
set -eu
dir=$1
certdir=$2
: "${POP3_PORT:?}" "${POP3S_PORT:?}" "${IMAP_PORT:?}" "${IMAPS_PORT:?}"

mkdir -p "$dir/run/state" "$dir/mail/alice/new" "$dir/mail/alice/cur" "$dir/mail/alice/tmp"
printf 'alice:{PLAIN}secret\n' > "$dir/passwd"

# Dovecot never opens mail as root.  As root (CI), alice's mail belongs to
# nobody (the tests chown what they put there), and Dovecot's own processes
# run as the users Debian's package creates; as anyone else, everything
# runs as that user.
if [ "$(id -u)" -eq 0 ]; then
	mailuser=nobody
	internal=dovecot
	login=dovenull
else
	mailuser=$(id -un)
	internal=$mailuser
	login=$mailuser
fi
uid=$(id -u "$mailuser")
gid=$(id -g "$mailuser")
chown -R "$uid:$gid" "$dir/mail"
# Mail processes must reach the Maildir, login processes base_dir.
chmod 755 "$dir" "$dir/run"

cat > "$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/run/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
instance_name = mapispool-test-$$
protocols = pop3 imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$certdir/server.pem
ssl_key = <$certdir/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
# The tests fail logins on purpose: no delay, and no growing penalty for
# the next ones (anvil's penalty socket closed, as Dovecot's manual says).
auth_failure_delay = 0
default_internal_user = $internal
default_internal_group = $(id -gn "$internal")
default_login_user = $login
first_valid_uid = $uid
first_valid_gid = $gid
mail_location = maildir:$dir/mail/alice
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$dir/mail/alice
}
# No chroot: the login processes need none on loopback, and a user other
# than root could not chroot anyway.
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
# Refuse early, with Dovecot's own words, a configuration it cannot parse.
/usr/bin/doveconf -c "$dir/dovecot.conf" -n >/dev/null
exec /usr/sbin/dovecot -F -c "$dir/dovecot.conf"
