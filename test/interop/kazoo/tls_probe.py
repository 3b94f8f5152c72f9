#!/usr/bin/python3
"""A kazoo 2.8 session over TLS: create, read and delete one znode.

Usage: /usr/bin/python3 tls_probe.py HOST:PORT CA_PEM [CERT_PEM KEY_PEM]
  -> "ok <data read back>", or "error <what failed>"
Without a client certificate kazoo verifies the server only (ssl.CERT_OPTIONAL).
Exits 0 when the session worked, 1 otherwise.
"""
import os
import sys

from kazoo.client import KazooClient


def main():
    hosts, ca = sys.argv[1], sys.argv[2]
    cert = sys.argv[3] if len(sys.argv) > 4 else None
    key = sys.argv[4] if len(sys.argv) > 4 else None
    zk = KazooClient(hosts=hosts, timeout=10.0, use_ssl=True, ca=ca, certfile=cert, keyfile=key,
                     verify_certs=True, connection_retry={"max_tries": 0})
    try:
        zk.start(timeout=15)
    except Exception as e:  # a refused handshake surfaces as a timeout or an SSLError
        print("error connect %s" % type(e).__name__)
        return 1
    try:
        path = "/tls-probe-%d" % os.getpid()
        zk.create(path, b"over-tls")
        data, _ = zk.get(path)
        zk.delete(path)
        print("ok %s" % data.decode())
        return 0
    except Exception as e:
        print("error %s" % type(e).__name__)
        return 1
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    sys.exit(main())
