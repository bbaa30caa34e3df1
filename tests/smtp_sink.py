#!/usr/bin/python3
"""tests/smtp_sink.py — an SMTP server for the transport tests (aiosmtpd).

    smtp_sink.py --dir D --port P [--tls-port P2 --cert C --key K] [--auth]
                 [--mail-delay MS] [--die-at N]

Listens on 127.0.0.1:P (with STARTTLS when --cert is given) and, with
--tls-port, on 127.0.0.1:P2 with implicit TLS (smtps).  What it receives
goes to D/received/N.eml (the bytes, dot-unstuffed, CRLF as sent) and
D/received/N.json (envelope: mail_from, rcpt_tos, the connection's number,
the EHLO name, whether it was TLS and who authenticated).  D/connections
holds the number of connections accepted so far; D/ready appears once both
listeners are up.

Scripted answers, by the address's local part:
  RCPT "tempfail..."  451 4.3.0 (accepted instead while D/accept exists)
  RCPT "permfail..."  550 5.1.1
  MAIL "rejectmail..." 550 5.7.1
  MAIL "dropmid..."   the connection is dropped in the middle of DATA
--auth requires AUTH PLAIN or LOGIN as alice / secret, on plain connections
too.  --mail-delay holds every reply to MAIL for MS milliseconds; D/peak
holds the most MAIL commands that were waiting for their reply at once
(more than 1: transactions on several connections at the same time).
--die-at N makes the sink exit at once, every connection cut, when the
N-th MAIL command of its life arrives.  SIGTERM stops it.

Run by Debian's /usr/bin/python3, which sees python3-aiosmtpd.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = b"alice", b"secret"


def local_part(address):
    return address.strip("<>").split("@", 1)[0].lower()


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Sink:
    """The aiosmtpd handler: scripted answers and the record on disk."""

    def __init__(self, directory, mail_delay=0, die_at=0):
        self.dir = directory
        self.received = 0
        self.connections = 0
        self.mail_delay = mail_delay / 1000.0
        self.die_at = die_at
        self.mails = 0
        self.waiting = 0
        self.peak = 0
        os.makedirs(os.path.join(directory, "received"), exist_ok=True)
        self.count_connection(0)
        write_atomically(os.path.join(self.dir, "peak"), b"0\n")

    def count_connection(self, n=1):
        self.connections += n
        write_atomically(os.path.join(self.dir, "connections"),
                         b"%d\n" % self.connections)
        return self.connections

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.mails += 1
        if self.die_at and self.mails >= self.die_at:
            os._exit(1)
        if self.mail_delay > 0:
            self.waiting += 1
            if self.waiting > self.peak:
                self.peak = self.waiting
                write_atomically(os.path.join(self.dir, "peak"),
                                 b"%d\n" % self.peak)
            try:
                await asyncio.sleep(self.mail_delay)
            finally:
                self.waiting -= 1
        if local_part(address).startswith("rejectmail"):
            return "550 5.7.1 sender rejected by the test sink"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        lp = local_part(address)
        if lp.startswith("tempfail") and \
                not os.path.exists(os.path.join(self.dir, "accept")):
            return "451 4.3.0 try again later (test sink)"
        if lp.startswith("permfail"):
            return "550 5.1.1 no such user here (test sink)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        base = os.path.join(self.dir, "received", str(self.received))
        login = None
        if session.auth_data is not None:
            login = session.auth_data.login.decode("utf-8", "replace")
        env = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "connection": server.connection_id,
            "helo": session.host_name,
            "tls": server.transport.get_extra_info("sslcontext") is not None,
            "auth": login,
        }
        write_atomically(base + ".eml", envelope.original_content)
        write_atomically(base + ".json", json.dumps(env).encode())
        return "250 2.0.0 queued as %d" % self.received


class SinkSMTP(SMTP):
    """aiosmtpd's server, numbering its connections, and dropping the
    "dropmid" sender's connection after the first line of its DATA."""

    def __init__(self, sink, *args, **kwargs):
        super().__init__(sink, *args, **kwargs)
        self.sink = sink
        self.connection_id = None

    def connection_made(self, transport):
        # Called again after STARTTLS, on the same connection.
        if self.connection_id is None:
            self.connection_id = self.sink.count_connection()
        super().connection_made(transport)

    async def smtp_DATA(self, arg):
        env = self.envelope
        if env is None or env.mail_from is None or not env.rcpt_tos or \
                not local_part(env.mail_from).startswith("dropmid"):
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")
        self.transport.abort()


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and \
        auth_data.login == USER and auth_data.password == PASSWORD
    # handled=False: aiosmtpd answers 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


async def main():
    # AUTH without TLS is what --auth tests; aiosmtpd warns about it.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth", action="store_true")
    ap.add_argument("--mail-delay", type=int, default=0)
    ap.add_argument("--die-at", type=int, default=0)
    args = ap.parse_args()

    loop = asyncio.get_running_loop()
    sink = Sink(args.dir, args.mail_delay, args.die_at)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    smtp_args = dict(hostname="sink.test", loop=loop, decode_data=False)
    if args.auth:
        smtp_args.update(authenticator=authenticate, auth_required=True,
                         auth_require_tls=False)

    def plain():
        return SinkSMTP(sink, tls_context=tls, **smtp_args)

    def implicit():
        return SinkSMTP(sink, **smtp_args)

    servers = [await loop.create_server(plain, "127.0.0.1", args.port)]
    if args.tls_port:
        servers.append(await loop.create_server(implicit, "127.0.0.1",
                                                args.tls_port, ssl=tls))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    write_atomically(os.path.join(args.dir, "ready"), b"%d\n" % os.getpid())
    await stop
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
