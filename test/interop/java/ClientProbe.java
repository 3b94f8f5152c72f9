// One read with the Apache ZooKeeper 3.8 Java client, printed so that a test can compare servers.
// Usage:
//   java [-Djute.maxbuffer=N] ClientProbe <connectString> children <path>
//     -> "children <count> <UTF-8 bytes of all names>", or "error <exception class> <code or message>"
//   java ClientProbe <connectString> config
//     -> the data of /zookeeper/config as ZooKeeper.getConfig returns it, then "stat" and its Stat
//        fields (czxid,mzxid,pzxid,ctime,mtime,version,cversion,aversion,ephemeralOwner,dataLength,numChildren)
// Exits 0 when the read was answered (even with an error), 1 when the client could not connect in time.

import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class ClientProbe {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ClientProbe <connectString> children <path> | config");
            System.exit(64);
        }
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10000, (e) -> {
            if (e.getState() == KeeperState.SyncConnected) connected.countDown();
        });
        try {
            if (!connected.await(20, TimeUnit.SECONDS)) {
                System.out.println("error connect not connected within 20 s");
                System.exit(1);
            }
            if (args[1].equals("children")) children(zk, args[2]);
            else if (args[1].equals("config")) config(zk);
            else throw new IllegalArgumentException("unknown probe " + args[1]);
        } finally {
            zk.close();
        }
    }

    static void children(ZooKeeper zk, String path) throws InterruptedException {
        try {
            List<String> names = zk.getChildren(path, false);
            long bytes = 0;
            for (String n : names) bytes += n.getBytes(StandardCharsets.UTF_8).length;
            System.out.println("children " + names.size() + " " + bytes);
        } catch (KeeperException e) {
            // a reply over the client's jute.maxbuffer is a lost connection to this client
            System.out.println("error " + e.getClass().getSimpleName() + " " + e.code());
        }
    }

    static void config(ZooKeeper zk) throws InterruptedException, KeeperException {
        Stat s = new Stat();
        byte[] data = zk.getConfig(false, s);
        System.out.print(data == null ? "<null>\n" : new String(data, StandardCharsets.UTF_8) + (data.length > 0 ? "\n" : ""));
        System.out.println("stat " + s.getCzxid() + "," + s.getMzxid() + "," + s.getPzxid() + "," + s.getCtime() + "," + s.getMtime() + ","
            + s.getVersion() + "," + s.getCversion() + "," + s.getAversion() + "," + s.getEphemeralOwner() + ","
            + s.getDataLength() + "," + s.getNumChildren());
    }
}
