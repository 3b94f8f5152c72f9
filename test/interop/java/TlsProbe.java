// A session of the Apache ZooKeeper 3.8 Java client over TLS: create, read and delete one znode.
// TLS comes from the system properties the test passes, as zkCli.sh / applications set them:
// -Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
// -Dzookeeper.ssl.keyStore.location=... -Dzookeeper.ssl.trustStore.location=... (netty jars on the class path).
// Usage: java TlsProbe <connectString>  -> "ok <data read back>", or "error <what failed>"
// Exits 0 when the session worked, 1 otherwise.

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class TlsProbe {
    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10000, (e) -> {
            if (e.getState() == KeeperState.SyncConnected) connected.countDown();
        });
        int code = 0;
        try {
            if (!connected.await(15, TimeUnit.SECONDS)) {
                System.out.println("error connect not connected within 15 s");
                code = 1;
                return;
            }
            String path = "/tls-java-" + ProcessHandle.current().pid();
            zk.create(path, "over-tls".getBytes(StandardCharsets.UTF_8), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            byte[] data = zk.getData(path, false, null);
            zk.delete(path, -1);
            System.out.println("ok " + new String(data, StandardCharsets.UTF_8));
        } catch (Exception e) {
            System.out.println("error " + e);
            code = 1;
        } finally {
            zk.close();
            System.exit(code);
        }
    }
}
