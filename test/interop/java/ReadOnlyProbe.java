// The Apache ZooKeeper 3.8 Java client with canBeReadOnly=true against an ensemble that has lost
// its quorum, printed line by line so that a test can compare servers and act between steps.
// Usage: java ReadOnlyProbe <connectString> <path>
//   "readonly"                     connected to a read-only server (KeeperState.ConnectedReadOnly)
//   "read <data>"                  getData(path) answered
//   "write <exception class>"      create(path + "-new") refused (NotReadOnlyException expected)
//   "waiting"                      now the test brings the quorum back
//   "connected"                    the client moved to a read-write server by itself (SyncConnected)
//   "write ok"                     create(path + "-rw") succeeded there
// Exits 0 after the last line; 1 when a step did not happen in time (the line says which).

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class ReadOnlyProbe {
    public static void main(String[] args) throws Exception {
        String path = args[1];
        CountDownLatch readOnly = new CountDownLatch(1);
        CountDownLatch readWrite = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10000, (e) -> {
            if (e.getState() == KeeperState.ConnectedReadOnly) readOnly.countDown();
            if (e.getState() == KeeperState.SyncConnected && readOnly.getCount() == 0) readWrite.countDown();
        }, true);
        try {
            step(readOnly.await(30, TimeUnit.SECONDS), "readonly");
            byte[] data = zk.getData(path, false, null);
            say("read " + new String(data, StandardCharsets.UTF_8));
            try {
                zk.create(path + "-new", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                say("write ok");
            } catch (KeeperException e) {
                say("write " + e.getClass().getSimpleName());
            }
            say("waiting");
            step(readWrite.await(60, TimeUnit.SECONDS), "connected");
            zk.create(path + "-rw", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            say("write ok");
        } finally {
            zk.close();
        }
    }

    private static void step(boolean happened, String what) {
        if (!happened) {
            say("timeout " + what);
            System.exit(1);
        }
        say(what);
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
