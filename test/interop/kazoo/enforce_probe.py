#!/usr/bin/python3
"""kazoo against a server that requires SASL (sessionRequireClientSASLAuth / enforce.auth).

Usage: enforce_probe.py HOST:PORT USER PASSWORD

Without SASL: the first request is refused ("anonymous refused <exception>"); with SASL
DIGEST-MD5 the same request is served ("sasl served"). Exit code 0 when both lines were printed.

kazoo 2.8 does not know the code the refusal carries (SESSIONCLOSEDREQUIRESASLAUTH, -124): its
connection thread dies on it ("Invalid error code") and the request is never answered, with
ZooKeeper as with Ark; so the request is given 5 s, and the process leaves without stopping that
client (its thread is gone).
"""
import os
import sys

from kazoo.client import KazooClient


def main(hosts, user, password):
    anon = KazooClient(hosts=hosts, timeout=10, connection_retry={'max_tries': 0}, command_retry={'max_tries': 0})
    anon.start(timeout=15)
    try:
        anon.get_async('/').get(timeout=5)
        print('anonymous served')
    except Exception as e:  # see above: kazoo 2.8 cannot name the refusal
        print('anonymous refused', type(e).__name__)
    authed = KazooClient(hosts=hosts, timeout=10, sasl_options={'mechanism': 'DIGEST-MD5', 'username': user, 'password': password})
    authed.start(timeout=15)
    authed.get('/')
    print('sasl served')
    authed.stop()
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main(*sys.argv[1:4])
