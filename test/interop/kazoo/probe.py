#!/usr/bin/python3
"""One read with kazoo 2.8, printed so that a test can compare servers.

Usage: /usr/bin/python3 probe.py HOST:PORT children PATH
  -> "children <count> <UTF-8 bytes of all names>", or "error <kazoo exception class>"
Exits 0 when the read was answered, 1 when kazoo could not connect within 20 s.
"""
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError


def main():
    hosts, what, path = sys.argv[1], sys.argv[2], sys.argv[3]
    if what != "children":
        raise SystemExit("unknown probe %s" % what)
    zk = KazooClient(hosts=hosts, timeout=10.0)
    try:
        zk.start(timeout=20)
    except KazooTimeoutError:
        print("error connect")
        return 1
    try:
        names = zk.get_children(path)
        print("children %d %d" % (len(names), sum(len(n.encode("utf-8")) for n in names)))
    except KazooException as e:
        print("error %s" % type(e).__name__)
    finally:
        zk.stop()
        zk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
