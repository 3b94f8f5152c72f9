// Failover check for an Ark (or ZooKeeper) ensemble, driven by the real Apache ZooKeeper Java
// client (3.8). Usage: java EnsembleFailover <connectString> <leaderHost:port> <leaderPid>
//
// The main session is opened with the full connect string, but its first connection goes to the
// leader (LeaderFirst below hands the client the leader's address once, then defers to the stock
// StaticHostProvider over every host), so the member that dies is the one holding the client's
// connection. The program then
//   - creates an ephemeral and a persistent node and sets a one-shot data watch on the latter;
//   - starts a writer thread doing sequential creates, counting the acknowledged ones and
//     retrying on ConnectionLoss;
//   - SIGKILLs the leader (ProcessHandle.destroyForcibly on the given pid) and measures the time
//     from the kill to the first acknowledged create issued after it (resumed_after_ms);
//   - checks: Disconnected then SyncConnected, never Expired; the same session id; now connected to
//     another member; the ephemeral still there and owned by the session; the data watch (re-set
//     by the client with setWatches) fires after a setData by another client; every acknowledged
//     sequential create exists afterwards.
// Prints one "ok <what>" line per passed check, "resumed_after_ms=<n>", and finally
// "done: all checks passed"; on the first failure prints "FAIL [<step>] ..." and exits 1.
// Exits 2 if the whole run takes longer than the watchdog allows.

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ConnectStringParser;
import org.apache.zookeeper.client.HostProvider;
import org.apache.zookeeper.client.StaticHostProvider;
import org.apache.zookeeper.data.Stat;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

public final class EnsembleFailover {
    static final int SESSION_TIMEOUT_MS = 10000;
    static final long WATCHDOG_MS = 60000;
    /** acknowledged creates wanted before the kill and again after the writes resumed */
    static final int ACKS_BEFORE = 20;
    static final int ACKS_AFTER = 20;

    static volatile String step = "startup";

    static final class Failure extends RuntimeException {
        Failure(String msg) { super(msg); }
    }

    static void fail(String msg) { throw new Failure(msg); }

    static void check(boolean cond, String msg) { if (!cond) fail(msg); }

