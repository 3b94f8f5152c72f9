// The Apache ZooKeeper 3.8 Java client authenticated by SASL (a JAAS Client section given with
// -Djava.security.auth.login.config) or by its TLS certificate (x509: -Dzookeeper.client.secure=true
// and a key store), as the test's system properties say. Prints the ids the server gave the session
// (whoAmI), then:
//   java AuthProbe create <connectString> <path> <scheme> <id>  creates <path> with the ACL scheme:id:cdrwa, reads it back
//   java AuthProbe read <connectString> <path>                   reads <path>: "read ok", "read NoAuth" or "read AuthFailed"
//   java AuthProbe delete <connectString> <path>                 deletes <path>
// Exits 0 when the step ran to its end (a refusal is an answer), 1 otherwise.

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;

import java.nio.charset.StandardCharsets;
import java.util.Collections;

public final class AuthProbe {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String path = args[2];
        ZooKeeper zk = new ZooKeeper(args[1], 10000, (e) -> System.out.println("state " + e.getState()));
        int code = 0;
        try {
            try {
                for (ClientInfo c : zk.whoAmI()) System.out.println("whoami " + c.getAuthScheme() + ":" + c.getUser());
            } catch (Exception e) {
                System.out.println("whoami error " + e);
            }
            switch (mode) {
                case "create":
                    zk.create(path, "secret".getBytes(StandardCharsets.UTF_8),
                            Collections.singletonList(new ACL(Perms.ALL, new Id(args[3], args[4]))), CreateMode.PERSISTENT);
                    System.out.println("created " + new String(zk.getData(path, false, null), StandardCharsets.UTF_8));
                    break;
                case "read":
                    try {
                        zk.getData(path, false, null);
                        System.out.println("read ok");
                    } catch (KeeperException.NoAuthException e) {
                        System.out.println("read NoAuth");
                    } catch (KeeperException.AuthFailedException e) {
                        System.out.println("read AuthFailed");
                    }
                    break;
                case "delete":
                    zk.delete(path, -1);
                    System.out.println("deleted");
                    break;
                default:
                    throw new IllegalArgumentException("mode " + mode);
            }
        } catch (Exception e) {
            System.out.println("error " + e);
            code = 1;
        } finally {
            zk.close();
            System.exit(code);
        }
    }
}
