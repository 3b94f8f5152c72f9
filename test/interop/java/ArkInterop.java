// Interop check for Ark: drives a server with the real Apache ZooKeeper Java client (3.8) and
// checks the semantics a ZooKeeper client relies on. Usage: java ArkInterop <connectString>
// Prints one "ok <what>" line per passed check; on the first failure prints "FAIL [<step>] ..."
// and exits 1. Exits 2 if the whole run takes longer than the watchdog allows.
// Expects a server configured with extendedTypesEnabled=true (TTL nodes) and a container/TTL
// check interval of about a second (znode.container.checkIntervalMs=1000).

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

public final class ArkInterop {
    static final int SESSION_TIMEOUT_MS = 10000;
    static final long EVENT_WAIT_MS = 5000;
    static final long WATCHDOG_MS = 60000;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;

    static String connectString;
    static String base;
    static volatile String step = "startup";
    static final long started = System.currentTimeMillis();

    static final class Failure extends RuntimeException {
        Failure(String msg) { super(msg); }
    }

    interface Call { void run() throws Exception; }

    // ---------------------------------------------------------------- assertions

    static void fail(String msg) { throw new Failure(msg); }

    static void check(boolean cond, String msg) { if (!cond) fail(msg); }

    static void eq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) fail(what + ": expected <" + expected + "> but got <" + actual + ">");
    }

    static void ok(String what) {
        System.out.println("ok " + what);
        System.out.flush();
    }

    static void expectError(KeeperException.Code code, String what, Call c) throws Exception {
        try {
            c.run();
        } catch (KeeperException e) {
            if (e.code() != code) fail(what + ": expected " + code + " but got " + e.code() + " (" + e.getMessage() + ")");
            return;
        }
        fail(what + ": expected " + code + " but the call succeeded");
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static String s(byte[] data) { return data == null ? null : new String(data, StandardCharsets.UTF_8); }

    static String p(String rel) { return base + rel; }

    static String stat(Stat st) {
        if (st == null) return "null";
        return String.format("{czxid=0x%x mzxid=0x%x pzxid=0x%x ctime=%d mtime=%d version=%d cversion=%d aversion=%d owner=0x%x dataLength=%d numChildren=%d}",
            st.getCzxid(), st.getMzxid(), st.getPzxid(), st.getCtime(), st.getMtime(), st.getVersion(), st.getCversion(),
            st.getAversion(), st.getEphemeralOwner(), st.getDataLength(), st.getNumChildren());
    }

    static List<String> sorted(List<String> l) {
        List<String> c = new ArrayList<>(l);
        Collections.sort(c);
        return c;
    }

    // ---------------------------------------------------------------- events

    static String describe(WatchedEvent e) {
        return e.getType() + " " + e.getPath() + " (state " + e.getState() + ")";
    }

    /** A watcher that queues every event it is given. */
    static final class Recorder implements Watcher {
        final String name;
        final LinkedBlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();

        Recorder(String name) { this.name = name; }

        @Override
        public void process(WatchedEvent e) { q.add(e); }

        WatchedEvent next(String what) throws InterruptedException {
            WatchedEvent e = q.poll(EVENT_WAIT_MS, TimeUnit.MILLISECONDS);
            if (e == null) fail(what + ": watcher " + name + " got no event within " + EVENT_WAIT_MS + " ms");
            return e;
        }

        void expect(EventType type, String path, String what) throws InterruptedException {
            WatchedEvent e = next(what);
            if (e.getType() != type || !Objects.equals(path, e.getPath())) {
                fail(what + ": watcher " + name + " expected " + type + " " + path + " but got " + describe(e));
            }
        }

        /** No event may be pending once a round trip on zk has completed (events precede later replies). */
        void expectNone(ZooKeeper zk, String what) throws Exception {
            barrier(zk);
            WatchedEvent e = q.poll();
            if (e != null) fail(what + ": watcher " + name + " got unexpected event " + describe(e));
        }

        /** Waits for a session state event, skipping other state changes (Disconnected, SyncConnected). */
        void expectState(KeeperState state, long timeoutMs, String what) throws InterruptedException {
            long deadline = System.currentTimeMillis() + timeoutMs;
            List<String> seen = new ArrayList<>();
            for (;;) {
                long left = deadline - System.currentTimeMillis();
                WatchedEvent e = left > 0 ? q.poll(left, TimeUnit.MILLISECONDS) : null;
                if (e == null) fail(what + ": no " + state + " within " + timeoutMs + " ms (saw " + seen + ")");
                if (e.getType() == EventType.None && e.getState() == state) return;
                seen.add(describe(e));
            }
        }
    }

    /**
     * An async round trip whose callback runs on the client's event thread: when it returns,
     * every watch event the server sent before its reply has been delivered.
     */
    static void barrier(ZooKeeper zk) throws Exception {
        CountDownLatch l = new CountDownLatch(1);
        zk.exists("/", false, (rc, path, ctx, st) -> l.countDown(), null);
        if (!l.await(10, TimeUnit.SECONDS)) fail("barrier: no reply to exists(/) within 10 s");
    }

    static ZooKeeper connect(Watcher extra) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        Watcher w = e -> {
            if (e.getType() == EventType.None && e.getState() == KeeperState.SyncConnected) connected.countDown();
            if (extra != null) extra.process(e);
        };
        ZooKeeper zk = new ZooKeeper(connectString, SESSION_TIMEOUT_MS, w);
        if (!connected.await(15, TimeUnit.SECONDS)) {
            zk.close();
            fail("could not connect to " + connectString + " within 15 s");
        }
        return zk;
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: ArkInterop <connectString>");
            System.exit(64);
        }
        connectString = args[0];
        base = "/ark-interop-" + Long.toString(System.currentTimeMillis(), 36);
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(WATCHDOG_MS);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("FAIL [" + step + "] watchdog: still running after " + WATCHDOG_MS + " ms");
            System.out.flush();
            Runtime.getRuntime().halt(2);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        try {
            run();
            System.out.println("done: all checks passed in " + (System.currentTimeMillis() - started) + " ms");
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            String msg = t instanceof Failure ? t.getMessage() : t.toString();
            System.out.println("FAIL [" + step + "] " + msg);
            System.out.flush();
            t.printStackTrace(System.err);
            System.exit(1);
        }
    }

    static void run() throws Exception {
        // ------------------------------------------------------------ connect
        step = "connect";
        ZooKeeper zk = connect(null);
        check(zk.getSessionId() != 0, "session id is 0");
        eq(SESSION_TIMEOUT_MS, zk.getSessionTimeout(), "negotiated session timeout (asked " + SESSION_TIMEOUT_MS + ", tickTime 2000)");
        eq(16, zk.getSessionPasswd().length, "session password length");
        ZooKeeper zk2 = connect(null);
        check(zk2.getSessionId() != zk.getSessionId(), "two connections got the same session id");
        ok("connect (two sessions, timeout " + zk.getSessionTimeout() + " ms)");

        // ------------------------------------------------------------ node types
        step = "create persistent (create2)";
        Stat st = new Stat();
        eq(base, zk.create(base, b("root"), OPEN, CreateMode.PERSISTENT, st), "created path");
        eq(0, st.getVersion(), "version of new node");
        eq(0, st.getCversion(), "cversion of new node");
        eq(0, st.getAversion(), "aversion of new node");
        eq(0L, st.getEphemeralOwner(), "ephemeralOwner of persistent node");
        eq(4, st.getDataLength(), "dataLength");
        eq(0, st.getNumChildren(), "numChildren");
        eq(st.getCzxid(), st.getMzxid(), "mzxid == czxid of new node");
        eq(st.getCzxid(), st.getPzxid(), "pzxid == czxid of new node");
        eq(st.getCtime(), st.getMtime(), "mtime == ctime of new node");
        check(Math.abs(st.getCtime() - System.currentTimeMillis()) < 60000, "ctime is not wall-clock ms: " + st.getCtime());
        check(st.getCzxid() > 0, "czxid must be positive: " + stat(st));
        eq(st, zk.exists(base, false), "exists() stat equals create2 stat");
        ok("create persistent with stat (create2)");

        step = "create persistent (create)";
        eq(p("/plain"), zk.create(p("/plain"), b("x"), OPEN, CreateMode.PERSISTENT), "created path");
        Stat parent = zk.exists(base, false);
        eq(1, parent.getCversion(), "parent cversion after one child create");
        eq(1, parent.getNumChildren(), "parent numChildren");
        eq(zk.exists(p("/plain"), false).getCzxid(), parent.getPzxid(), "parent pzxid == child czxid");
        check(parent.getMzxid() < parent.getPzxid(), "parent mzxid must not change on child create");
        ok("create persistent (plain create, parent cversion/pzxid)");

        step = "create ephemeral";
        eq(p("/eph"), zk.create(p("/eph"), b("e"), OPEN, CreateMode.EPHEMERAL, st), "created path");
        eq(zk.getSessionId(), st.getEphemeralOwner(), "ephemeralOwner == session id");
        expectError(KeeperException.Code.NOCHILDRENFOREPHEMERALS, "create under ephemeral",
            () -> zk.create(p("/eph/child"), b(""), OPEN, CreateMode.PERSISTENT));
        ok("create ephemeral (owner = session id; NoChildrenForEphemerals)");

        step = "create sequential";
        zk.create(p("/seq"), b(""), OPEN, CreateMode.PERSISTENT);
        eq(p("/seq/n-0000000000"), zk.create(p("/seq/n-"), b("0"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL), "first persistent sequential");
        eq(p("/seq/n-0000000001"), zk.create(p("/seq/n-"), b("1"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL), "second persistent sequential");
        eq(p("/seq/e-0000000002"), zk.create(p("/seq/e-"), b("2"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, st), "ephemeral sequential shares the parent counter");
        eq(zk.getSessionId(), st.getEphemeralOwner(), "ephemeral sequential owner");
        eq(p("/seq/0000000003"), zk.create(p("/seq/"), b("3"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL), "sequential with empty name prefix");
        zk.delete(p("/seq/n-0000000000"), -1);
        Stat seqStat = zk.exists(p("/seq"), false);
        // ZooKeeper stores the number of child creates as cversion and shows clients
        // 2 * stored - numChildren, i.e. creates + deletes; the sequence suffix is the stored count.
        eq(5, seqStat.getCversion(), "cversion seen by clients after 4 creates and 1 delete (creates + deletes)");
        eq(3, seqStat.getNumChildren(), "numChildren after delete");
        eq(p("/seq/n-0000000004"), zk.create(p("/seq/n-"), b("4"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            "sequence suffix after a delete is the number of creates, not the visible cversion");
        eq(6, zk.exists(p("/seq"), false).getCversion(), "visible cversion after 5 creates and 1 delete");
        ok("create persistent/ephemeral sequential (%010d suffix = number of child creates)");

        step = "create container";
        eq(p("/cont"), zk.create(p("/cont"), b(""), OPEN, CreateMode.CONTAINER, st), "created path");
        // stored (snapshot/log) as Long.MIN_VALUE, but clients are shown 0
        eq(0L, st.getEphemeralOwner(), "container ephemeralOwner as seen by clients");
        eq(st, zk.exists(p("/cont"), false), "container exists() stat");
        ok("create container (createContainer; clients see ephemeralOwner 0)");

        step = "create TTL";
        eq(p("/ttl"), zk.create(p("/ttl"), b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 600000), "created path");
        // stored as 0xFF00000000000000 | ttl, but clients are shown 0
        eq(0L, st.getEphemeralOwner(), "TTL ephemeralOwner as seen by clients");
        eq(st, zk.exists(p("/ttl"), false), "TTL exists() stat");
        eq(p("/ttl-0000000005"), zk.create(p("/ttl-"), b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 600000),
            "persistent sequential with TTL (5 children created under base so far)");
        eq(0L, st.getEphemeralOwner(), "TTL sequential ephemeralOwner as seen by clients");
        ok("create TTL and sequential TTL (createTTL)");

        step = "create errors";
        expectError(KeeperException.Code.NODEEXISTS, "create existing", () -> zk.create(base, b(""), OPEN, CreateMode.PERSISTENT));
        expectError(KeeperException.Code.NONODE, "create without parent", () -> zk.create(p("/missing/x"), b(""), OPEN, CreateMode.PERSISTENT));
        expectError(KeeperException.Code.INVALIDACL, "create with empty ACL", () -> zk.create(p("/noacl"), b(""), new ArrayList<>(), CreateMode.PERSISTENT));
        expectError(KeeperException.Code.INVALIDACL, "create with CREATOR_ALL_ACL and no auth",
            () -> zk.create(p("/noauth"), b(""), Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        ok("create errors (NodeExists, NoNode, InvalidACL)");

        // ------------------------------------------------------------ data
        step = "getData/setData";
        Stat dst = new Stat();
        eq("root", s(zk.getData(base, false, dst)), "getData");
        eq(0, dst.getVersion(), "version");
        Thread.sleep(5);
        Stat set1 = zk.setData(base, b("v1"), 0);
        eq(1, set1.getVersion(), "version after setData");
        eq(2, set1.getDataLength(), "dataLength after setData");
        eq(dst.getCzxid(), set1.getCzxid(), "czxid unchanged by setData");
        check(set1.getMzxid() > dst.getMzxid(), "mzxid grows on setData");
        check(set1.getMtime() > set1.getCtime(), "mtime > ctime after setData: " + stat(set1));
        eq(dst.getCversion(), set1.getCversion(), "cversion unchanged by setData");
        eq(dst.getPzxid(), set1.getPzxid(), "pzxid unchanged by setData");
        expectError(KeeperException.Code.BADVERSION, "setData with stale version", () -> zk.setData(base, b("v2"), 0));
        Stat set2 = zk.setData(base, b("v2"), -1);
        eq(2, set2.getVersion(), "version after setData(-1)");
        eq("v2", s(zk.getData(base, false, null)), "getData after setData");
        expectError(KeeperException.Code.NONODE, "setData on missing node", () -> zk.setData(p("/missing"), b(""), -1));
        expectError(KeeperException.Code.NONODE, "getData on missing node", () -> zk.getData(p("/missing"), false, null));
        zk.create(p("/empty"), new byte[0], OPEN, CreateMode.PERSISTENT);
        byte[] empty = zk.getData(p("/empty"), false, dst);
        check(empty == null || empty.length == 0, "empty data came back as " + Arrays.toString(empty));
        eq(0, dst.getDataLength(), "dataLength of empty node");
        byte[] big = new byte[500000];
        for (int i = 0; i < big.length; i++) big[i] = (byte) (i * 31);
        zk.create(p("/big"), big, OPEN, CreateMode.PERSISTENT);
        check(Arrays.equals(big, zk.getData(p("/big"), false, dst)), "500 kB data round trip");
        eq(big.length, dst.getDataLength(), "dataLength of 500 kB node");
        ok("getData/setData with versions, BadVersion, empty and 500 kB data");

        step = "delete";
        expectError(KeeperException.Code.BADVERSION, "delete with wrong version", () -> zk.delete(p("/plain"), 5));
        expectError(KeeperException.Code.NOTEMPTY, "delete non-empty node", () -> zk.delete(p("/seq"), -1));
        expectError(KeeperException.Code.NONODE, "delete missing node", () -> zk.delete(p("/missing"), -1));
        Stat beforeDel = zk.exists(base, false);
        zk.delete(p("/plain"), 0);
        eq(null, zk.exists(p("/plain"), false), "exists after delete");
        Stat afterDel = zk.exists(base, false);
        eq(beforeDel.getCversion() + 1, afterDel.getCversion(), "parent cversion seen by clients grows by one on delete");
        eq(beforeDel.getNumChildren() - 1, afterDel.getNumChildren(), "parent numChildren after delete");
        check(afterDel.getPzxid() > beforeDel.getPzxid(), "parent pzxid grows on delete");
        ok("delete with versions, NotEmpty, NoNode; parent cversion +1 and pzxid bumped");

        // ------------------------------------------------------------ exists / children
        step = "exists/getChildren";
        eq(null, zk.exists(p("/missing"), false), "exists on missing node");
        List<String> kids = sorted(zk.getChildren(base, false));
        eq(Arrays.asList("big", "cont", "empty", "eph", "seq", "ttl", "ttl-0000000005"), kids, "getChildren");
        Stat cst = new Stat();
        List<String> kids2 = zk.getChildren(p("/seq"), false, cst);
        eq(Arrays.asList("0000000003", "e-0000000002", "n-0000000001", "n-0000000004"), sorted(kids2), "getChildren2 children");
        eq(4, cst.getNumChildren(), "getChildren2 stat numChildren");
        eq(6, cst.getCversion(), "getChildren2 stat cversion (5 creates + 1 delete)");
        eq(zk.exists(p("/seq"), false), cst, "getChildren2 stat equals exists stat");
        expectError(KeeperException.Code.NONODE, "getChildren on missing node", () -> zk.getChildren(p("/missing"), false));
        List<String> rootKids = zk.getChildren("/", false);
        check(rootKids.contains("zookeeper"), "/ lists zookeeper: " + rootKids);
        eq(Arrays.asList("config", "quota"), sorted(zk.getChildren("/zookeeper", false)), "children of /zookeeper");
        ok("exists/getChildren/getChildren2 with Stat");

        // ------------------------------------------------------------ standard watches
        step = "data watch";
        zk.create(p("/w"), b("0"), OPEN, CreateMode.PERSISTENT);
        Recorder w = new Recorder("w");
        zk.getData(p("/w"), w, null);
        zk2.setData(p("/w"), b("1"), -1);
        w.expect(EventType.NodeDataChanged, p("/w"), "data watch after setData by another session");
        zk2.setData(p("/w"), b("2"), -1);
        w.expectNone(zk, "data watch is one-shot");
        zk.getData(p("/w"), w, null);
        zk.setData(p("/w"), b("3"), -1);
        w.expect(EventType.NodeDataChanged, p("/w"), "data watch after setData by the same session");
        ok("data watch (NodeDataChanged, one-shot)");

        step = "exist watch";
        eq(null, zk.exists(p("/w-new"), w), "exists on missing node");
        zk2.create(p("/w-new"), b(""), OPEN, CreateMode.PERSISTENT);
        w.expect(EventType.NodeCreated, p("/w-new"), "exist watch on create");
        ok("exist watch (NodeCreated)");

        step = "child watch";
        zk.getChildren(p("/w"), w);
        zk2.setData(p("/w"), b("4"), -1);
        w.expectNone(zk, "child watch does not fire on setData of the parent");
        zk2.create(p("/w/c1"), b(""), OPEN, CreateMode.PERSISTENT);
        w.expect(EventType.NodeChildrenChanged, p("/w"), "child watch on child create");
        zk.getChildren(p("/w"), w, new Stat());
        zk2.setData(p("/w/c1"), b("x"), -1);
        w.expectNone(zk, "child watch does not fire on setData of a child");
        zk2.delete(p("/w/c1"), -1);
        w.expect(EventType.NodeChildrenChanged, p("/w"), "child watch (getChildren2) on child delete");
        ok("child watch (NodeChildrenChanged on create and delete, not on setData)");

        step = "delete watches";
        Recorder wd = new Recorder("wd");
        Recorder wc = new Recorder("wc");
        zk2.create(p("/w-new/k"), b(""), OPEN, CreateMode.PERSISTENT);
        eq(true, zk.exists(p("/w-new/k"), wd) != null, "exists on existing node");
        zk.getChildren(p("/w-new"), wc);
        zk2.delete(p("/w-new/k"), -1);
        wd.expect(EventType.NodeDeleted, p("/w-new/k"), "exists-registered data watch on delete");
        wc.expect(EventType.NodeChildrenChanged, p("/w-new"), "parent child watch on child delete");
        zk.getData(p("/w-new"), wd, null);
        zk.getChildren(p("/w-new"), wc);
        zk2.delete(p("/w-new"), -1);
        wd.expect(EventType.NodeDeleted, p("/w-new"), "data watch on delete");
        wc.expect(EventType.NodeDeleted, p("/w-new"), "child watch on delete of the watched node");
        wd.expectNone(zk, "no second event for the data watcher");
        wc.expectNone(zk, "no second event for the child watcher");
        ok("NodeDeleted to data and child watchers");

        step = "removeWatches (data)";
        Recorder wr = new Recorder("wr");
        zk.getData(p("/w"), wr, null);
        zk.removeWatches(p("/w"), wr, Watcher.WatcherType.Data, false);
        wr.expect(EventType.DataWatchRemoved, p("/w"), "removed data watch is told so");
        zk2.setData(p("/w"), b("5"), -1);
        wr.expectNone(zk, "removed data watch does not fire");
        zk.getChildren(p("/w"), wr);
        zk.removeWatches(p("/w"), wr, Watcher.WatcherType.Children, false);
        wr.expect(EventType.ChildWatchRemoved, p("/w"), "removed child watch is told so");
        zk2.create(p("/w/c2"), b(""), OPEN, CreateMode.PERSISTENT);
        wr.expectNone(zk, "removed child watch does not fire");
        ok("removeWatches of data and child watches");

        // ------------------------------------------------------------ persistent watches
        step = "persistent watch";
        zk.create(p("/pw"), b(""), OPEN, CreateMode.PERSISTENT);
        Recorder pw = new Recorder("pw");
        zk.addWatch(p("/pw"), pw, AddWatchMode.PERSISTENT);
        zk2.setData(p("/pw"), b("1"), -1);
        pw.expect(EventType.NodeDataChanged, p("/pw"), "persistent watch on setData");
        zk2.setData(p("/pw"), b("2"), -1);
        pw.expect(EventType.NodeDataChanged, p("/pw"), "persistent watch fires again");
        zk2.create(p("/pw/c"), b(""), OPEN, CreateMode.PERSISTENT);
        pw.expect(EventType.NodeChildrenChanged, p("/pw"), "persistent watch on child create");
        zk2.setData(p("/pw/c"), b("x"), -1);
        zk2.create(p("/pw/c/d"), b(""), OPEN, CreateMode.PERSISTENT);
        pw.expectNone(zk, "persistent (non-recursive) watch ignores the subtree");
        zk2.delete(p("/pw/c/d"), -1);
        zk2.delete(p("/pw/c"), -1);
        pw.expect(EventType.NodeChildrenChanged, p("/pw"), "persistent watch on child delete");
        zk2.delete(p("/pw"), -1);
        pw.expect(EventType.NodeDeleted, p("/pw"), "persistent watch on delete");
        zk2.create(p("/pw"), b(""), OPEN, CreateMode.PERSISTENT);
        pw.expect(EventType.NodeCreated, p("/pw"), "persistent watch survives delete and sees re-create");
        zk.removeWatches(p("/pw"), pw, Watcher.WatcherType.Any, false);
        pw.expect(EventType.PersistentWatchRemoved, p("/pw"), "removed persistent watch is told so");
        zk2.setData(p("/pw"), b("3"), -1);
        pw.expectNone(zk, "removed persistent watch does not fire");
        ok("persistent watch (addWatch PERSISTENT, removeWatches)");

        step = "persistent recursive watch";
        zk.create(p("/rw"), b(""), OPEN, CreateMode.PERSISTENT);
        Recorder rw = new Recorder("rw");
        zk.addWatch(p("/rw"), rw, AddWatchMode.PERSISTENT_RECURSIVE);
        zk2.create(p("/rw/a"), b(""), OPEN, CreateMode.PERSISTENT);
        rw.expect(EventType.NodeCreated, p("/rw/a"), "recursive watch on child create");
        zk2.create(p("/rw/a/b"), b(""), OPEN, CreateMode.PERSISTENT);
        rw.expect(EventType.NodeCreated, p("/rw/a/b"), "recursive watch on grandchild create");
        zk2.setData(p("/rw/a/b"), b("x"), -1);
        rw.expect(EventType.NodeDataChanged, p("/rw/a/b"), "recursive watch on grandchild setData");
        zk2.delete(p("/rw/a/b"), -1);
        rw.expect(EventType.NodeDeleted, p("/rw/a/b"), "recursive watch on grandchild delete");
        zk2.setData(p("/rw"), b("y"), -1);
        rw.expect(EventType.NodeDataChanged, p("/rw"), "recursive watch on the node itself");
        rw.expectNone(zk, "recursive watch sends no NodeChildrenChanged");
        zk.removeWatches(p("/rw"), rw, Watcher.WatcherType.Any, false);
        rw.expect(EventType.PersistentWatchRemoved, p("/rw"), "removed recursive watch is told so");
        zk2.create(p("/rw/z"), b(""), OPEN, CreateMode.PERSISTENT);
        zk2.setData(p("/rw"), b("z"), -1);
        rw.expectNone(zk, "removed recursive watch does not fire");
        ok("persistent recursive watch (addWatch PERSISTENT_RECURSIVE, removeWatches)");

        // ------------------------------------------------------------ multi
        step = "multi (success)";
        zk.create(p("/mdel"), b(""), OPEN, CreateMode.PERSISTENT);
        int baseVersion = zk.exists(base, false).getVersion();
        List<OpResult> rs = zk.multi(Arrays.asList(
            Op.check(base, baseVersion),
            Op.create(p("/m1"), b("a"), OPEN, CreateMode.PERSISTENT),
            Op.setData(p("/m1"), b("b"), 0),
            Op.create(p("/m1/s-"), b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete(p("/mdel"), 0)));
        eq(5, rs.size(), "number of multi results");
        check(rs.get(0) instanceof OpResult.CheckResult, "result 0 is a CheckResult: " + rs.get(0));
        check(rs.get(1) instanceof OpResult.CreateResult, "result 1 is a CreateResult: " + rs.get(1));
        eq(p("/m1"), ((OpResult.CreateResult) rs.get(1)).getPath(), "result 1 path");
        check(rs.get(2) instanceof OpResult.SetDataResult, "result 2 is a SetDataResult: " + rs.get(2));
        Stat mst = ((OpResult.SetDataResult) rs.get(2)).getStat();
        eq(1, mst.getVersion(), "multi setData result version");
        check(rs.get(3) instanceof OpResult.CreateResult, "result 3 is a CreateResult: " + rs.get(3));
        eq(p("/m1/s-0000000000"), ((OpResult.CreateResult) rs.get(3)).getPath(), "sequential create inside multi");
        check(rs.get(4) instanceof OpResult.DeleteResult, "result 4 is a DeleteResult: " + rs.get(4));
        eq("b", s(zk.getData(p("/m1"), false, null)), "data written by multi");
        eq(null, zk.exists(p("/mdel"), false), "node deleted by multi");
        Stat m1 = zk.exists(p("/m1"), false);
        eq(m1.getCzxid(), m1.getMzxid(), "all ops of one multi share one zxid (czxid == mzxid)");
        eq(m1.getCzxid(), zk.exists(p("/m1/s-0000000000"), false).getCzxid(), "multi ops share one zxid");
        ok("multi check/create/setData/create-sequential/delete with per-op results");

        step = "multi (failure)";
        expectMultiFailure(zk, "middle op fails", KeeperException.Code.NONODE, Arrays.asList(
            Op.create(p("/f1"), b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData(p("/missing"), b(""), -1),
            Op.create(p("/f2"), b(""), OPEN, CreateMode.PERSISTENT)), 0, -101, -2);
        eq(null, zk.exists(p("/f1"), false), "failed multi rolled back its create");
        expectMultiFailure(zk, "first op fails", KeeperException.Code.BADVERSION, Arrays.asList(
            Op.check(base, baseVersion + 7),
            Op.create(p("/f3"), b(""), OPEN, CreateMode.PERSISTENT),
            Op.delete(p("/m1"), -1)), -103, -2, -2);
        expectMultiFailure(zk, "last op fails", KeeperException.Code.NOTEMPTY, Arrays.asList(
            Op.setData(p("/m1"), b("c"), -1),
            Op.create(p("/f4"), b(""), OPEN, CreateMode.PERSISTENT),
            Op.create(p("/m1/s-"), b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete(p("/m1"), -1)), 0, 0, 0, -111);
        expectMultiFailure(zk, "op conflicts with an earlier op of the same multi", KeeperException.Code.NODEEXISTS, Arrays.asList(
            Op.create(p("/f5"), b(""), OPEN, CreateMode.PERSISTENT),
            Op.create(p("/f5"), b(""), OPEN, CreateMode.PERSISTENT)), 0, -110);
        eq("b", s(zk.getData(p("/m1"), false, null)), "failed multi rolled back its setData");
        eq(1, zk.exists(p("/m1"), false).getVersion(), "failed multi left the version alone");
        eq(null, zk.exists(p("/f4"), false), "failed multi rolled back");
        eq(Arrays.asList("s-0000000000"), zk.getChildren(p("/m1"), false), "children after failed multis");
        eq(p("/m1/s-0000000001"), zk.create(p("/m1/s-"), b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            "failed multis do not consume sequence numbers");
        ok("multi failures: failed op's code, RuntimeInconsistency after, Ok before, nothing applied");

        // ------------------------------------------------------------ ACLs
        step = "getACL/setACL";
        zk.create(p("/acl"), b("a"), OPEN, CreateMode.PERSISTENT);
        Stat ast = new Stat();
        List<ACL> acl = zk.getACL(p("/acl"), ast);
        eq(Ids.OPEN_ACL_UNSAFE, acl, "getACL of world:anyone node");
        eq(0, ast.getAversion(), "aversion of new node");
        expectError(KeeperException.Code.BADVERSION, "setACL with wrong aversion", () -> zk.setACL(p("/acl"), OPEN, 5));
        Stat sacl = zk.setACL(p("/acl"), Ids.READ_ACL_UNSAFE, 0);
        eq(1, sacl.getAversion(), "aversion after setACL");
        eq(0, sacl.getVersion(), "version unchanged by setACL");
        eq(Ids.READ_ACL_UNSAFE, zk.getACL(p("/acl"), ast), "getACL after setACL");
        eq(1, ast.getAversion(), "getACL stat aversion");
        expectError(KeeperException.Code.NOAUTH, "setACL without ADMIN (checked before the stale aversion)", () -> zk.setACL(p("/acl"), OPEN, 0));
        expectError(KeeperException.Code.NOAUTH, "setData on read-only node (checked before the version)", () -> zk.setData(p("/acl"), b("x"), 7));
        zk.delete(p("/acl"), -1);
        ok("getACL/setACL with aversion; NoAuth for write; delete needs only the parent's DELETE");

        step = "ACL refusal and digest auth";
        String digest = DigestAuthenticationProvider.generateDigest("alice:secret");
        List<ACL> aliceOnly = Collections.singletonList(new ACL(Perms.ALL, new Id("digest", digest)));
        zk.create(p("/secret"), b("s3cr3t"), aliceOnly, CreateMode.PERSISTENT);
        ZooKeeper zk3 = connect(null);
        expectError(KeeperException.Code.NOAUTH, "unauthenticated getData", () -> zk3.getData(p("/secret"), false, null));
        expectError(KeeperException.Code.NOAUTH, "unauthenticated setData", () -> zk3.setData(p("/secret"), b(""), -1));
        expectError(KeeperException.Code.NOAUTH, "unauthenticated create child",
            () -> zk3.create(p("/secret/c"), b(""), OPEN, CreateMode.PERSISTENT));
        check(zk3.exists(p("/secret"), false) != null, "exists needs no permission");
        zk3.addAuthInfo("digest", b("alice:wrong"));
        expectError(KeeperException.Code.NOAUTH, "getData with the wrong password", () -> zk3.getData(p("/secret"), false, null));
        zk3.addAuthInfo("digest", b("alice:secret"));
        eq("s3cr3t", s(zk3.getData(p("/secret"), false, null)), "getData after addAuthInfo");
        zk3.setData(p("/secret"), b("changed"), -1);
        zk3.create(p("/secret/mine"), b(""), Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        List<String> expanded = new ArrayList<>();
        for (ACL a : zk3.getACL(p("/secret/mine"), null)) expanded.add(a.getPerms() + " " + a.getId().getScheme() + ":" + a.getId().getId());
        Collections.sort(expanded);
        List<String> wantExpanded = new ArrayList<>(Arrays.asList(
            Perms.ALL + " digest:" + digest,
            Perms.ALL + " digest:" + DigestAuthenticationProvider.generateDigest("alice:wrong")));
        Collections.sort(wantExpanded);
        eq(wantExpanded, expanded, "CREATOR_ALL_ACL expands to every digest id of the session (wrong password included)");
        ok("digest ACL: NoAuth unauthenticated and with wrong password, allowed after addAuthInfo; auth scheme expands");

        // ------------------------------------------------------------ whoAmI
        step = "whoAmI";
        List<ClientInfo> who = zk.whoAmI();
        eq(1, who.size(), "whoAmI entries for an unauthenticated session: " + who);
        eq("ip", who.get(0).getAuthScheme(), "whoAmI scheme");
        eq("127.0.0.1", who.get(0).getUser(), "whoAmI user");
        List<String> who3 = new ArrayList<>();
        for (ClientInfo ci : zk3.whoAmI()) who3.add(ci.getAuthScheme() + ":" + ci.getUser());
        Collections.sort(who3);
        eq(Arrays.asList("digest:alice", "digest:alice", "ip:127.0.0.1"), who3, "whoAmI after two digest addAuthInfo");
        zk3.close();
        ok("whoAmI");

        // ------------------------------------------------------------ getEphemerals / getAllChildrenNumber
        step = "getEphemerals";
        List<String> myEph = Arrays.asList(p("/eph"), p("/seq/e-0000000002"));
        eq(myEph, sorted(zk.getEphemerals(base)), "getEphemerals(base)");
        eq(myEph, sorted(zk.getEphemerals()), "getEphemerals()");
        eq(Arrays.asList(p("/eph")), zk.getEphemerals(p("/e")), "getEphemerals prefix is a plain string prefix");
        eq(Collections.emptyList(), zk2.getEphemerals(), "getEphemerals of a session without ephemerals");
        ok("getEphemerals");

        step = "getAllChildrenNumber";
        zk2.addAuthInfo("digest", b("alice:secret")); // to walk /secret when counting
        int total = countDescendants(zk2, base);
        eq(total, zk.getAllChildrenNumber(base), "getAllChildrenNumber(base)");
        eq(4, zk.getAllChildrenNumber(p("/seq")), "getAllChildrenNumber(/seq)");
        eq(0, zk.getAllChildrenNumber(p("/eph")), "getAllChildrenNumber of a leaf");
        expectError(KeeperException.Code.NONODE, "getAllChildrenNumber on missing node", () -> zk.getAllChildrenNumber(p("/missing")));
        ok("getAllChildrenNumber (" + total + " descendants)");

        // ------------------------------------------------------------ sync
        step = "sync";
        CountDownLatch synced = new CountDownLatch(1);
        AtomicInteger syncRc = new AtomicInteger(Integer.MIN_VALUE);
        AtomicReference<String> syncPath = new AtomicReference<>();
        zk.sync(base, (rc, path, ctx) -> { syncRc.set(rc); syncPath.set(path); synced.countDown(); }, null);
        check(synced.await(10, TimeUnit.SECONDS), "no sync reply within 10 s");
        eq(0, syncRc.get(), "sync rc");
        eq(base, syncPath.get(), "sync path");
        ok("sync");

        // ------------------------------------------------------------ session expiry
        step = "session expiry";
        Recorder sw = new Recorder("session");
        ZooKeeper zs = connect(sw);
        zs.create(p("/sess-eph"), b(""), OPEN, CreateMode.EPHEMERAL);
        Recorder cw = new Recorder("clone");
        CountDownLatch cloneUp = new CountDownLatch(1);
        ZooKeeper clone = new ZooKeeper(connectString, SESSION_TIMEOUT_MS, e -> {
            if (e.getState() == KeeperState.SyncConnected) cloneUp.countDown();
            cw.process(e);
        }, zs.getSessionId(), zs.getSessionPasswd());
        check(cloneUp.await(15, TimeUnit.SECONDS), "second handle on the same session did not connect");
        eq(zs.getSessionId(), clone.getSessionId(), "clone session id");
        clone.close();
        sw.expectState(KeeperState.Expired, 20000, "first handle after the session was closed through the second");
        expectError(KeeperException.Code.SESSIONEXPIRED, "call on expired handle", () -> zs.exists(base, false));
        eq(null, zk2.exists(p("/sess-eph"), false), "ephemeral of the closed session seen from another client");
        zs.close();
        ok("session expiry (handle reopened with id+password, closed: Expired, ephemerals gone)");

        step = "close removes ephemerals";
        ZooKeeper ze = connect(null);
        ze.create(p("/close-eph"), b(""), OPEN, CreateMode.EPHEMERAL);
        Recorder ew = new Recorder("ew");
        check(zk2.exists(p("/close-eph"), ew) != null, "ephemeral visible to another session");
        ze.close();
        ew.expect(EventType.NodeDeleted, p("/close-eph"), "watch on ephemeral of a closed session");
        eq(null, zk2.exists(p("/close-eph"), false), "ephemeral gone after close()");
        ok("close() deletes ephemerals and fires NodeDeleted");

        // ------------------------------------------------------------ containers and TTL expiry
        step = "container and TTL expiry";
        zk.create(p("/cont/child"), b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(p("/cont-unused"), b(""), OPEN, CreateMode.CONTAINER);
        zk.create(p("/ttl-short"), b(""), OPEN, CreateMode.PERSISTENT_WITH_TTL, null, 500);
        zk.create(p("/ttl-parent"), b(""), OPEN, CreateMode.PERSISTENT_WITH_TTL, null, 500);
        zk.create(p("/ttl-parent/kid"), b(""), OPEN, CreateMode.PERSISTENT);
        Recorder gw = new Recorder("gc");
        check(zk.exists(p("/cont"), gw) != null, "container present");
        zk.delete(p("/cont/child"), -1);
        long gcStart = System.currentTimeMillis();
        boolean contGone = false;
        boolean ttlGone = false;
        while (System.currentTimeMillis() - gcStart < 10000 && !(contGone && ttlGone)) {
            Thread.sleep(100);
            contGone = zk.exists(p("/cont"), false) == null;
            ttlGone = zk.exists(p("/ttl-short"), false) == null;
        }
        check(contGone, "empty container (had a child) was not deleted within 10 s");
        check(ttlGone, "TTL node (500 ms, no children) was not deleted within 10 s");
        long gcMs = System.currentTimeMillis() - gcStart;
        gw.expect(EventType.NodeDeleted, p("/cont"), "watch on a container deleted by the server");
        check(zk.exists(p("/cont-unused"), false) != null, "container that never had children must stay");
        check(zk.exists(p("/ttl"), false) != null, "TTL node with a long TTL must stay");
        check(zk.exists(p("/ttl-parent"), false) != null, "expired TTL node with children must stay");
        ok("container deleted after its last child, TTL node expired (" + gcMs + " ms); unused container, TTL parent kept");

        step = "close";
        zk.close();
        eq(null, zk2.exists(p("/eph"), false), "ephemeral of the main session after close");
        eq(null, zk2.exists(p("/seq/e-0000000002"), false), "ephemeral sequential of the main session after close");
        zk2.close();
        ok("close");
    }

    static void expectMultiFailure(ZooKeeper zk, String what, KeeperException.Code code, List<Op> ops, int... errs) throws Exception {
        try {
            zk.multi(ops);
        } catch (KeeperException e) {
            if (e.code() != code) fail("multi (" + what + "): expected " + code + " but got " + e.code());
            List<OpResult> results = e.getResults();
            if (results == null) fail("multi (" + what + "): KeeperException.getResults() is null");
            List<Integer> got = new ArrayList<>();
            for (OpResult r : results) {
                if (!(r instanceof OpResult.ErrorResult)) fail("multi (" + what + "): result is not an ErrorResult: " + r.getClass().getSimpleName());
                got.add(((OpResult.ErrorResult) r).getErr());
            }
            List<Integer> want = new ArrayList<>();
            for (int x : errs) want.add(x);
            eq(want, got, "multi (" + what + ") per-op error codes");
            return;
        }
        fail("multi (" + what + "): expected " + code + " but the multi succeeded");
    }

    static int countDescendants(ZooKeeper zk, String path) throws Exception {
        int n = 0;
        for (String c : zk.getChildren(path, false)) {
            n += 1 + countDescendants(zk, path + "/" + c);
        }
        return n;
    }
}