    static void ok(String what) {
        System.out.println("ok " + what);
        System.out.flush();
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static long now() { return System.nanoTime() / 1_000_000L; }

    /** The stock client, with the connected server's address made visible. */
    static final class Zk extends ZooKeeper {
        Zk(String connectString, Watcher w, HostProvider hp) throws java.io.IOException {
            super(connectString, SESSION_TIMEOUT_MS, w, false, hp);
        }

        Zk(String connectString, Watcher w) throws java.io.IOException {
            super(connectString, SESSION_TIMEOUT_MS, w);
        }

        String remote() {
            SocketAddress a = testableRemoteSocketAddress();
            if (!(a instanceof InetSocketAddress)) return String.valueOf(a);
            InetSocketAddress i = (InetSocketAddress) a;
            return i.getAddress().getHostAddress() + ":" + i.getPort();
        }
    }

    /** Hands out `first` once, then defers to the stock StaticHostProvider over every host. */
    static final class LeaderFirst implements HostProvider {
        final StaticHostProvider stock;
        final InetSocketAddress first;
        boolean used;

        LeaderFirst(Collection<InetSocketAddress> all, InetSocketAddress first) {
            this.stock = new StaticHostProvider(all);
            this.first = first;
        }

        @Override public int size() { return stock.size(); }

        @Override
        public InetSocketAddress next(long spinDelay) {
            synchronized (this) {
                if (!used) {
                    used = true;
                    return first;
                }
            }
            return stock.next(spinDelay);
        }

        @Override public void onConnected() { stock.onConnected(); }

        @Override
        public boolean updateServerList(Collection<InetSocketAddress> servers, InetSocketAddress current) {
            return stock.updateServerList(servers, current);
        }
    }

    /** Session state changes with the time (ms, monotonic) they were delivered. */
    static final class StateLog implements Watcher {
        final LinkedBlockingQueue<Object[]> q = new LinkedBlockingQueue<>();
        final List<String> all = new CopyOnWriteArrayList<>();

        @Override
        public void process(WatchedEvent e) {
            if (e.getType() != EventType.None) return;
            q.add(new Object[] {e.getState(), now()});
            all.add(e.getState().toString());
        }

        /** Next state change within timeoutMs, or null. */
        Object[] next(long timeoutMs) throws InterruptedException { return q.poll(timeoutMs, TimeUnit.MILLISECONDS); }
    }

    interface Op<T> { T run() throws Exception; }

    /** Retries an idempotent call while the client reconnects (ConnectionLoss), up to 20 s. */
    static <T> T retrying(String what, Op<T> op) throws Exception {
        long deadline = now() + 20000;
        for (;;) {
            try {
                return op.run();
            } catch (KeeperException.ConnectionLossException e) {
                if (now() > deadline) fail(what + ": still ConnectionLoss after 20 s");
                Thread.sleep(20);
            }
        }
    }

    static Zk connect(String connectString, HostProvider hp, Watcher extra) throws Exception {
        CountDownLatch up = new CountDownLatch(1);
        Watcher w = e -> {
            // the extra watcher sees the event before the caller wakes, so a caller that clears
            // its log right after connect() never finds this SyncConnected arriving later
            if (extra != null) extra.process(e);
            if (e.getType() == EventType.None && e.getState() == KeeperState.SyncConnected) up.countDown();
        };
        Zk zk = hp == null ? new Zk(connectString, w) : new Zk(connectString, w, hp);
        if (!up.await(15, TimeUnit.SECONDS)) {
            zk.close();
            fail("could not connect to " + connectString + " within 15 s");
        }
        return zk;
    }

    // ---------------------------------------------------------------- writer

    static final class Writer extends Thread {
        final ZooKeeper zk;
        final String prefix;
        volatile boolean stop;
        final List<String> acked = new CopyOnWriteArrayList<>();
        /** (issued, acknowledged) times of each acknowledged create, ms monotonic */
        final List<long[]> times = new CopyOnWriteArrayList<>();
        final AtomicInteger connectionLosses = new AtomicInteger();
        /** when each ConnectionLoss was thrown, ms monotonic */
        final List<Long> lossTimes = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();

        Writer(ZooKeeper zk, String prefix) {
            super("writer");
            setDaemon(true);
            this.zk = zk;
            this.prefix = prefix;
        }

        @Override
        public void run() {
            int n = 0;
            while (!stop) {
                long issued = now();
                try {
                    String path = zk.create(prefix, b(Integer.toString(n++)), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
                    long done = now();
                    acked.add(path);
                    times.add(new long[] {issued, done});
                } catch (KeeperException.ConnectionLossException e) {
                    // the create may or may not have been applied: not counted, retried
                    connectionLosses.incrementAndGet();
                    lossTimes.add(now());
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException ie) {
                        return;
                    }
                } catch (Throwable t) {
                    error.set(t);
                    return;
                }
            }
        }

        /** First create issued at or after `t` and acknowledged, as {issued, acknowledged}; null if none yet. */
        long[] firstIssuedAfter(long t) {
            for (long[] x : times) if (x[0] >= t) return x;
            return null;
        }

        int ackedIssuedAfter(long t) {
            int c = 0;
            for (long[] x : times) if (x[0] >= t) c++;
            return c;
        }

        void checkHealthy() {
            Throwable t = error.get();
            if (t != null) fail("writer thread failed: " + t);
        }
    }

    static void waitFor(String what, long timeoutMs, java.util.function.BooleanSupplier cond, Writer w) throws InterruptedException {
        long deadline = now() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (w != null) w.checkHealthy();
            if (now() > deadline) fail(what + ": not reached within " + timeoutMs + " ms");
            Thread.sleep(5);
        }
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: EnsembleFailover <connectString> <leaderHost:port> <leaderPid>");
            System.exit(64);
        }
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
            run(args[0], args[1], Long.parseLong(args[2]));
            System.out.println("done: all checks passed");
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

