// Runs one fixed script of ZooKeeper operations with the real Java client (3.8) and prints a
// normalized transcript, so that Ark and Apache ZooKeeper can be diffed line by line:
//  - zxids are printed relative to the first non-zero zxid the script observed ("B", "B+3"),
//    zero stays "0";
//  - times are printed as relations: ctime is "0" or "now" (within 10 min of the client clock),
//    mtime as "=ctime" / ">ctime" / "<ctime";
//  - session ids become symbols (sA, sB, sC);
//  - "rz" is the zxid in the reply header of the last reply the session received;
//  - children, ephemerals and auth ids are sorted (servers may return them in any order);
//  - watch events and async replies of one session are printed in the order its event thread
//    delivered them, flushed after a round trip on that session.
// Usage: java StatTranscript <connectString>. Expects a fresh server started with
// extendedTypesEnabled=true. Exit code 0 even when the server answers with errors (they are
// part of the transcript); 1 if the script itself could not run (e.g. no connection).

import org.apache.zookeeper.AddWatchMode;
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

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class StatTranscript {
    static final int SESSION_TIMEOUT_MS = 30000;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;
    static final long TTL_MS = 3600000;

    static String connectString;
    static long zxidBase = 0;
    static final Map<Long, String> sessions = new HashMap<>();
    static final StringBuilder out = new StringBuilder();

    // ---------------------------------------------------------------- sessions

    /** A ZooKeeper handle that can report the zxid of the last reply it received. */
    static final class Zk extends ZooKeeper {
        final String name;
        final Timeline timeline;

        Zk(String name, Timeline tl, Watcher w) throws IOException {
            super(connectString, SESSION_TIMEOUT_MS, w);
            this.name = name;
            this.timeline = tl;
        }

        long lastZxid() { return cnxn.getLastZxid(); }
    }

    /** Watch events and async replies of one session, in delivery order (all on its event thread). */
    static final class Timeline implements Watcher {
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void process(WatchedEvent e) {
            if (e.getType() == EventType.None) return;
            lines.add("event " + e.getType() + " " + e.getPath());
        }

        void add(String line) { lines.add(line); }
    }

    static Zk open(String name) throws Exception {
        Timeline tl = new Timeline();
        CountDownLatch up = new CountDownLatch(1);
        Zk zk = new Zk(name, tl, e -> {
            if (e.getType() == EventType.None && e.getState() == KeeperState.SyncConnected) up.countDown();
        });
        if (!up.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("no connection to " + connectString + " within 15 s");
        sessions.put(zk.getSessionId(), "s" + name);
        line("%s connect -> session=%s timeout=%d", name, owner(zk.getSessionId()), zk.getSessionTimeout());
        return zk;
    }

    /** Round trip whose callback runs on the event thread after every event sent before its reply. */
    static void barrier(Zk zk) throws Exception {
        CountDownLatch l = new CountDownLatch(1);
        zk.exists("/", false, (rc, path, ctx, st) -> l.countDown(), null);
        if (!l.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("barrier timed out on " + zk.name);
    }

    /** Prints what the session's event thread delivered so far. */
    static void flush(Zk zk) throws Exception {
        barrier(zk);
        List<String> copy;
        synchronized (zk.timeline.lines) {
            copy = new ArrayList<>(zk.timeline.lines);
            zk.timeline.lines.clear();
        }
        if (copy.isEmpty()) line("%s timeline: (nothing)", zk.name);
        for (String l : copy) line("%s timeline: %s", zk.name, l);
    }

    // ---------------------------------------------------------------- formatting

    static void line(String fmt, Object... args) {
        out.append(String.format(fmt, args)).append('\n');
    }

    static void section(String name) { line("## %s", name); }

    static String z(long zxid) {
        if (zxid == 0) return "0";
        if (zxidBase == 0) zxidBase = zxid;
        long d = zxid - zxidBase;
        return d == 0 ? "B" : d > 0 ? "B+" + d : "B" + d;
    }

    static String time(long t) {
        if (t == 0) return "0";
        return Math.abs(t - System.currentTimeMillis()) < 600000 ? "now" : "far(" + t + ")";
    }

    static String owner(long id) {
        if (id == 0) return "0";
        String s = sessions.get(id);
        return s != null ? s : String.format("0x%x", id);
    }

    static String st(Stat s) {
        if (s == null) return "stat=null";
        String m = s.getMtime() == s.getCtime() ? "=ctime" : s.getMtime() > s.getCtime() ? ">ctime" : "<ctime";
        return "czxid=" + z(s.getCzxid()) + " mzxid=" + z(s.getMzxid()) + " pzxid=" + z(s.getPzxid())
            + " ctime=" + time(s.getCtime()) + " mtime" + m
            + " version=" + s.getVersion() + " cversion=" + s.getCversion() + " aversion=" + s.getAversion()
            + " owner=" + owner(s.getEphemeralOwner()) + " dataLength=" + s.getDataLength() + " numChildren=" + s.getNumChildren();
    }

    static String data(byte[] d) {
        if (d == null) return "null";
        boolean printable = true;
        for (byte x : d) if (x < 0x20 || x > 0x7e) { printable = false; break; }
        if (printable) return "'" + new String(d, StandardCharsets.US_ASCII) + "'";
        StringBuilder sb = new StringBuilder("0x");
        for (byte x : d) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static String acl(List<ACL> acl) {
        if (acl == null) return "null";
        List<String> parts = new ArrayList<>();
        for (ACL a : acl) parts.add(a.getId().getScheme() + ":" + a.getId().getId() + ":" + a.getPerms());
        return parts.toString();
    }

    static String sorted(List<String> l) {
        if (l == null) return "null";
        List<String> c = new ArrayList<>(l);
        Collections.sort(c);
        return c.toString();
    }

    static String code(int rc) {
        KeeperException.Code c = KeeperException.Code.get(rc);
        return (c == null ? "?" : c.name()) + "(" + rc + ")";
    }

    static String result(OpResult r) {
        if (r instanceof OpResult.CreateResult) {
            OpResult.CreateResult c = (OpResult.CreateResult) r;
            return "create " + c.getPath() + (c.getStat() != null ? " " + st(c.getStat()) : "");
        }
        if (r instanceof OpResult.SetDataResult) return "setData " + st(((OpResult.SetDataResult) r).getStat());
        if (r instanceof OpResult.DeleteResult) return "delete";
        if (r instanceof OpResult.CheckResult) return "check";
        if (r instanceof OpResult.GetDataResult) {
            OpResult.GetDataResult g = (OpResult.GetDataResult) r;
            return "getData " + data(g.getData()) + " " + st(g.getStat());
        }
        if (r instanceof OpResult.GetChildrenResult) return "getChildren " + sorted(((OpResult.GetChildrenResult) r).getChildren());
        if (r instanceof OpResult.ErrorResult) return "error " + code(((OpResult.ErrorResult) r).getErr());
        return r.getClass().getSimpleName();
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    // ---------------------------------------------------------------- sync operations, each printing one line

    interface Body { String run() throws Exception; }

    /** Runs one synchronous call and prints "<session> <what> -> <result> rz=<reply zxid>". */
    static void op(Zk zk, String what, Body body) throws Exception {
        String res;
        try {
            res = body.run();
        } catch (KeeperException e) {
            res = "error " + code(e.code().intValue());
            if (e.getResults() != null) {
                List<String> rs = new ArrayList<>();
                for (OpResult r : e.getResults()) rs.add(result(r));
                res += " results=" + rs;
            }
        }
        line("%s %s -> %s rz=%s", zk.name, what, res, z(zk.lastZxid()));
    }

    /** Writes sleep first, so that a node's mtime differs from its ctime whenever they are different ops. */
    static void tick() throws InterruptedException { Thread.sleep(3); }

    static void create(Zk zk, String path, String d, CreateMode mode) throws Exception {
        create(zk, path, d, OPEN, mode);
    }

    static void create(Zk zk, String path, String d, List<ACL> acl, CreateMode mode) throws Exception {
        tick();
        op(zk, "create2 " + path + " " + mode, () -> {
            Stat s = new Stat();
            String p = mode.isTTL() ? zk.create(path, d == null ? null : b(d), acl, mode, s, TTL_MS)
                                    : zk.create(path, d == null ? null : b(d), acl, mode, s);
            return p + " " + st(s);
        });
    }

    static void createPlain(Zk zk, String path, byte[] d, CreateMode mode) throws Exception {
        tick();
        op(zk, "create " + path + " " + mode, () -> zk.create(path, d, OPEN, mode));
    }

    static void setData(Zk zk, String path, String d, int version) throws Exception {
        tick();
        op(zk, "setData " + path + " " + data(b(d)) + " v=" + version, () -> st(zk.setData(path, b(d), version)));
    }

    static void delete(Zk zk, String path, int version) throws Exception {
        tick();
        op(zk, "delete " + path + " v=" + version, () -> { zk.delete(path, version); return "ok"; });
    }

    static void exists(Zk zk, String path) throws Exception {
        op(zk, "exists " + path, () -> st(zk.exists(path, false)));
    }

    static void getData(Zk zk, String path) throws Exception {
        op(zk, "getData " + path, () -> {
            Stat s = new Stat();
            byte[] d = zk.getData(path, false, s);
            return data(d) + " " + st(s);
        });
    }

    static void getChildren2(Zk zk, String path) throws Exception {
        op(zk, "getChildren2 " + path, () -> {
            Stat s = new Stat();
            List<String> c = zk.getChildren(path, false, s);
            return sorted(c) + " " + st(s);
        });
    }

    static void getACL(Zk zk, String path) throws Exception {
        op(zk, "getACL " + path, () -> {
            Stat s = new Stat();
            List<ACL> a = zk.getACL(path, s);
            return acl(a) + " " + st(s);
        });
    }

    static void multi(Zk zk, String what, List<Op> ops) throws Exception {
        tick();
        op(zk, "multi " + what, () -> {
            List<String> rs = new ArrayList<>();
            for (OpResult r : zk.multi(ops)) rs.add(result(r));
            return "ok results=" + rs;
        });
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: StatTranscript <connectString>");
            System.exit(64);
        }
        connectString = args[0];
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(60000);
            } catch (InterruptedException e) {
                return;
            }
            System.out.print(out);
            System.out.println("FAIL watchdog: script still running after 60 s");
            System.out.flush();
            Runtime.getRuntime().halt(2);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        int code = 0;
        try {
            script();
        } catch (Throwable t) {
            line("FAIL script aborted: %s", t);
            t.printStackTrace(System.err);
            code = 1;
        }
        System.out.print(out);
        System.out.flush();
        System.exit(code);
    }

    static void script() throws Exception {
        section("sessions");
        Zk a = open("A");
        Zk b = open("B");

        section("system nodes");
        for (String p : Arrays.asList("/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota")) {
            getData(a, p);
            getACL(a, p);
            getChildren2(a, p);
        }

        section("create node types");
        create(a, "/t", "top", CreateMode.PERSISTENT);
        create(a, "/t/p", "p", CreateMode.PERSISTENT);
        create(a, "/t/e", "e", CreateMode.EPHEMERAL);
        create(a, "/t/c", "", CreateMode.CONTAINER);
        create(a, "/t/ttl", "ttl", CreateMode.PERSISTENT_WITH_TTL);
        create(a, "/t/s-", "s", CreateMode.PERSISTENT_SEQUENTIAL);
        create(a, "/t/s-", "s", CreateMode.EPHEMERAL_SEQUENTIAL);
        create(a, "/t/s-", "s", CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL);
        create(b, "/t/eb", "b", CreateMode.EPHEMERAL);
        createPlain(a, "/t/null", null, CreateMode.PERSISTENT);
        createPlain(a, "/t/empty", new byte[0], CreateMode.PERSISTENT);
        createPlain(a, "/t/bin", new byte[] {0, 1, 2, (byte) 0xff}, CreateMode.PERSISTENT);
        createPlain(a, "/t/c/k", b("k"), CreateMode.PERSISTENT_SEQUENTIAL);
        getData(a, "/t/null");
        getData(a, "/t/empty");
        getData(a, "/t/bin");
        getData(a, "/t/c");
        getData(a, "/t/ttl");
        getChildren2(a, "/t");
        getChildren2(a, "/");

        section("create errors (each failed write)");
        create(a, "/t/p", "again", CreateMode.PERSISTENT);
        create(a, "/t/nope/x", "", CreateMode.PERSISTENT);
        create(a, "/t/e/x", "", CreateMode.PERSISTENT);
        create(a, "/t/badacl", "", new ArrayList<>(), CreateMode.PERSISTENT);
        create(a, "/t/noauth", "", Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        exists(a, "/t");
        create(a, "/t/after-errors", "", CreateMode.PERSISTENT);

        section("setData");
        setData(a, "/t/p", "p1", 0);
        setData(a, "/t/p", "p2", 0);
        setData(a, "/t/p", "p2", 1);
        setData(a, "/t/p", "p3", -1);
        setData(a, "/t/missing", "x", -1);
        getData(a, "/t/p");
        setData(b, "/t/e", "by-b", -1);
        getData(a, "/t/e");
        exists(a, "/t");

        section("delete and the parent's cversion/pzxid");
        create(a, "/t/d", "", CreateMode.PERSISTENT);
        create(a, "/t/d/a", "", CreateMode.PERSISTENT);
        create(a, "/t/d/b", "", CreateMode.PERSISTENT);
        create(a, "/t/d/c", "", CreateMode.PERSISTENT);
        exists(a, "/t/d");
        delete(a, "/t/d/b", 0);
        exists(a, "/t/d");
        delete(a, "/t/d/a", 3);
        delete(a, "/t/d/nope", -1);
        delete(a, "/t/d", -1);
        exists(a, "/t/d");
        delete(a, "/t/d/a", -1);
        exists(a, "/t/d");
        create(a, "/t/d/q-", "", CreateMode.PERSISTENT_SEQUENTIAL);
        create(a, "/t/d/q-", "", CreateMode.EPHEMERAL_SEQUENTIAL);
        getChildren2(a, "/t/d");
        setData(a, "/t/d", "d", -1);
        exists(a, "/t/d");

        section("ACLs");
        getACL(a, "/t/p");
        op(a, "setACL /t/p world:anyone:READ v=5", () -> st(a.setACL("/t/p", Ids.READ_ACL_UNSAFE, 5)));
        tick();
        op(a, "setACL /t/p world:anyone:READ v=0", () -> st(a.setACL("/t/p", Ids.READ_ACL_UNSAFE, 0)));
        getACL(a, "/t/p");
        setData(a, "/t/p", "denied", -1);
        op(a, "setACL /t/p world:anyone:ALL v=-1", () -> st(a.setACL("/t/p", OPEN, -1)));
        exists(a, "/t/p");
        String digest = DigestAuthenticationProvider.generateDigest("alice:secret");
        List<ACL> aliceOnly = Collections.singletonList(new ACL(Perms.READ | Perms.WRITE | Perms.CREATE, new Id("digest", digest)));
        create(a, "/t/secret", "s", aliceOnly, CreateMode.PERSISTENT);
        getData(b, "/t/secret");
        getACL(b, "/t/secret");
        exists(b, "/t/secret");
        op(b, "getChildren /t/secret", () -> sorted(b.getChildren("/t/secret", false)));
        b.addAuthInfo("digest", b("alice:secret"));
        getData(b, "/t/secret");
        create(b, "/t/secret/kid", "", Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        getACL(b, "/t/secret/kid");
        op(b, "setACL /t/secret (no ADMIN) v=0", () -> st(b.setACL("/t/secret", OPEN, 0)));
        op(b, "whoAmI", () -> {
            List<String> w = new ArrayList<>();
            for (ClientInfo ci : b.whoAmI()) w.add(ci.getAuthScheme() + ":" + ci.getUser());
            return sorted(w);
        });
        op(a, "whoAmI", () -> {
            List<String> w = new ArrayList<>();
            for (ClientInfo ci : a.whoAmI()) w.add(ci.getAuthScheme() + ":" + ci.getUser());
            return sorted(w);
        });

        section("successful multis");
        multi(a, "[check /t v=0, create /t/m, setData /t/m v=0, create /t/m/x- SEQ, delete /t/d/q-0000000003, check /t/m v=1]", Arrays.asList(
            Op.check("/t", 0),
            Op.create("/t/m", b("m"), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/m", b("m1"), 0),
            Op.create("/t/m/x-", b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete("/t/d/q-0000000003", -1),
            Op.check("/t/m", 1)));
        exists(a, "/t/m");
        exists(a, "/t/d");
        getChildren2(a, "/t/m");
        multi(a, "[create /t/tmp, delete /t/tmp]", Arrays.asList(
            Op.create("/t/tmp", b(""), OPEN, CreateMode.PERSISTENT),
            Op.delete("/t/tmp", -1)));
        exists(a, "/t");
        multi(a, "[create /t/mc CONTAINER, create /t/mc/k, create /t/mt TTL]", Arrays.asList(
            Op.create("/t/mc", b(""), OPEN, CreateMode.CONTAINER),
            Op.create("/t/mc/k", b(""), OPEN, CreateMode.PERSISTENT),
            Op.create("/t/mt", b(""), OPEN, CreateMode.PERSISTENT_WITH_TTL, TTL_MS)));
        exists(a, "/t/mc");
        exists(a, "/t/mt");
        multi(a, "[] (empty)", new ArrayList<>());
        multi(a, "[check /t/m v=1] (check only)", Arrays.asList(Op.check("/t/m", 1)));
        exists(a, "/t/m");
        op(a, "multiRead [getData /t/m, getChildren /t/m, getData /t/missing, getChildren /t/d]", () -> {
            List<String> rs = new ArrayList<>();
            for (OpResult r : a.multi(Arrays.asList(Op.getData("/t/m"), Op.getChildren("/t/m"), Op.getData("/t/missing"), Op.getChildren("/t/d")))) {
                rs.add(result(r));
            }
            return "ok results=" + rs;
        });

        section("failed multis");
        multi(a, "[check /t v=99, create /t/f1, delete /t/m/x-0000000000] (first fails)", Arrays.asList(
            Op.check("/t", 99),
            Op.create("/t/f1", b(""), OPEN, CreateMode.PERSISTENT),
            Op.delete("/t/m/x-0000000000", -1)));
        exists(a, "/t");
        multi(a, "[create /t/f2, setData /t/missing, create /t/f3] (middle fails)", Arrays.asList(
            Op.create("/t/f2", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/missing", b(""), -1),
            Op.create("/t/f3", b(""), OPEN, CreateMode.PERSISTENT)));
        multi(a, "[setData /t/m, create /t/m/x- SEQ, delete /t/m] (last fails: NotEmpty)", Arrays.asList(
            Op.setData("/t/m", b("nope"), -1),
            Op.create("/t/m/x-", b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete("/t/m", -1)));
        exists(a, "/t/m");
        multi(a, "[create /t/f4, create /t/f4] (conflict inside the multi)", Arrays.asList(
            Op.create("/t/f4", b(""), OPEN, CreateMode.PERSISTENT),
            Op.create("/t/f4", b(""), OPEN, CreateMode.PERSISTENT)));
        multi(a, "[create /t/f5/x, create /t/f5] (order matters)", Arrays.asList(
            Op.create("/t/f5/x", b(""), OPEN, CreateMode.PERSISTENT),
            Op.create("/t/f5", b(""), OPEN, CreateMode.PERSISTENT)));
        multi(a, "[delete /t/m/x-0000000000, check /t/m/x-0000000000 v=0] (check sees the delete)", Arrays.asList(
            Op.delete("/t/m/x-0000000000", -1),
            Op.check("/t/m/x-0000000000", 0)));
        multi(a, "[setData /t/m v=1, setData /t/m v=1] (version moved inside the multi)", Arrays.asList(
            Op.setData("/t/m", b("x"), 1),
            Op.setData("/t/m", b("y"), 1)));
        multi(b, "[create /t/secret/f6, setData /t/p] (second op NoAuth: /t/p is still read-only)", Arrays.asList(
            Op.create("/t/secret/f6", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/p", b("b"), -1)));
        multi(a, "[create /t/e/x] (NoChildrenForEphemerals)", Arrays.asList(
            Op.create("/t/e/x", b(""), OPEN, CreateMode.PERSISTENT)));
        multi(a, "[create /t/f7, setData /t/secret] (NoAuth)", Arrays.asList(
            Op.create("/t/f7", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/secret", b(""), -1)));
        exists(a, "/t");
        exists(a, "/t/m");
        getChildren2(a, "/t/m");
        create(a, "/t/m/x-", "", CreateMode.PERSISTENT_SEQUENTIAL);

        section("watches: events caused by another session");
        create(a, "/t/w", "w", CreateMode.PERSISTENT);
        op(a, "getData /t/w watch", () -> data(a.getData("/t/w", a.timeline, null)));
        op(a, "exists /t/w/new watch", () -> st(a.exists("/t/w/new", a.timeline)));
        op(a, "getChildren /t/w watch", () -> sorted(a.getChildren("/t/w", a.timeline)));
        create(b, "/t/w/new", "", CreateMode.PERSISTENT);
        flush(a);
        op(a, "getData /t/w/new watch", () -> data(a.getData("/t/w/new", a.timeline, null)));
        op(a, "getChildren /t/w watch", () -> sorted(a.getChildren("/t/w", a.timeline)));
        op(a, "exists /t/w/n2 watch", () -> st(a.exists("/t/w/n2", a.timeline)));
        multi(b, "[setData /t/w, delete /t/w/new, create /t/w/n2, setData /t/w/n2]", Arrays.asList(
            Op.setData("/t/w", b("w1"), -1),
            Op.delete("/t/w/new", -1),
            Op.create("/t/w/n2", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/w/n2", b("x"), -1)));
        flush(a);
        op(a, "exists /t/never watch", () -> st(a.exists("/t/never", a.timeline)));
        multi(b, "[create /t/never, check /t v=99] (fails: no event)", Arrays.asList(
            Op.create("/t/never", b(""), OPEN, CreateMode.PERSISTENT),
            Op.check("/t", 99)));
        flush(a);
        create(b, "/t/never", "", CreateMode.PERSISTENT);
        flush(a);
        op(a, "getData /t/w/n2 watch", () -> data(a.getData("/t/w/n2", a.timeline, null)));
        op(a, "getChildren /t/w/n2 watch", () -> sorted(a.getChildren("/t/w/n2", a.timeline)));
        op(a, "getChildren /t/w watch", () -> sorted(a.getChildren("/t/w", a.timeline)));
        delete(b, "/t/w/n2", -1);
        flush(a);
        op(a, "getChildren /t/w watch", () -> sorted(a.getChildren("/t/w", a.timeline)));
        setData(b, "/t/w", "no child event", -1);
        flush(a);

        section("watches: event before reply on the writer's own session");
        create(a, "/t/o", "o", CreateMode.PERSISTENT);
        pipeline(a);
        flush(a);

        section("persistent watches");
        create(a, "/t/pw", "", CreateMode.PERSISTENT);
        create(a, "/t/rw", "", CreateMode.PERSISTENT);
        op(a, "addWatch /t/pw PERSISTENT", () -> { a.addWatch("/t/pw", a.timeline, AddWatchMode.PERSISTENT); return "ok"; });
        op(a, "addWatch /t/rw PERSISTENT_RECURSIVE", () -> { a.addWatch("/t/rw", a.timeline, AddWatchMode.PERSISTENT_RECURSIVE); return "ok"; });
        multi(b, "[create /t/pw/c, create /t/pw/c/d, setData /t/pw/c, setData /t/pw, delete /t/pw/c/d, delete /t/pw/c]", Arrays.asList(
            Op.create("/t/pw/c", b(""), OPEN, CreateMode.PERSISTENT),
            Op.create("/t/pw/c/d", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/pw/c", b("x"), -1),
            Op.setData("/t/pw", b("x"), -1),
            Op.delete("/t/pw/c/d", -1),
            Op.delete("/t/pw/c", -1)));
        flush(a);
        multi(b, "[create /t/rw/a, create /t/rw/a/b, setData /t/rw/a/b, setData /t/rw, delete /t/rw/a/b, create /t/rw/z]", Arrays.asList(
            Op.create("/t/rw/a", b(""), OPEN, CreateMode.PERSISTENT),
            Op.create("/t/rw/a/b", b(""), OPEN, CreateMode.PERSISTENT),
            Op.setData("/t/rw/a/b", b("x"), -1),
            Op.setData("/t/rw", b("x"), -1),
            Op.delete("/t/rw/a/b", -1),
            Op.create("/t/rw/z", b(""), OPEN, CreateMode.PERSISTENT)));
        flush(a);
        op(a, "getData /t/rw/a watch (standard + recursive on the same path)", () -> data(a.getData("/t/rw/a", a.timeline, null)));
        setData(b, "/t/rw/a", "both", -1);
        flush(a);
        delete(b, "/t/pw", -1);
        create(b, "/t/pw", "again", CreateMode.PERSISTENT);
        flush(a);
        op(a, "removeWatches /t/pw Any", () -> { a.removeWatches("/t/pw", a.timeline, Watcher.WatcherType.Any, false); return "ok"; });
        op(a, "removeWatches /t/rw Any", () -> { a.removeWatches("/t/rw", a.timeline, Watcher.WatcherType.Any, false); return "ok"; });
        flush(a);
        setData(b, "/t/pw", "quiet", -1);
        setData(b, "/t/rw/z", "quiet", -1);
        flush(a);

        section("sessions and zxids");
        exists(a, "/t");
        Zk c = open("C");
        create(a, "/t/after-open", "", CreateMode.PERSISTENT);
        create(c, "/t/ec", "", CreateMode.EPHEMERAL);
        op(a, "exists /t/ec watch", () -> st(a.exists("/t/ec", a.timeline)));
        op(a, "getChildren /t watch", () -> sorted(a.getChildren("/t", a.timeline)));
        op(c, "getEphemerals", () -> sorted(c.getEphemerals()));
        c.close();
        line("C closed");
        flush(a);
        create(a, "/t/after-close", "", CreateMode.PERSISTENT);
        exists(a, "/t");
        op(a, "sync /t", () -> {
            CountDownLatch l = new CountDownLatch(1);
            String[] res = new String[1];
            a.sync("/t", (rc, path, ctx) -> { res[0] = code(rc) + " " + path; l.countDown(); }, null);
            if (!l.await(10, TimeUnit.SECONDS)) return "no reply";
            return res[0];
        });

        section("reads");
        op(a, "getEphemerals /t", () -> sorted(a.getEphemerals("/t")));
        op(a, "getEphemerals /t/s", () -> sorted(a.getEphemerals("/t/s")));
        op(b, "getEphemerals", () -> sorted(b.getEphemerals()));
        op(a, "getAllChildrenNumber /t", () -> Integer.toString(a.getAllChildrenNumber("/t")));
        op(a, "getAllChildrenNumber /t/m", () -> Integer.toString(a.getAllChildrenNumber("/t/m")));
        op(a, "getAllChildrenNumber /", () -> Integer.toString(a.getAllChildrenNumber("/")));

        section("final tree");
        dump(b, "/t");
        getChildren2(b, "/");
        exists(b, "/");

        section("close A");
        op(b, "exists /t/e watch", () -> st(b.exists("/t/e", b.timeline)));
        op(b, "getChildren /t watch", () -> sorted(b.getChildren("/t", b.timeline)));
        a.close();
        line("A closed");
        flush(b);
        getChildren2(b, "/t");
        b.close();
        line("B closed");
    }

    /** Pipelined async calls on one session; everything lands on its timeline in delivery order. */
    static void pipeline(Zk a) throws Exception {
        int n = 7;
        CountDownLatch done = new CountDownLatch(n);
        Timeline tl = a.timeline;
        line("A async: getData /t/o watch; setData /t/o; getData /t/o; getChildren /t/o watch; create /t/o/k; setData /t/o v=99; delete /t/o/k");
        a.getData("/t/o", tl, (rc, path, ctx, d, s) -> { tl.add("reply getData " + code(rc) + " " + data(d) + " " + st(s)); done.countDown(); }, null);
        a.setData("/t/o", b("o1"), -1, (rc, path, ctx, s) -> { tl.add("reply setData " + code(rc) + " " + st(s)); done.countDown(); }, null);
        a.getData("/t/o", false, (rc, path, ctx, d, s) -> { tl.add("reply getData " + code(rc) + " " + data(d) + " " + st(s)); done.countDown(); }, null);
        a.getChildren("/t/o", tl, (rc, path, ctx, ch, s) -> { tl.add("reply getChildren2 " + code(rc) + " " + sorted(ch) + " " + st(s)); done.countDown(); }, null);
        a.create("/t/o/k", b(""), OPEN, CreateMode.PERSISTENT, (rc, path, ctx, name, s) -> { tl.add("reply create2 " + code(rc) + " " + name + " " + st(s)); done.countDown(); }, null);
        a.setData("/t/o", b("o2"), 99, (rc, path, ctx, s) -> { tl.add("reply setData " + code(rc) + " " + st(s)); done.countDown(); }, null);
        a.delete("/t/o/k", -1, (rc, path, ctx) -> { tl.add("reply delete " + code(rc)); done.countDown(); }, null);
        if (!done.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("pipelined replies missing");
    }

    static void dump(Zk zk, String path) throws Exception {
        Stat s = new Stat();
        byte[] d;
        List<ACL> acl;
        try {
            d = zk.getData(path, false, s);
            acl = zk.getACL(path, new Stat());
        } catch (KeeperException e) {
            line("node %s -> error %s", path, code(e.code().intValue()));
            return;
        }
        line("node %s data=%s acl=%s %s", path, data(d), acl(acl), st(s));
        List<String> kids = new ArrayList<>(zk.getChildren(path, false));
        Collections.sort(kids);
        for (String k : kids) dump(zk, path + "/" + k);
    }
}
