#!/usr/bin/python3
"""Interop checks for a ZooKeeper-compatible server, driven by kazoo 2.8 (Python).

Usage: /usr/bin/python3 kazoo_interop.py HOST:PORT

Prints one "ok <what>" line per passed check and finally "done: all checks passed".
On the first failed check prints "FAIL <what>: <why>" (plus a traceback for unexpected
exceptions) to stdout and exits 1. A watchdog exits 2 if the whole run takes longer than
KAZOO_INTEROP_DEADLINE seconds (default 55). For debugging, KAZOO_INTEROP_SKIP=acls,lock,...
leaves out the named steps (method names of Run).

Everything is created under a fresh root /kazoo-interop-<random>, removed at the end.

Opcodes kazoo 2.8 sends here: connect, create (1), create2 (15, include_data=True), delete (2),
exists (3), getData (4), setData (5), getACL (6), setACL (7), getChildren (8), sync (9),
ping (11), getChildren2 (12, include_data=True), multi (14, with check 13 inside),
auth (100), closeSession (-11); plus the four-letter words ruok and envi on a second socket
(kazoo reads a 4lw answer with a single recv(8192)). Note that kazoo encodes every empty
string as a null string (length -1), e.g. the id of Id("auth", ""); ZooKeeper accepts that.
"""
import logging
import os
import queue
import sys
import threading
import time
import traceback
import uuid

try:
    from kazoo.client import KazooClient, KazooState
    from kazoo.exceptions import (
        BadVersionError, InvalidACLError, LockTimeout, NoAuthError, NoChildrenForEphemeralsError,
        NodeExistsError, NoNodeError, NotEmptyError, RolledBackError, RuntimeInconsistency,
    )
    from kazoo.protocol.states import EventType, ZnodeStat
    from kazoo.recipe.cache import TreeCache, TreeEvent
    from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, Permissions, make_digest_acl, make_digest_acl_credential
except ImportError as e:  # pragma: no cover - reported by the TS wrapper as a missing prerequisite
    print("MISSING kazoo: %s" % e)
    sys.exit(3)

WAIT = 10.0  # seconds to wait for any single asynchronous outcome


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


def raises(exc_type, fn, what):
    try:
        fn()
    except exc_type:
        return
    except Exception as e:  # noqa: BLE001
        raise CheckFailed("%s: expected %s, got %s: %s" % (what, exc_type.__name__, type(e).__name__, e))
    raise CheckFailed("%s: expected %s, but the call succeeded" % (what, exc_type.__name__))


def take(q, what, timeout=WAIT):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise CheckFailed("%s: nothing arrived within %.0f s" % (what, timeout))


