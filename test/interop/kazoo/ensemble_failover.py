#!/usr/bin/python3
"""Failover check for a ZooKeeper-compatible ensemble, driven by kazoo 2.8 (Python).

Usage: /usr/bin/python3 ensemble_failover.py HOSTS LEADER_HOST:PORT LEADER_PID

HOSTS is the whole ensemble (host:port,host:port,...). The main client is given every host, the
leader first and randomize_hosts=False, so its session starts on the leader, the member this
script then SIGKILLs (os.kill on LEADER_PID). Checks:
  - the state listener sees SUSPENDED then CONNECTED, never LOST; the session id is unchanged and
    the client is now connected to another member;
  - writes resume (resumed_after_ms = kill -> first acknowledged create issued after it);
  - the ephemeral survives, still owned by the session;
  - a DataWatch set before the failover fires after sets by another session following it
    (kazoo 2.8 sends no SetWatches: on SUSPENDED it drops its watches and the recipe re-reads
    and re-watches once reconnected, so this checks the re-established watch);
  - write on the main client, sync() + get() on a client pinned to a different surviving member
    sees the value just written, 50 times over.

Prints one "ok <what>" line per passed check, "resumed_after_ms=<n>", and finally
"done: all checks passed"; on the first failed check prints "FAIL <what>: <why>" and exits 1.
A watchdog exits 2 after ENSEMBLE_FAILOVER_DEADLINE seconds (default 50).
"""
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
import uuid

try:
    from kazoo.client import KazooClient, KazooState
    from kazoo.exceptions import ConnectionLoss
    from kazoo.protocol.states import EventType
except ImportError as e:  # pragma: no cover - reported by the TS wrapper as a missing prerequisite
    print("MISSING kazoo: %s" % e)
    sys.exit(3)

WAIT = 10.0
SYNC_ROUNDS = 50


class CheckFailed(Exception):
    pass


def ok(what):
    print("ok %s" % what, flush=True)


def check(cond, what, detail=""):
    if not cond:
        raise CheckFailed("%s%s" % (what, (": " + detail) if detail else ""))


def eq(actual, expected, what):
    if actual != expected:
        raise CheckFailed("%s: expected %r, got %r" % (what, expected, actual))


def mono_ms():
    return time.monotonic() * 1000.0


