#!/usr/bin/python3
"""Runs tests of kazoo's own suite (kazoo.tests, shipped by Debian's python3-kazoo) by name.

Usage: /usr/bin/python3 kazoo_suite.py kazoo.tests.test_connection.TestReadOnlyMode [...]

Tests that stop and restart servers leave the cluster settling when they end (kazoo's harness
does not wait for it): run one such test per process, so each gets a cluster of its own.

kazoo's harness starts its servers itself (kazoo.testing.common.ManagedZooKeeper: `java ...
QuorumPeerMain zoo.cfg`, configured by ZOOKEEPER_CLASSPATH, ZOOKEEPER_VERSION and
ZOOKEEPER_PORT_OFFSET); the caller decides what `java` is. The tests are kazoo's, unchanged, run
with unittest. Their modules import pytest and mock, which Debian's kazoo package does not pull
in: when they are missing, the few calls these tests make (pytest.raises, pytest.skip,
mock.patch) are stood in for by unittest's own.

Prints unittest's verbose report (the servers' output mixes into it), then one line per test,
"RESULT <test id> ok|FAIL|ERROR|skipped"; exit code 0 when every test passed.
"""
import contextlib
import sys
import types
import unittest
import unittest.mock


def _stand_in_pytest():
    pytest = types.ModuleType('pytest')

    @contextlib.contextmanager
    def raises(expected, *args, **kwargs):
        try:
            yield
        except expected:
            return
        raise AssertionError('DID NOT RAISE %r' % (expected,))

    def skip(msg=''):
        raise unittest.SkipTest(msg)

    pytest.raises = raises
    pytest.skip = skip
    return pytest


for name, make in (('pytest', _stand_in_pytest), ('mock', lambda: unittest.mock)):
    try:
        __import__(name)
    except ImportError:
        sys.modules[name] = make()


def main(names):
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    tests = list(_tests(suite))  # the runner lets go of each test once run
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    outcomes = {}
    for kind, entries in (('FAIL', result.failures), ('ERROR', result.errors), ('skipped', result.skipped)):
        for test, _ in entries:
            outcomes[test.id()] = kind
    for test in tests:
        print('RESULT %s %s' % (test.id(), outcomes.get(test.id(), 'ok')))
    sys.stdout.flush()
    # kazoo's harness stops its servers at exit (atexit): leave through it
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


def _tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _tests(t)
        else:
            yield t


if __name__ == '__main__':
    main(sys.argv[1:])
