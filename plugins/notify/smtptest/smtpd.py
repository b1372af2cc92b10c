# An SMTP server for tests, on aiosmtpd (Debian's python3-aiosmtpd), run
# by package smtptest with /usr/bin/python3 -I. It listens on 127.0.0.1
# at a port the system chooses, prints {"port": N} on stdout once it
# accepts connections, and stores every message it accepts in MAILDIR as
# NNNNNN.eml (the bytes received) and NNNNNN.json (the envelope), the json
# last, so that a message whose json exists is complete.
#
# AUTH mechanisms: PLAIN and LOGIN, or those of --mechanisms.
#
# Modes: starttls (STARTTLS required before anything but EHLO/NOOP/QUIT,
# AUTH offered only after it), tls (TLS from the first byte), plain (no
# TLS at all; AUTH in clear, as a local relay would). AUTH PLAIN and LOGIN
# are required before MAIL, with the user name of --user and the password
# of the environment variable SMTPTEST_PASSWORD (not argv, which ps shows).
#
# Recipients whose local part starts with "reject" are refused with 550,
# those starting with "defer" with 451: the permanent and temporary
# failures of a real server.

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("defer"):
            return "451 4.2.1 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.maildir, "%06d" % self.count)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".eml.tmp", base + ".eml")
        login = None
        if session.auth_data is not None:
            login = session.auth_data.login.decode("utf-8", "replace")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": login,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "tls", "plain"], required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--mechanisms", default="PLAIN LOGIN")
    args = p.parse_args()
    password = os.environ["SMTPTEST_PASSWORD"].encode()
    user = args.user.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user and auth_data.password == password)
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    offered = set(args.mechanisms.upper().split())
    excluded = [m for m in ("PLAIN", "LOGIN") if m not in offered]

    ctx = None
    if args.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(args.maildir)

    def factory():
        return SMTP(
            handler,
            hostname="smtptest.localhost",
            tls_context=ctx if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            auth_required=True,
            # With implicit TLS the connection is TLS, but aiosmtpd only
            # counts STARTTLS; in plain mode AUTH goes in clear on purpose.
            auth_require_tls=args.mode == "starttls",
            authenticator=authenticator,
            auth_exclude_mechanism=excluded,
            loop=loop,
        )

    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=0,
        ssl=ctx if args.mode == "tls" else None))
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(json.dumps({"port": port}), flush=True)
    loop.run_until_complete(stop.wait())
    server.close()
    loop.run_until_complete(server.wait_closed())


if __name__ == "__main__":
    sys.exit(main())
