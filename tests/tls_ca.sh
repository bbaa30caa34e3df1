#!/bin/sh
# tests/tls_ca.sh DIR — a throw-away certificate authority for the tests:
#   DIR/ca.pem                 the CA (what ca_file points at)
#   DIR/server.pem, server.key 127.0.0.1 and localhost, signed by the CA
#   DIR/rogue.pem, rogue.key   the same names, self-signed: a bad certificate
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mapispool test CA" \
	-keyout ca.key -out ca.pem
q req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext
q x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile server.ext -out server.pem
q req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout rogue.key -out rogue.pem
chmod 600 ./*.key