    static void run(String connectString, String leaderHostPort, long leaderPid) throws Exception {
        step = "connect to the leader";
        int colon = leaderHostPort.lastIndexOf(':');
        InetSocketAddress leaderAddr = new InetSocketAddress(leaderHostPort.substring(0, colon), Integer.parseInt(leaderHostPort.substring(colon + 1)));
        String leader = leaderAddr.getAddress().getHostAddress() + ":" + leaderAddr.getPort();
        List<InetSocketAddress> all = new ArrayList<>(new ConnectStringParser(connectString).getServerAddresses());
        check(all.size() >= 3, "connect string names " + all.size() + " hosts, want the whole ensemble: " + connectString);
        StateLog states = new StateLog();
        Zk zk = connect(connectString, new LeaderFirst(all, leaderAddr), states);
        long sid = zk.getSessionId();
        byte[] passwd = zk.getSessionPasswd();
        check(sid != 0, "session id is 0");
        check(leader.equals(zk.remote()), "main client is connected to " + zk.remote() + ", not to the leader " + leader);
        states.q.clear();
        states.all.clear();
        ok(String.format("main session 0x%x connected to the leader %s (connect string %s)", sid, leader, connectString));

        Zk other = connect(connectString, null, null);
        ok("second session connected to " + other.remote());

        step = "setup";
        String base = "/ensemble-failover-" + Long.toString(System.currentTimeMillis(), 36);
        zk.create(base, b(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(base + "/failover", b(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Stat est = new Stat();
        zk.create(base + "/eph", b("mine"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL, est);
        check(est.getEphemeralOwner() == sid, "ephemeral owner is the session");
        zk.create(base + "/data", b("v0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        LinkedBlockingQueue<WatchedEvent> dataEvents = new LinkedBlockingQueue<>();
        // a watcher registered with getData also receives the session's state events (type None)
        zk.getData(base + "/data", e -> { if (e.getType() != EventType.None) dataEvents.add(e); }, null);
        ok("ephemeral " + base + "/eph, persistent " + base + "/data with a data watch");

        step = "writer before the kill";
        Writer w = new Writer(zk, base + "/failover/w-");
        w.start();
        waitFor("acknowledged creates before the kill", 15000, () -> w.acked.size() >= ACKS_BEFORE, w);
        ok("writer running: " + w.acked.size() + " sequential creates acknowledged");

        step = "kill the leader";
        ProcessHandle victim = ProcessHandle.of(leaderPid).orElse(null);
        check(victim != null && victim.isAlive(), "leader pid " + leaderPid + " is not running");
        long killedAt = now();
        long killedAtWall = System.currentTimeMillis();
        check(victim.destroyForcibly(), "could not kill pid " + leaderPid);
        System.out.println("killed_at_epoch_ms=" + killedAtWall);
        victim.onExit().get(10, TimeUnit.SECONDS);
        int ackedAtKill = w.acked.size();
        ok("SIGKILLed the leader (pid " + leaderPid + ") with " + ackedAtKill + " creates acknowledged");

        step = "Disconnected then SyncConnected";
        Object[] first = states.next(10000);
        check(first != null, "no session event within 10 s of the kill (states so far " + states.all + ")");
        check(first[0] == KeeperState.Disconnected, "first session event after the kill is " + first[0] + ", expected Disconnected");
        long disconnectedMs = (Long) first[1] - killedAt;
        Object[] second = states.next(20000);
        check(second != null, "no session event within 20 s of Disconnected (states " + states.all + ")");
        check(second[0] == KeeperState.SyncConnected, "after Disconnected the session went " + second[0] + ", expected SyncConnected (states " + states.all + ")");
        long reconnectedMs = (Long) second[1] - killedAt;
        long firstLoss = -1;
        for (long x : w.lossTimes) if (x >= killedAt) { firstLoss = x - killedAt; break; }
        check(zk.getSessionId() == sid, String.format("session id changed from 0x%x to 0x%x", sid, zk.getSessionId()));
        check(java.util.Arrays.equals(passwd, zk.getSessionPasswd()), "session password changed");
        String reconnectedTo = zk.remote();
        check(!leader.equals(reconnectedTo), "reconnected to the killed member " + reconnectedTo + "?");
        ok(String.format("Disconnected after %d ms (writer's first ConnectionLoss after %d ms), SyncConnected after %d ms to %s, same session 0x%x",
            disconnectedMs, firstLoss, reconnectedMs, reconnectedTo, sid));

        step = "writes resume";
        waitFor("an acknowledged create issued after the kill", 20000, () -> w.firstIssuedAfter(killedAt) != null, w);
        long[] resumed = w.firstIssuedAfter(killedAt);
        long resumedAfterMs = resumed[1] - killedAt;
        System.out.println("resumed_after_ms=" + resumedAfterMs);
        System.out.flush();
        ok("writes resumed " + resumedAfterMs + " ms after the kill (" + w.connectionLosses.get() + " ConnectionLoss retries)");

        step = "ephemeral survives";
        Stat eph = zk.exists(base + "/eph", false);
        check(eph != null, "ephemeral " + base + "/eph is gone after the failover");
        check(eph.getEphemeralOwner() == sid, String.format("ephemeral owner 0x%x, expected 0x%x", eph.getEphemeralOwner(), sid));
        Stat eph2 = retrying("exists from the second session", () -> {
            other.sync(base + "/eph", (rc, p, c) -> { }, null);
            return other.exists(base + "/eph", false);
        });
        check(eph2 != null && eph2.getEphemeralOwner() == sid, "second session does not see the ephemeral owned by the session: " + eph2);
        ok("ephemeral still present and owned by the session (seen by both sessions)");

        step = "watch survives";
        WatchedEvent early = dataEvents.poll();
        check(early == null, "data watch fired before any setData: " + (early == null ? "" : early.getType() + " " + early.getPath()));
        retrying("setData by the second session", () -> other.setData(base + "/data", b("v1"), -1));
        WatchedEvent ev = dataEvents.poll(10, TimeUnit.SECONDS);
        check(ev != null, "data watch set before the failover did not fire within 10 s of a setData after it");
        check(ev.getType() == EventType.NodeDataChanged && (base + "/data").equals(ev.getPath()),
            "data watch fired " + ev.getType() + " " + ev.getPath() + ", expected NodeDataChanged " + base + "/data");
        ok("data watch set before the failover fired NodeDataChanged after a setData by another session");

        step = "writer after the failover";
        waitFor("acknowledged creates after the failover", 20000, () -> w.ackedIssuedAfter(killedAt) >= ACKS_AFTER, w);
        w.stop = true;
        w.join(15000);
        check(!w.isAlive(), "writer thread did not stop");
        w.checkHealthy();

        step = "acknowledged creates present";
        List<String> kids = zk.getChildren(base + "/failover", false);
        Set<String> present = new HashSet<>();
        for (String k : kids) present.add(base + "/failover/" + k);
        List<String> missing = new ArrayList<>();
        for (String p : w.acked) if (!present.contains(p)) missing.add(p);
        check(missing.isEmpty(), missing.size() + " acknowledged creates are missing, e.g. " + missing.subList(0, Math.min(5, missing.size())));
        check(kids.size() >= w.acked.size(), kids.size() + " children < " + w.acked.size() + " acknowledged creates");
        ok(w.acked.size() + " acknowledged sequential creates all present (" + kids.size() + " children, "
            + w.connectionLosses.get() + " ConnectionLoss)");

        step = "no expiry";
        Object[] late;
        while ((late = states.q.poll()) != null) {
            check(late[0] != KeeperState.Expired, "session expired after the failover (states " + states.all + ")");
        }
        ok("session states after the kill: " + states.all);

        step = "close";
        zk.close();
        Stat gone = retrying("exists after close", () -> {
            other.sync(base + "/eph", (rc, p, c) -> { }, null);
            return other.exists(base + "/eph", false);
        });
        check(gone == null, "ephemeral still present after close()");
        other.close();
        ok("close (ephemeral removed)");
    }
}