def retrying(what, fn, timeout=20.0):
    """Retries fn while the client reconnects (ConnectionLoss)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except ConnectionLoss:
            if time.monotonic() > deadline:
                raise CheckFailed("%s: still ConnectionLoss after %.0f s" % (what, timeout))
            time.sleep(0.02)


def peer(zk):
    """host:port of the member the client is connected to (kazoo keeps no public accessor)."""
    try:
        h, p = zk._connection._socket.getpeername()[:2]
        return "%s:%d" % (h, p)
    except Exception:  # noqa: BLE001
        return None


class Run:
    def __init__(self, hosts, leader, pid):
        self.hosts = [h.strip() for h in hosts.split(",") if h.strip()]
        self.leader = leader
        self.pid = pid
        self.root = "/ensemble-failover-py-%s" % uuid.uuid4().hex[:8]
        self.clients = []

    def client(self, hosts, **kw):
        zk = KazooClient(hosts=hosts, timeout=10.0, **kw)
        zk.start(timeout=15)
        self.clients.append(zk)
        return zk

    def p(self, *parts):
        return "/".join((self.root,) + parts)

    def close_all(self):
        for zk in self.clients:
            try:
                zk.stop()
                zk.close()
            except Exception:  # noqa: BLE001
                pass

    def run(self):
        check(len(self.hosts) >= 3, "HOSTS names the whole ensemble", ",".join(self.hosts))
        check(self.leader in self.hosts, "the leader is one of HOSTS", self.leader)
        ordered = [self.leader] + [h for h in self.hosts if h != self.leader]

        # ------------------------------------------------------------ setup
        states = queue.Queue()
        history = []

        def listener(state):
            history.append(state)
            states.put((state, mono_ms()))
        zk = self.client(",".join(ordered), randomize_hosts=False)
        zk.add_listener(listener)
        sid = zk.client_id[0]
        eq(peer(zk), self.leader, "main client connected to the leader")
        ok("main session 0x%x connected to the leader %s (hosts %s)" % (sid, self.leader, ",".join(ordered)))

        zk.create(self.root, b"")
        zk.create(self.p("eph"), b"mine", ephemeral=True)
        eq(zk.exists(self.p("eph")).ephemeralOwner, sid, "ephemeral owner")
        zk.create(self.p("data"), b"v0")
        zk.create(self.p("sync"), b"")
        seen = queue.Queue()

        @zk.DataWatch(self.p("data"))
        def dw(data, stat, event):
            seen.put((data, stat.version if stat else None, event.type if event else None))
        eq(seen.get(timeout=WAIT), (b"v0", 0, None), "DataWatch initial call")
        for _ in range(5):
            zk.create(self.p("w-"), b"", sequence=True)
        # another session for the sets after the failover, on any member (opened now: a session
        # that writes right after connecting to a follower is a separate matter, see the TS test)
        setter = self.client(",".join(self.hosts))
        setter.exists(self.p("data"))
        ok("ephemeral, DataWatch on %s, 5 sequential creates; second session on %s" % (self.p("data"), peer(setter)))

        # ------------------------------------------------------------ kill the leader
        killed_at = mono_ms()
        os.kill(self.pid, signal.SIGKILL)
        print("killed_at_epoch_ms=%d" % (time.time() * 1000), flush=True)
        ok("SIGKILLed the leader (pid %d)" % self.pid)

        # writes resume: the first create issued after the kill that is acknowledged
        losses = 0
        deadline = time.monotonic() + 20
        while True:
            try:
                zk.create(self.p("w-"), b"after", sequence=True)
                break
            except ConnectionLoss:
                losses += 1
                if time.monotonic() > deadline:
                    raise CheckFailed("no create acknowledged within 20 s of the kill")
                time.sleep(0.005)
        resumed = mono_ms() - killed_at
        print("resumed_after_ms=%d" % resumed, flush=True)
        ok("writes resumed %d ms after the kill (%d ConnectionLoss)" % (resumed, losses))

        # ------------------------------------------------------------ states
        try:
            first, t1 = states.get(timeout=WAIT)
        except queue.Empty:
            raise CheckFailed("no state change after the kill")
        eq(first, KazooState.SUSPENDED, "first state after the kill")
        deadline = time.monotonic() + 20
        while True:
            try:
                st, t2 = states.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise CheckFailed("no CONNECTED after SUSPENDED (states %r)" % history)
            check(st != KazooState.LOST, "session LOST after the kill", repr(history))
            if st == KazooState.CONNECTED:
                break
        eq(zk.client_id[0], sid, "session id after the failover")
        now = peer(zk)
        check(now is not None and now != self.leader, "connected to another member after the failover", repr(now))
        ok("SUSPENDED after %d ms, CONNECTED after %d ms to %s, same session 0x%x" % (t1 - killed_at, t2 - killed_at, now, sid))

        # ------------------------------------------------------------ ephemeral
        st = zk.exists(self.p("eph"))
        check(st is not None, "ephemeral survives the failover")
        eq(st.ephemeralOwner, sid, "ephemeral owner after the failover")
        other = [h for h in self.hosts if h not in (self.leader, now)]
        check(len(other) >= 1, "a surviving member the main client is not connected to", repr(other))
        reader = self.client(other[0])
        eq(peer(reader), other[0], "reader pinned to the other member")
        reader.sync(self.p("eph"))
        st = reader.exists(self.p("eph"))
        check(st is not None and st.ephemeralOwner == sid, "ephemeral seen from %s" % other[0], repr(st))
        ok("ephemeral still present and owned by 0x%x (seen on %s and %s)" % (sid, now, other[0]))

        # ------------------------------------------------------------ DataWatch
        retrying("set v1 by the second session", lambda: setter.set(self.p("data"), b"v1"))
        deadline = time.monotonic() + WAIT
        got = None
        while got is None or got[0] != b"v1":
            try:
                got = seen.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise CheckFailed("DataWatch not called with v1 within %.0f s of a set after the failover (last %r)" % (WAIT, got))
        retrying("set v2 by the second session", lambda: setter.set(self.p("data"), b"v2"))
        try:
            got = seen.get(timeout=WAIT)
        except queue.Empty:
            raise CheckFailed("DataWatch did not fire on a second set after the failover")
        eq(got, (b"v2", 2, EventType.CHANGED), "DataWatch call after the second set")
        ok("DataWatch fires after sets by another session following the failover (v1, then v2 with CHANGED)")

        # ------------------------------------------------------------ sync + read on another member
        for i in range(SYNC_ROUNDS):
            v = ("value-%d" % i).encode()
            zk.set(self.p("sync"), v)
            reader.sync(self.p("sync"))
            eq(reader.get(self.p("sync"))[0], v, "read on %s after sync, round %d" % (other[0], i))
        ok("%d rounds: set via %s, sync + get via %s sees the value just written" % (SYNC_ROUNDS, now, other[0]))

        check(KazooState.LOST not in history, "never LOST", repr(history))
        ok("session states after the kill: %s" % [str(s) for s in history])

        # ------------------------------------------------------------ cleanup
        n = len(zk.get_children(self.root))
        zk.delete(self.root, recursive=True)
        reader.sync(self.root)
        eq(reader.exists(self.root), None, "test root after the recursive delete, seen on %s" % other[0])
        ok("cleanup (%d nodes under the test root)" % n)


def main():
    if len(sys.argv) != 4:
        print("usage: ensemble_failover.py HOSTS LEADER_HOST:PORT LEADER_PID", file=sys.stderr)
        return 64
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    deadline = float(os.environ.get("ENSEMBLE_FAILOVER_DEADLINE", "50"))

    def watchdog():
        print("FAIL watchdog: not finished after %.0f s" % deadline, flush=True)
        os._exit(2)
    timer = threading.Timer(deadline, watchdog)
    timer.daemon = True
    timer.start()

    run = Run(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    try:
        run.run()
    except CheckFailed as e:
        print("FAIL %s" % e, flush=True)
        run.close_all()
        return 1
    except Exception as e:  # noqa: BLE001
        print("FAIL unexpected %s: %s" % (type(e).__name__, e), flush=True)
        traceback.print_exc(file=sys.stdout)
        run.close_all()
        return 1
    run.close_all()
    timer.cancel()
    print("done: all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