def wait_until(pred, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise CheckFailed("%s: condition not reached within %.0f s" % (what, timeout))


def watch_fence(watcher, writer, path, what):
    """Creates `path` through `writer` and waits for `watcher`'s watch on it to fire. The server
    sends one session's events in zxid order and kazoo calls watch callbacks one at a time, in
    order: once this one has run, every event caused by the writer's earlier writes has been
    delivered, so a watch that has not fired by now will not fire for them."""
    fired = queue.Queue()
    watcher.exists(path, watch=fired.put)
    writer.create(path)
    e = take(fired, what)
    eq((e.type, e.path), (EventType.CREATED, path), what)


def waiting_in_recipe(thread):
    """Whether `thread` is blocked on an event inside a kazoo recipe: it has read the znodes and
    found that it must wait for a watch (a call still waiting for its reply waits in kazoo's
    handler, not in the recipe)."""
    frame = sys._current_frames().get(thread.ident)
    if frame is None or not frame.f_code.co_filename.endswith("threading.py"):
        return False
    while frame is not None and frame.f_code.co_filename.endswith("threading.py"):
        frame = frame.f_back
    return frame is not None and "/kazoo/recipe/" in frame.f_code.co_filename


def waits_without_passing(thread, passed, what):
    """Waits until `thread` blocks inside its recipe, which it does only after looking at the
    znodes; fails if it passed (`passed()` true) instead."""
    wait_until(lambda: passed() or waiting_in_recipe(thread), "%s: it waits" % what)
    check(not passed(), what)


class Run:
    def __init__(self, hosts):
        self.hosts = hosts
        self.root = "/kazoo-interop-%s" % uuid.uuid4().hex[:8]
        self.clients = []

    def client(self, **kw):
        zk = KazooClient(hosts=self.hosts, timeout=10.0, **kw)
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

    # ------------------------------------------------------------------ basics
    def connect(self):
        self.zk = self.client()
        check(self.zk.connected, "connect", "client not connected")
        check(self.zk.state == KazooState.CONNECTED, "connect", "state %s" % self.zk.state)
        sid, passwd = self.zk.client_id
        check(sid != 0, "connect", "session id is 0")
        eq(len(passwd), 16, "connect: session password length")
        ok("connect (session 0x%x)" % sid)
        self.zk2 = self.client()
        check(self.zk2.client_id[0] != sid, "second session", "same session id twice")
        ok("second client gets a different session")

    def four_letter_words(self):
        eq(self.zk.command(b"ruok"), "imok", "4lw ruok")
        ok("4lw ruok -> imok")
        v = self.zk.server_version()
        check(isinstance(v, tuple) and len(v) >= 2 and v[0] == 3, "server_version (envi zookeeper.version)", repr(v))
        ok("server_version() from envi: %s" % ".".join(str(x) for x in v))

    def crud(self):
        zk = self.zk
        root_path = zk.create(self.root, b"root")
        eq(root_path, self.root, "create returns the path")
        data, st = zk.get(self.root)
        eq(data, b"root", "get data")
        check(isinstance(st, ZnodeStat), "get stat type")
        eq((st.version, st.cversion, st.aversion, st.ephemeralOwner, st.dataLength, st.numChildren),
           (0, 0, 0, 0, 4, 0), "stat of a new node (version,cversion,aversion,owner,dataLength,numChildren)")
        eq(st.czxid, st.mzxid, "new node czxid == mzxid")
        eq(st.pzxid, st.czxid, "new node pzxid == czxid")
        check(abs(st.ctime / 1000.0 - time.time()) < 120, "ctime is wall-clock ms", str(st.ctime))
        eq(st.ctime, st.mtime, "new node ctime == mtime")
        ok("create + get with a fresh stat")

        path, st2 = zk.create(self.p("c2"), b"two", include_data=True)
        eq(path, self.p("c2"), "create2 path")
        eq((st2.version, st2.dataLength, st2.numChildren), (0, 3, 0), "create2 stat")
        check(st2.czxid > st.czxid, "create2 zxid increases")
        ok("create with include_data (create2) returns the stat")

        _, parent = zk.get(self.root)
        eq(parent.numChildren, 1, "parent numChildren after create")
        eq(parent.cversion, 1, "parent cversion after create")
        eq(parent.pzxid, st2.czxid, "parent pzxid = child czxid")
        eq(parent.mzxid, st.mzxid, "parent mzxid unchanged by child create")
        ok("parent cversion/pzxid/numChildren follow child creation")

        raises(NodeExistsError, lambda: zk.create(self.p("c2")), "create existing -> NodeExistsError")
        ok("NodeExistsError")
        raises(NoNodeError, lambda: zk.create(self.p("missing", "child")), "create under missing parent -> NoNodeError")
        raises(NoNodeError, lambda: zk.get(self.p("missing")), "get missing -> NoNodeError")
        raises(NoNodeError, lambda: zk.set(self.p("missing"), b"x"), "set missing -> NoNodeError")
        raises(NoNodeError, lambda: zk.delete(self.p("missing")), "delete missing -> NoNodeError")
        raises(NoNodeError, lambda: zk.get_children(self.p("missing")), "get_children missing -> NoNodeError")
        eq(zk.exists(self.p("missing")), None, "exists missing -> None")
        ok("NoNodeError for create/get/set/delete/get_children; exists -> None")

        st = zk.set(self.p("c2"), b"two-b", version=0)
        eq((st.version, st.dataLength), (1, 5), "set with right version bumps version")
        check(st.mzxid > st.czxid, "set moves mzxid")
        raises(BadVersionError, lambda: zk.set(self.p("c2"), b"stale", version=0), "set stale version -> BadVersionError")
        eq(zk.get(self.p("c2"))[0], b"two-b", "data after a rejected set")
        st = zk.set(self.p("c2"), b"any", version=-1)
        eq(st.version, 2, "set with version -1")
        ok("set with versions; BadVersionError")

        st = zk.exists(self.p("c2"))
        check(st is not None and st.version == 2, "exists returns the stat")
        ok("exists returns the stat")

        zk.create(self.p("c2", "kid"))
        raises(NotEmptyError, lambda: zk.delete(self.p("c2")), "delete non-empty -> NotEmptyError")
        ok("NotEmptyError")
        raises(BadVersionError, lambda: zk.delete(self.p("c2", "kid"), version=5), "delete wrong version -> BadVersionError")
        zk.delete(self.p("c2", "kid"), version=0)
        eq(zk.exists(self.p("c2", "kid")), None, "deleted node is gone")
        ok("delete with versions; BadVersionError on delete")

        # ZooKeeper stores only a count of child creations (it also names sequential nodes);
        # the cversion clients see is 2 * creations - numChildren, so a delete counts too.
        _, pst = zk.get(self.p("c2"))
        eq(pst.numChildren, 0, "numChildren after delete")
        eq(pst.cversion, 2, "client cversion after one child create + delete")
        check(pst.pzxid > pst.mzxid, "pzxid moves on child delete")
        seq = zk.create(self.p("c2", "s-"), sequence=True)
        eq(seq, self.p("c2", "s-0000000001"), "sequence number counts creations only, not deletes")
        _, pst = zk.get(self.p("c2"))
        eq((pst.cversion, pst.numChildren), (3, 1), "cversion after a second create (2*2-1)")
        zk.delete(seq)
        ok("child delete: numChildren drops, cversion = 2*creates - numChildren, sequence = creates")

        # empty, binary and large values
        zk.create(self.p("empty"))
        d, st = zk.get(self.p("empty"))
        eq((d, st.dataLength), (b"", 0), "empty value")
        blob = bytes(range(256)) * 4
        zk.create(self.p("bin"), blob)
        eq(zk.get(self.p("bin"))[0], blob, "binary value round trip")
        big = os.urandom(512 * 1024)
        zk.set(self.p("bin"), big)
        d, st = zk.get(self.p("bin"))
        check(d == big and st.dataLength == len(big), "512 KiB value round trip")
        uni = "zk-ünïcødé-☃".encode("utf-8")
        zk.create(self.p("ünï"), uni)
        eq(zk.get(self.p("ünï"))[0], uni, "unicode path and value")
        ok("empty, binary, 512 KiB and unicode values/paths")

        zk.ensure_path(self.p("deep", "a", "b", "c"))
        check(zk.exists(self.p("deep", "a", "b", "c")) is not None, "ensure_path")
        zk.create(self.p("mk", "x", "y"), b"v", makepath=True)
        eq(zk.get(self.p("mk", "x", "y"))[0], b"v", "create makepath")
        ok("ensure_path and create(makepath=True)")

        kids = zk.get_children(self.root)
        eq(sorted(kids), sorted(["c2", "empty", "bin", "ünï", "deep", "mk"]), "get_children")
        kids2, st = zk.get_children(self.root, include_data=True)
        eq(sorted(kids2), sorted(kids), "get_children include_data children")
        eq(st.numChildren, len(kids), "get_children include_data stat")
        ok("get_children and get_children(include_data) (getChildren2)")

        zk.delete(self.p("deep"), recursive=True)
        eq(zk.exists(self.p("deep")), None, "recursive delete")
        ok("recursive delete")

        zk.sync(self.root)
        # a write through one session is visible to another after sync
        self.zk2.sync(self.p("c2"))
        eq(self.zk2.get(self.p("c2"))[0], b"any", "second client sees the data")
        ok("sync; second client reads the write")


    # --------------------------------------------------------- ephemeral / seq
    def ephemeral_sequence(self):
        zk, zk2 = self.zk, self.zk2
        base = self.p("es")
        zk.create(base)
        eph = self.client()
        eph.create(base + "/e", b"tmp", ephemeral=True)
        st = zk.exists(base + "/e")
        check(st is not None, "ephemeral visible to other sessions")
        eq(st.ephemeralOwner, eph.client_id[0], "ephemeralOwner = creating session id")
        raises(NoChildrenForEphemeralsError, lambda: eph.create(base + "/e/kid"), "child of ephemeral")
        ok("ephemeral node: owner = session; NoChildrenForEphemeralsError")

        gone = threading.Event()

        def on_delete(event):
            if event.type == EventType.DELETED:
                gone.set()
        zk2.exists(base + "/e", watch=on_delete)
        eph.stop()
        eph.close()
        check(gone.wait(WAIT), "ephemeral deleted when its session closes (watch fired)")
        eq(zk.exists(base + "/e"), None, "ephemeral gone after session close")
        ok("ephemeral removed on session close, NodeDeleted delivered")

        names = [zk.create(base + "/q-", b"", sequence=True) for _ in range(3)]
        suffixes = [n.rsplit("q-", 1)[1] for n in names]
        for s in suffixes:
            check(len(s) == 10 and s.isdigit(), "sequence suffix is 10 digits", s)
        nums = [int(s) for s in suffixes]
        # /e was created then deleted: cversion 1 before the first sequential create
        eq(nums, [1, 2, 3], "sequence numbers = parent cversion at creation")
        zk.create(base + "/plain")
        n = zk.create(base + "/q-", sequence=True)
        eq(n, base + "/q-0000000005", "plain create also advances the sequence")
        n = zk.create(base + "/", sequence=True)
        eq(n, base + "/0000000006", "sequence node with an empty prefix")
        ok("sequence nodes: %s .. %s" % (names[0].rsplit("/", 1)[1], n.rsplit("/", 1)[1]))

        en = zk2.create(base + "/eq-", b"x", ephemeral=True, sequence=True)
        eq(en, base + "/eq-0000000007", "ephemeral sequential name")
        eq(zk.exists(en).ephemeralOwner, zk2.client_id[0], "ephemeral sequential owner")
        ok("ephemeral sequential node")

    # ---------------------------------------------------------------- watches
    def watches(self):
        zk, zk2 = self.zk, self.zk2
        base = self.p("w")
        zk.create(base, b"v0")

        # one-shot watches
        ev = queue.Queue()
        zk.get(base, watch=ev.put)
        zk2.set(base, b"v1")
        e = take(ev, "getData watch")
        eq((e.type, e.path), (EventType.CHANGED, base), "getData watch event")
        zk2.set(base, b"v2")
        watch_fence(zk, zk2, base + "/fence", "a watch fired after the second set")
        check(ev.empty(), "one-shot data watch fired twice")
        ok("one-shot getData watch fires NodeDataChanged once")

        zk.exists(base + "/new", watch=ev.put)
        zk2.create(base + "/new")
        e = take(ev, "exists watch on missing node")
        eq((e.type, e.path), (EventType.CREATED, base + "/new"), "exists watch event")
        ok("exists watch on a missing node fires NodeCreated")

        zk.get_children(base, watch=ev.put)
        zk2.create(base + "/new2")
        e = take(ev, "child watch")
        eq((e.type, e.path), (EventType.CHILD, base), "child watch event")
        zk.get(base + "/new2", watch=ev.put)
        zk2.delete(base + "/new2")
        e = take(ev, "data watch on delete")
        eq((e.type, e.path), (EventType.DELETED, base + "/new2"), "data watch on delete")
        ok("getChildren watch fires NodeChildrenChanged; data watch fires NodeDeleted")

        # setting the data to the same value still fires
        zk.get(base, watch=ev.put)
        zk2.set(base, b"v2")
        e = take(ev, "same-value set fires data watch")
        eq(e.type, EventType.CHANGED, "same-value set event")
        ok("set to the same value still fires NodeDataChanged")

        # DataWatch recipe
        seen = queue.Queue()

        @zk.DataWatch(base + "/dw")
        def dw(data, stat, event):
            seen.put((data, stat.version if stat else None, event.type if event else None))
        eq(take(seen, "DataWatch initial"), (None, None, None), "DataWatch initial call on missing node")
        zk2.create(base + "/dw", b"a")
        eq(take(seen, "DataWatch create"), (b"a", 0, EventType.CREATED), "DataWatch after create")
        zk2.set(base + "/dw", b"b")
        eq(take(seen, "DataWatch set"), (b"b", 1, EventType.CHANGED), "DataWatch after set")
        zk2.delete(base + "/dw")
        eq(take(seen, "DataWatch delete"), (None, None, EventType.DELETED), "DataWatch after delete")
        ok("DataWatch: initial, created, changed, deleted")

        # ChildrenWatch recipe
        kids = queue.Queue()
        zk.create(base + "/cw")

        @zk.ChildrenWatch(base + "/cw")
        def cw(children):
            kids.put(sorted(children))
        eq(take(kids, "ChildrenWatch initial"), [], "ChildrenWatch initial")
        zk2.create(base + "/cw/a")
        eq(take(kids, "ChildrenWatch add a"), ["a"], "ChildrenWatch after create a")
        zk2.create(base + "/cw/b")
        eq(take(kids, "ChildrenWatch add b"), ["a", "b"], "ChildrenWatch after create b")
        zk2.delete(base + "/cw/a")
        eq(take(kids, "ChildrenWatch delete a"), ["b"], "ChildrenWatch after delete a")
        zk2.set(base + "/cw/b", b"data change is not a child change")
        # the next call is for the next child change, not for the data change before it
        zk2.create(base + "/cw/c")
        eq(take(kids, "ChildrenWatch add c"), ["b", "c"], "ChildrenWatch after a child's data change, then create c")
        check(kids.empty(), "ChildrenWatch fired on a child's data change")
        ok("ChildrenWatch: initial, add, add, remove; not on a child's data change, then add")

    # ----------------------------------------------------------- transactions
    def transactions(self):
        zk = self.zk
        base = self.p("tx")
        zk.create(base)
        zk.create(base + "/upd", b"0")
        zk.create(base + "/del")
        t = zk.transaction()
        t.create(base + "/new", b"n")
        t.create(base + "/seq-", b"s", sequence=True)
        t.set_data(base + "/upd", b"1", version=0)
        t.check(base + "/upd", 1)
        t.delete(base + "/del", version=0)
        res = t.commit()
        eq(len(res), 5, "commit result count")
        eq(res[0], base + "/new", "tx create result")
        check(isinstance(res[1], str) and res[1].startswith(base + "/seq-") and len(res[1]) == len(base) + 15,
              "tx sequential create result", repr(res[1]))
        check(isinstance(res[2], ZnodeStat) and res[2].version == 1, "tx set_data result", repr(res[2]))
        eq(res[3], True, "tx check result")
        eq(res[4], True, "tx delete result")
        eq(zk.get(base + "/upd")[0], b"1", "tx set applied")
        eq(zk.exists(base + "/del"), None, "tx delete applied")
        eq(zk.get(base + "/new")[0], b"n", "tx create applied")
        ok("transaction commit: create, sequential create, set, check, delete")

        st_new = zk.exists(base + "/new")
        st_upd = zk.exists(base + "/upd")
        eq(st_new.czxid, st_upd.mzxid, "all ops of one multi share one zxid")
        ok("all ops in a multi share one zxid")

        with zk.transaction() as t2:
            t2.create(base + "/ctx")
        eq(t2.committed, True, "transaction context manager commits")

        before = zk.get(base)[1]
        t = zk.transaction()
        t.create(base + "/never", b"x")
        t.set_data(base + "/upd", b"2")
        t.check(base + "/upd", 0)  # wrong: version is 1
        t.delete(base + "/new")
        res = t.commit()
        eq(len(res), 4, "failed commit result count")
        check(isinstance(res[0], RolledBackError), "op before the failure -> RolledBackError", repr(res[0]))
        check(isinstance(res[1], RolledBackError), "op before the failure -> RolledBackError", repr(res[1]))
        check(isinstance(res[2], BadVersionError), "failing check -> BadVersionError", repr(res[2]))
        check(isinstance(res[3], RuntimeInconsistency), "op after the failure -> RuntimeInconsistency", repr(res[3]))
        eq(zk.exists(base + "/never"), None, "failed transaction created nothing")
        eq(zk.get(base + "/upd")[0], b"1", "failed transaction set nothing")
        check(zk.exists(base + "/new") is not None, "failed transaction deleted nothing")
        after = zk.get(base)[1]
        eq((after.cversion, after.numChildren), (before.cversion, before.numChildren), "parent untouched by failed multi")
        ok("failed transaction: RolledBack, RolledBack, BadVersion, RuntimeInconsistency; nothing applied")

        t = zk.transaction()
        t.create(base + "/dup")
        t.create(base + "/dup")
        res = t.commit()
        check(isinstance(res[0], RolledBackError) and isinstance(res[1], NodeExistsError),
              "create twice in one multi", repr(res))
        t = zk.transaction()
        t.delete(base + "/missing")
        res = t.commit()
        check(isinstance(res[0], NoNodeError), "delete missing in multi", repr(res))
        eq(zk.exists(base + "/dup"), None, "nothing from failed multi")
        ok("failed transaction: NodeExists on second create of same path; NoNode")

    # ------------------------------------------------------------------ ACLs
    def acls(self):
        zk, zk2 = self.zk, self.zk2
        base = self.p("acl")
        zk.create(base)
        alice = self.client(auth_data=[("digest", "alice:secret")])
        alice_acl = make_digest_acl("alice", "secret", all=True)
        eq(alice_acl.id.id, make_digest_acl_credential("alice", "secret"), "digest credential")
        alice.create(base + "/private", b"secret data", acl=[alice_acl])
        eq(alice.get(base + "/private")[0], b"secret data", "owner reads")
        raises(NoAuthError, lambda: zk2.get(base + "/private"), "read without auth -> NoAuthError")
        raises(NoAuthError, lambda: zk2.set(base + "/private", b"x"), "write without auth -> NoAuthError")
        raises(NoAuthError, lambda: zk2.create(base + "/private/kid"), "create child without auth -> NoAuthError")
        raises(NoAuthError, lambda: zk2.get_children(base + "/private"), "list without auth -> NoAuthError")
        check(zk2.exists(base + "/private") is not None, "exists needs no permission")
        ok("digest ACL: NoAuthError for get/set/create/get_children by others; exists allowed")

        acls, st = alice.get_acls(base + "/private")
        eq(len(acls), 1, "getACL count")
        eq((acls[0].perms, acls[0].id.scheme, acls[0].id.id), (Permissions.ALL, "digest", alice_acl.id.id), "getACL entry")
        eq(st.aversion, 0, "aversion of a new node")
        ok("get_acls returns the digest ACL")

        wrong = self.client()
        wrong.add_auth("digest", "alice:wrong")
        raises(NoAuthError, lambda: wrong.get(base + "/private"), "wrong password -> NoAuthError")
        ok("add_auth with the wrong password is accepted but grants nothing")

        zk2.add_auth("digest", "alice:secret")
        eq(zk2.get(base + "/private")[0], b"secret data", "read after add_auth")
        zk2.set(base + "/private", b"changed")
        ok("add_auth digest grants access")

        # read-only for the world, all for alice
        ro = [ACL(Permissions.READ, Id("world", "anyone")), alice_acl]
        raises(BadVersionError, lambda: alice.set_acls(base + "/private", ro, version=3), "setACL wrong aversion")
        st = alice.set_acls(base + "/private", ro, version=0)
        eq(st.aversion, 1, "aversion after setACL")
        eq(zk.get(base + "/private")[0], b"changed", "world can read now")
        raises(NoAuthError, lambda: zk.set(base + "/private", b"no"), "world cannot write")
        ok("set_acls with version; world:anyone READ allows get but not set")

        # create-only ACL on a parent: DELETE missing
        alice.create(base + "/nodelete", acl=[ACL(Permissions.CREATE | Permissions.READ, Id("world", "anyone")), alice_acl])
        zk.create(base + "/nodelete/kid")
        raises(NoAuthError, lambda: zk.delete(base + "/nodelete/kid"), "delete needs DELETE on the parent")
        ok("delete needs DELETE permission on the parent")

        # the "auth" scheme: expands to the session's authenticated ids (kazoo sends the empty
        # id as a null string, length -1)
        alice.create(base + "/authscheme", b"a", acl=[ACL(Permissions.ALL, Id("auth", ""))])
        acls, _ = alice.get_acls(base + "/authscheme")
        eq([(a.perms, a.id.scheme, a.id.id) for a in acls], [(Permissions.ALL, "digest", alice_acl.id.id)],
           "auth scheme stored as the digest id")
        raises(InvalidACLError, lambda: zk.create(base + "/bad", acl=[ACL(Permissions.ALL, Id("auth", ""))]),
               "auth scheme without any authenticated id -> InvalidACLError")
        ok("auth scheme expands to the digest id; InvalidACLError without an authenticated id")

        # ADMIN is needed for setACL
        raises(NoAuthError, lambda: zk.set_acls(base + "/private", OPEN_ACL_UNSAFE), "setACL without ADMIN")
        ok("set_acls without ADMIN -> NoAuthError")

    # ---------------------------------------------------------------- recipes
    def lock(self):
        a, b = self.zk, self.zk2
        path = self.p("lock")
        la = a.Lock(path, "A")
        lb = b.Lock(path, "B")
        check(la.acquire(timeout=WAIT), "A acquires the free lock")
        raises(LockTimeout, lambda: lb.acquire(timeout=0.5), "B times out while A holds the lock")
        eq(la.contenders(), ["A"], "contenders while A holds it (B gave up)")
        got = threading.Event()

        def b_wait():
            if lb.acquire(timeout=WAIT):
                got.set()
        t = threading.Thread(target=b_wait, daemon=True)
        t.start()
        wait_until(lambda: len(la.contenders()) == 2, "B is queued behind A")
        eq(la.contenders(), ["A", "B"], "contenders in order")
        waits_without_passing(t, got.is_set, "B must not get the lock while A holds it")
        la.release()
        check(got.wait(WAIT), "B gets the lock after A releases")
        lb.release()
        t.join(WAIT)
        ok("Lock: A holds, B times out, B queues, B acquires after release")

        # mutual exclusion under contention
        inside = [0]
        worst = [0]
        total = [0]
        errors = []
        guard = threading.Lock()

        def worker(zk, ident):
            try:
                lk = zk.Lock(path + "-mx", ident)
                for _ in range(8):
                    with lk:
                        with guard:
                            inside[0] += 1
                            worst[0] = max(worst[0], inside[0])
                        time.sleep(0.005)
                        with guard:
                            inside[0] -= 1
                            total[0] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=worker, args=(zk, "w%d" % i), daemon=True)
              for i, zk in enumerate([a, b, a, b])]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        check(not errors, "lock workers raised", repr(errors))
        eq(total[0], 32, "all critical sections ran")
        eq(worst[0], 1, "at most one holder at a time")
        ok("Lock: 4 contenders x 8 critical sections, never more than one holder")

    def election(self):
        paths = self.p("election")
        c = self.client()
        e1, e2, e3 = self.zk.Election(paths, "first"), self.zk2.Election(paths, "second"), c.Election(paths, "third")
        leaders = queue.Queue()
        release = {"first": threading.Event(), "second": threading.Event(), "third": threading.Event()}

        def lead(name):
            leaders.put(name)
            release[name].wait(WAIT * 2)
        t1 = threading.Thread(target=e1.run, args=(lead, "first"), daemon=True)
        t1.start()
        eq(take(leaders, "first leader"), "first", "first candidate becomes leader")
        t2 = threading.Thread(target=e2.run, args=(lead, "second"), daemon=True)
        t2.start()
        wait_until(lambda: len(e1.contenders()) == 2, "two contenders")
        t3 = threading.Thread(target=e3.run, args=(lead, "third"), daemon=True)
        t3.start()
        wait_until(lambda: len(e1.contenders()) == 3, "three contenders")
        eq(e1.contenders(), ["first", "second", "third"], "contenders in order")
        e3.cancel()
        t3.join(WAIT)
        check(not t3.is_alive(), "cancelled candidate's run() returns")
        check(leaders.empty(), "no second leader while the first leads")
        release["first"].set()
        t1.join(WAIT)
        eq(take(leaders, "second leader"), "second", "second candidate leads after the first steps down")
        release["second"].set()
        t2.join(WAIT)
        check(leaders.empty(), "cancelled candidate never led")
        ok("Election: first leads, third cancels, second leads after the first steps down")

    def barriers(self):
        path = self.p("barrier")
        b1 = self.zk.Barrier(path)
        b2 = self.zk2.Barrier(path)
        b1.create()
        check(self.zk.exists(path) is not None, "barrier create makes the node")
        eq(b2.wait(timeout=0.3), False, "wait on a set barrier times out")
        passed = threading.Event()

        def waiter():
            if b2.wait(timeout=WAIT):
                passed.set()
        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        waits_without_passing(t, passed.is_set, "waiter passed a set barrier")
        check(b1.remove(), "barrier remove")
        check(passed.wait(WAIT), "waiter passes once the barrier is removed")
        t.join(WAIT)
        ok("Barrier: wait blocks until remove")

        dpath = self.p("double-barrier")
        entered = queue.Queue()
        left = queue.Queue()
        errors = []

        def participant(zk, ident):
            try:
                db = zk.DoubleBarrier(dpath, 2, ident)
                db.enter()
                entered.put(ident)
                db.leave()
                left.put(ident)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        t1 = threading.Thread(target=participant, args=(self.zk, "p1"), daemon=True)
        t1.start()
        waits_without_passing(t1, lambda: not entered.empty(), "one participant passed a 2-party double barrier alone")
        t2 = threading.Thread(target=participant, args=(self.zk2, "p2"), daemon=True)
        t2.start()
        t1.join(WAIT)
        t2.join(WAIT)
        check(not errors, "double barrier participants raised", repr(errors))
        eq(sorted([entered.get_nowait(), entered.get_nowait()]), ["p1", "p2"], "both entered")
        eq(sorted([left.get_nowait(), left.get_nowait()]), ["p1", "p2"], "both left")
        ok("DoubleBarrier: enter waits for 2 participants, both leave")

    def queues(self):
        q1 = self.zk.Queue(self.p("queue"))
        q2 = self.zk2.Queue(self.p("queue"))
        for v in (b"one", b"two", b"three"):
            q1.put(v)
        q1.put(b"urgent", priority=1)
        eq(len(q2), 4, "queue length")
        got = [q2.get() for _ in range(4)]
        eq(got, [b"urgent", b"one", b"two", b"three"], "queue order (priority first, then FIFO)")
        eq(q2.get(), None, "empty queue get -> None")
        ok("Queue: priority then FIFO order across clients")

        lq = self.zk.LockingQueue(self.p("lqueue"))
        lq2 = self.zk2.LockingQueue(self.p("lqueue"))
        lq.put_all([b"a", b"b"])
        eq(lq2.get(timeout=WAIT), b"a", "locking queue get")
        eq(lq.get(timeout=0.5), b"b", "second consumer skips the locked item")
        check(lq2.consume(), "consume")
        check(lq.release(), "release puts the item back")
        eq(lq2.get(timeout=WAIT), b"b", "released item is available again")
        check(lq2.consume(), "consume 2")
        eq(len(lq), 0, "locking queue empty")
        ok("LockingQueue: get/consume/release")

    def counter(self):
        path = self.p("counter")
        errors = []

        def bump(zk, n):
            try:
                c = zk.Counter(path)
                for _ in range(n):
                    c += 1
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=bump, args=(zk, 15), daemon=True) for zk in (self.zk, self.zk2, self.zk, self.zk2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        check(not errors, "counter workers raised", repr(errors))
        eq(self.zk.Counter(path).value, 60, "concurrent increments add up")
        c = self.zk.Counter(path + "-f", default=0.5)
        c += 0.25
        c -= 1.0
        eq(c.value, -0.25, "float counter")
        ok("Counter: 4 x 15 concurrent increments = 60; float counter")

    def tree_cache(self):
        zk, zk2 = self.zk, self.zk2
        base = self.p("tc")
        zk.create(base, b"r")
        zk.create(base + "/pre", b"p")
        events = queue.Queue()
        cache = TreeCache(zk, base)
        cache.listen(lambda ev: events.put(ev))
        cache.start()

        def expect(ev_type, path, data=None, what=""):
            deadline = time.time() + WAIT
            while time.time() < deadline:
                ev = take(events, what or "tree cache event %s %s" % (ev_type, path), deadline - time.time())
                if ev.event_type == TreeEvent.CONNECTION_RECONNECTED:
                    continue
                got_path = ev.event_data.path if ev.event_data is not None else None
                eq((ev.event_type, got_path), (ev_type, path), what or "tree cache event")
                if data is not None:
                    eq(ev.event_data.data, data, (what or "tree cache event") + " data")
                return ev
            raise CheckFailed("tree cache: no %s for %s" % (ev_type, path))

        # initial load: root + pre added (in either order), then INITIALIZED
        initial = set()
        while True:
            ev = take(events, "tree cache initial load")
            if ev.event_type == TreeEvent.INITIALIZED:
                break
            if ev.event_type == TreeEvent.NODE_ADDED:
                initial.add(ev.event_data.path)
        eq(initial, {base, base + "/pre"}, "tree cache initial NODE_ADDED set")
        eq(cache.get_data(base + "/pre").data, b"p", "cache get_data")
        ok("TreeCache: initial load and INITIALIZED")

        zk2.create(base + "/a", b"1")
        expect(TreeEvent.NODE_ADDED, base + "/a", b"1", "NODE_ADDED a")
        zk2.create(base + "/a/b", b"2")
        expect(TreeEvent.NODE_ADDED, base + "/a/b", b"2", "NODE_ADDED a/b")
        zk2.set(base + "/a/b", b"3")
        expect(TreeEvent.NODE_UPDATED, base + "/a/b", b"3", "NODE_UPDATED a/b")
        eq(cache.get_children(base + "/a"), frozenset(["b"]), "cache get_children")
        zk2.delete(base + "/a/b")
        expect(TreeEvent.NODE_REMOVED, base + "/a/b", None, "NODE_REMOVED a/b")
        zk2.delete(base + "/a")
        expect(TreeEvent.NODE_REMOVED, base + "/a", None, "NODE_REMOVED a")
        eq(cache.get_children(base), frozenset(["pre"]), "cache children after removals")
        cache.close()
        ok("TreeCache: NODE_ADDED/NODE_UPDATED/NODE_REMOVED for a nested subtree")

    def party(self):
        path = self.p("party")
        p1 = self.zk.Party(path, "alpha")
        p2 = self.zk2.Party(path, "beta")
        p1.join()
        p2.join()
        eq(len(p1), 2, "party size")
        eq(sorted(p1), ["alpha", "beta"], "party members")
        p2.leave()
        eq(sorted(p1), ["alpha"], "party after leave")
        sp = self.zk2.ShallowParty(path + "-shallow", "gamma")
        sp.join()
        eq(list(self.zk.ShallowParty(path + "-shallow")), ["gamma"], "shallow party members")
        p1.leave()
        sp.leave()
        ok("Party and ShallowParty: join, members, leave")

    def semaphore(self):
        path = self.p("semaphore")
        c3 = self.client()
        s1 = self.zk.Semaphore(path, "s1", max_leases=2)
        s2 = self.zk2.Semaphore(path, "s2", max_leases=2)
        s3 = c3.Semaphore(path, "s3", max_leases=2)
        check(s1.acquire(timeout=WAIT), "first lease")
        check(s2.acquire(timeout=WAIT), "second lease")
        eq(s3.acquire(blocking=False), False, "third lease refused while two are held")
        eq(sorted(s1.lease_holders()), ["s1", "s2"], "lease holders")
        s1.release()
        check(s3.acquire(timeout=WAIT), "third lease after a release")
        eq(sorted(s2.lease_holders()), ["s2", "s3"], "lease holders after handover")
        s2.release()
        s3.release()
        ok("Semaphore: 2 leases, third waits, gets one after a release")

    def cleanup(self):
        self.zk.add_auth("digest", "alice:secret")
        self.zk.delete(self.root, recursive=True)
        eq(self.zk.exists(self.root), None, "cleanup")
        ok("cleanup (recursive delete of the test root)")


def main():
    if len(sys.argv) != 2:
        print("usage: kazoo_interop.py HOST:PORT", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    deadline = float(os.environ.get("KAZOO_INTEROP_DEADLINE", "55"))

    def watchdog():
        print("FAIL watchdog: not finished after %.0f s" % deadline, flush=True)
        os._exit(2)
    timer = threading.Timer(deadline, watchdog)
    timer.daemon = True
    timer.start()

    run = Run(sys.argv[1])
    started = time.time()
    steps = [
        run.connect, run.four_letter_words, run.crud, run.ephemeral_sequence, run.watches,
        run.transactions, run.acls, run.lock, run.election, run.barriers, run.queues,
        run.counter, run.tree_cache, run.party, run.semaphore, run.cleanup,
    ]
    skip = set(filter(None, os.environ.get("KAZOO_INTEROP_SKIP", "").split(",")))
    steps = [st for st in steps if st.__name__ not in skip]
    try:
        for step in steps:
            t0 = time.time()
            step()
            print("# %s %.2fs" % (step.__name__, time.time() - t0), flush=True)
    except CheckFailed as e:
        print("FAIL %s (in %s)" % (e, step.__name__), flush=True)
        run.close_all()
        return 1
    except Exception as e:  # noqa: BLE001
        print("FAIL unexpected %s in %s: %s" % (type(e).__name__, step.__name__, e), flush=True)
        traceback.print_exc(file=sys.stdout)
        run.close_all()
        return 1
    run.close_all()
    timer.cancel()
    print("done: all checks passed in %.1fs" % (time.time() - started), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
