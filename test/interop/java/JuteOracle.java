// Serializes a broad set of ZooKeeper jute records with ZooKeeper's own classes
// (org.apache.jute.BinaryOutputArchive, org.apache.zookeeper.proto/data/txn, MultiOperationRecord,
// MultiResponse) and prints them as JSON:
//   [{"name": ..., "fields": {...}, "hex": "<serialized bytes>"}, ...]
// Field encoding in "fields": int -> JSON number, long -> decimal string, boolean -> JSON boolean,
// ustring -> JSON string, buffer -> lowercase hex string, null buffer/string/vector -> null,
// vector -> array, nested record -> object. Field names and order follow zookeeper.jute.
// "hex" is the record alone (no length prefix) unless the name starts with "frame:", in which
// case it is a whole packet as sent on the wire: int32 length + header + body.
// Usage: java JuteOracle > test/fixtures/jute-oracle.json

import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.OutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.MultiResponse;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.data.StatPersisted;
import org.apache.zookeeper.proto.AddWatchRequest;
import org.apache.zookeeper.proto.AuthPacket;
import org.apache.zookeeper.proto.CheckVersionRequest;
import org.apache.zookeeper.proto.CheckWatchesRequest;
import org.apache.zookeeper.proto.ConnectRequest;
import org.apache.zookeeper.proto.ConnectResponse;
import org.apache.zookeeper.proto.Create2Response;
import org.apache.zookeeper.proto.CreateRequest;
import org.apache.zookeeper.proto.CreateResponse;
import org.apache.zookeeper.proto.CreateTTLRequest;
import org.apache.zookeeper.proto.DeleteRequest;
import org.apache.zookeeper.proto.ErrorResponse;
import org.apache.zookeeper.proto.ExistsRequest;
import org.apache.zookeeper.proto.ExistsResponse;
import org.apache.zookeeper.proto.GetACLRequest;
import org.apache.zookeeper.proto.GetACLResponse;
import org.apache.zookeeper.proto.GetAllChildrenNumberRequest;
import org.apache.zookeeper.proto.GetAllChildrenNumberResponse;
import org.apache.zookeeper.proto.GetChildren2Request;
import org.apache.zookeeper.proto.GetChildren2Response;
import org.apache.zookeeper.proto.GetChildrenRequest;
import org.apache.zookeeper.proto.GetChildrenResponse;
import org.apache.zookeeper.proto.GetDataRequest;
import org.apache.zookeeper.proto.GetDataResponse;
import org.apache.zookeeper.proto.GetEphemeralsRequest;
import org.apache.zookeeper.proto.GetEphemeralsResponse;
import org.apache.zookeeper.proto.MultiHeader;
import org.apache.zookeeper.proto.RemoveWatchesRequest;
import org.apache.zookeeper.proto.ReplyHeader;
import org.apache.zookeeper.proto.RequestHeader;
import org.apache.zookeeper.proto.SetACLRequest;
import org.apache.zookeeper.proto.SetACLResponse;
import org.apache.zookeeper.proto.SetDataRequest;
import org.apache.zookeeper.proto.SetDataResponse;
import org.apache.zookeeper.proto.SetWatches;
import org.apache.zookeeper.proto.SetWatches2;
import org.apache.zookeeper.proto.SyncRequest;
import org.apache.zookeeper.proto.SyncResponse;
import org.apache.zookeeper.proto.WatcherEvent;
import org.apache.zookeeper.proto.WhoAmIResponse;
import org.apache.zookeeper.server.persistence.FileHeader;
import org.apache.zookeeper.txn.CheckVersionTxn;
import org.apache.zookeeper.txn.CloseSessionTxn;
import org.apache.zookeeper.txn.CreateContainerTxn;
import org.apache.zookeeper.txn.CreateSessionTxn;
import org.apache.zookeeper.txn.CreateTTLTxn;
import org.apache.zookeeper.txn.CreateTxn;
import org.apache.zookeeper.txn.DeleteTxn;
import org.apache.zookeeper.txn.ErrorTxn;
import org.apache.zookeeper.txn.MultiTxn;
import org.apache.zookeeper.txn.SetACLTxn;
import org.apache.zookeeper.txn.SetDataTxn;
import org.apache.zookeeper.txn.Txn;
import org.apache.zookeeper.txn.TxnDigest;
import org.apache.zookeeper.txn.TxnHeader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class JuteOracle {

    // ---------------------------------------------------------------- output model

    interface Writer { void write(OutputArchive oa) throws IOException; }

    static final List<Map<String, Object>> entries = new ArrayList<>();

    /** Ordered field map with a fluent put. */
    static final class F extends LinkedHashMap<String, Object> {
        F with(String k, Object v) { put(k, v); return this; }
    }

    static F f() { return new F(); }

    static byte[] bytes(Writer w) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BinaryOutputArchive oa = BinaryOutputArchive.getArchive(bos);
        w.write(oa);
        return bos.toByteArray();
    }

    static void add(String name, F fields, Writer w) throws IOException {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("name", name);
        e.put("fields", fields);
        e.put("hex", new Hex(bytes(w)));
        entries.add(e);
    }

    static void rec(String name, F fields, Record r) throws IOException {
        if (isGenerated(r.getClass())) verify(name, fields, r);
        if (r instanceof MultiOperationRecord) verifyOps(name, fields, (MultiOperationRecord) r);
        add(name, fields, oa -> r.serialize(oa, "r"));
    }

    /**
     * Self-check of the "fields" we print against the record itself: for jute-generated classes
     * the keys must be exactly the declared fields, in declaration (= zookeeper.jute) order, and
     * every value must equal what the record's getter returns.
     */
    static void verify(String where, Object fv, Object jv) {
        if (jv instanceof Record && isGenerated(jv.getClass())) {
            if (!(fv instanceof Map)) throw new IllegalStateException(where + ": expected a field map for " + jv.getClass().getSimpleName());
            Map<?, ?> m = (Map<?, ?>) fv;
            List<String> declared = new ArrayList<>();
            for (java.lang.reflect.Field fld : jv.getClass().getDeclaredFields()) {
                if (!java.lang.reflect.Modifier.isStatic(fld.getModifiers())) declared.add(fld.getName());
            }
            List<String> keys = new ArrayList<>();
            for (Object k : m.keySet()) keys.add(k.toString());
            if (!declared.equals(keys)) throw new IllegalStateException(where + ": field names/order " + keys + " != " + declared);
            for (String k : declared) {
                try {
                    java.lang.reflect.Method g = jv.getClass().getMethod("get" + Character.toUpperCase(k.charAt(0)) + k.substring(1));
                    verify(where + "." + k, m.get(k), g.invoke(jv));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(where + ": no getter for " + k, e);
                }
            }
        } else if (jv instanceof List) {
            if (!(fv instanceof List) || ((List<?>) fv).size() != ((List<?>) jv).size()) throw new IllegalStateException(where + ": list mismatch");
            for (int i = 0; i < ((List<?>) jv).size(); i++) verify(where + "[" + i + "]", ((List<?>) fv).get(i), ((List<?>) jv).get(i));
        } else if (jv instanceof byte[]) {
            if (!(fv instanceof Hex) || !Arrays.equals(((Hex) fv).b, (byte[]) jv)) throw new IllegalStateException(where + ": buffer mismatch");
        } else if (jv == null ? fv != null : !jv.equals(fv)) {
            throw new IllegalStateException(where + ": value " + fv + " != " + jv);
        }
    }

    /** Each op's fields (minus "type") against its request record; "type" against Op.getType(). */
    static void verifyOps(String where, F fields, MultiOperationRecord r) {
        List<?> opsF = (List<?>) fields.get("ops");
        int i = 0;
        for (Op op : r) {
            Map<?, ?> of = (Map<?, ?>) opsF.get(i);
            if (!Integer.valueOf(op.getType()).equals(of.get("type"))) throw new IllegalStateException(where + ": op " + i + " type");
            F rest = f();
            for (Map.Entry<?, ?> e : of.entrySet()) if (!e.getKey().equals("type")) rest.put(e.getKey().toString(), e.getValue());
            verify(where + ".ops[" + i + "]", rest, op.toRequestRecord());
            i++;
        }
        if (i != opsF.size()) throw new IllegalStateException(where + ": op count");
    }

    static boolean isGenerated(Class<?> c) {
        String n = c.getName();
        return n.startsWith("org.apache.zookeeper.proto.") || n.startsWith("org.apache.zookeeper.data.")
            || n.startsWith("org.apache.zookeeper.txn.") || n.startsWith("org.apache.zookeeper.server.persistence.");
    }

    /** A whole packet: int32 length, then the parts. */
    static void frame(String name, F fields, Record... parts) throws IOException {
        byte[] body = bytes(oa -> { for (Record r : parts) r.serialize(oa, "r"); });
        add("frame:" + name, fields, oa -> {
            oa.writeInt(body.length, "len");
            for (Record r : parts) r.serialize(oa, "r");
        });
    }

    /** Marker so hex strings come out as hex, and buffers in fields too. */
    static final class Hex {
        final byte[] b;
        Hex(byte[] b) { this.b = b; }
    }

    static Object hex(byte[] b) { return b == null ? null : new Hex(b); }

    // ---------------------------------------------------------------- JSON

    static void json(StringBuilder sb, Object v, String indent) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Hex) {
            sb.append('"');
            for (byte x : ((Hex) v).b) sb.append(String.format("%02x", x));
            sb.append('"');
        } else if (v instanceof String) {
            str(sb, (String) v);
        } else if (v instanceof Long) {
            str(sb, v.toString());
        } else if (v instanceof Integer || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            if (m.isEmpty()) { sb.append("{}"); return; }
            sb.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(indent).append("  ");
                str(sb, e.getKey().toString());
                sb.append(": ");
                json(sb, e.getValue(), indent + "  ");
                sb.append(++i < m.size() ? ",\n" : "\n");
            }
            sb.append(indent).append('}');
        } else if (v instanceof List) {
            List<?> l = (List<?>) v;
            if (l.isEmpty()) { sb.append("[]"); return; }
            sb.append("[\n");
            for (int i = 0; i < l.size(); i++) {
                sb.append(indent).append("  ");
                json(sb, l.get(i), indent + "  ");
                sb.append(i + 1 < l.size() ? ",\n" : "\n");
            }
            sb.append(indent).append(']');
        } else {
            throw new IllegalArgumentException("no JSON form for " + v.getClass());
        }
    }

    static void str(StringBuilder sb, String s) {
        sb.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        sb.append('"');
    }

    // ---------------------------------------------------------------- fixed values

    static final long ZXID = 0x100000005L;              // epoch 1, counter 5
    static final long SESSION = 0x1000a1b2c3d0004L;
    static final byte[] PASSWD = new byte[16];
    static {
        for (int i = 0; i < 16; i++) PASSWD[i] = (byte) (0xa0 + i * 7);
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static Stat stat() {
        return new Stat(0x100000001L, 0x100000007L, 1700000000123L, 1700000005678L, 5, 7, 2, SESSION, 11, 3, 0x100000009L);
    }

    static F statF(Stat s) {
        return f().with("czxid", s.getCzxid()).with("mzxid", s.getMzxid()).with("ctime", s.getCtime()).with("mtime", s.getMtime())
            .with("version", s.getVersion()).with("cversion", s.getCversion()).with("aversion", s.getAversion())
            .with("ephemeralOwner", s.getEphemeralOwner()).with("dataLength", s.getDataLength())
            .with("numChildren", s.getNumChildren()).with("pzxid", s.getPzxid());
    }

    static List<ACL> acls() {
        return Arrays.asList(
            new ACL(31, new Id("world", "anyone")),
            new ACL(1, new Id("digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=")),
            new ACL(7, new Id("ip", "10.0.0.0/8")));
    }

    static Object aclF(List<ACL> acl) {
        if (acl == null) return null;
        List<Object> l = new ArrayList<>();
        for (ACL a : acl) l.add(f().with("perms", a.getPerms()).with("id", f().with("scheme", a.getId().getScheme()).with("id", a.getId().getId())));
        return l;
    }

    static Object strs(List<String> l) { return l == null ? null : new ArrayList<Object>(l); }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) throws Exception {
        // ---- primitives, checked through tiny records of our own making
        add("primitive:int -1", f().with("value", -1), oa -> oa.writeInt(-1, "v"));
        add("primitive:long min", f().with("value", Long.MIN_VALUE), oa -> oa.writeLong(Long.MIN_VALUE, "v"));
        add("primitive:bool true", f().with("value", true), oa -> oa.writeBool(true, "v"));
        add("primitive:ustring utf8", f().with("value", "h\u00e9llo/\u4e16\u754c"), oa -> oa.writeString("h\u00e9llo/\u4e16\u754c", "v"));
        add("primitive:ustring null", f().with("value", null), oa -> oa.writeString(null, "v"));
        add("primitive:buffer empty", f().with("value", hex(new byte[0])), oa -> oa.writeBuffer(new byte[0], "v"));
        add("primitive:buffer null", f().with("value", null), oa -> oa.writeBuffer(null, "v"));

        // ---- headers
        rec("RequestHeader", f().with("xid", 7).with("type", 4), new RequestHeader(7, 4));
        rec("RequestHeader(ping)", f().with("xid", -2).with("type", 11), new RequestHeader(-2, 11));
        rec("RequestHeader(auth)", f().with("xid", -4).with("type", 100), new RequestHeader(-4, 100));
        rec("RequestHeader(setWatches)", f().with("xid", -8).with("type", 101), new RequestHeader(-8, 101));
        rec("RequestHeader(closeSession)", f().with("xid", 12).with("type", -11), new RequestHeader(12, -11));
        rec("ReplyHeader", f().with("xid", 7).with("zxid", ZXID).with("err", 0), new ReplyHeader(7, ZXID, 0));
        rec("ReplyHeader(error)", f().with("xid", 9).with("zxid", ZXID + 1).with("err", -101), new ReplyHeader(9, ZXID + 1, -101));
        rec("ReplyHeader(notification)", f().with("xid", -1).with("zxid", -1L).with("err", 0), new ReplyHeader(-1, -1L, 0));

        // ---- session
        ConnectRequest creq = new ConnectRequest(0, ZXID, 30000, SESSION, PASSWD);
        F creqF = f().with("protocolVersion", 0).with("lastZxidSeen", ZXID).with("timeOut", 30000).with("sessionId", SESSION).with("passwd", hex(PASSWD));
        rec("ConnectRequest", creqF, creq);
        F creqRoF = f();
        creqRoF.putAll(creqF);
        creqRoF.with("readOnly", false);
        add("ConnectRequest+readOnly", creqRoF, oa -> { creq.serialize(oa, "r"); oa.writeBool(false, "readOnly"); });
        ConnectRequest fresh = new ConnectRequest(0, 0L, 10000, 0L, new byte[16]);
        F freshF = f().with("protocolVersion", 0).with("lastZxidSeen", 0L).with("timeOut", 10000).with("sessionId", 0L)
            .with("passwd", hex(new byte[16])).with("readOnly", true);
        add("ConnectRequest+readOnly(new session, readOnly=true)", freshF, oa -> { fresh.serialize(oa, "r"); oa.writeBool(true, "readOnly"); });
        ConnectResponse cresp = new ConnectResponse(0, 20000, SESSION, PASSWD);
        F crespF = f().with("protocolVersion", 0).with("timeOut", 20000).with("sessionId", SESSION).with("passwd", hex(PASSWD));
        rec("ConnectResponse", crespF, cresp);
        F crespRoF = f();
        crespRoF.putAll(crespF);
        crespRoF.with("readOnly", false);
        add("ConnectResponse+readOnly", crespRoF, oa -> { cresp.serialize(oa, "r"); oa.writeBool(false, "readOnly"); });
        ConnectResponse expired = new ConnectResponse(0, 0, 0L, new byte[16]);
        F expiredF = f().with("protocolVersion", 0).with("timeOut", 0).with("sessionId", 0L).with("passwd", hex(new byte[16])).with("readOnly", false);
        add("ConnectResponse+readOnly(expired session)", expiredF, oa -> { expired.serialize(oa, "r"); oa.writeBool(false, "readOnly"); });
        rec("AuthPacket", f().with("type", 0).with("scheme", "digest").with("auth", hex(utf8("alice:secret"))),
            new AuthPacket(0, "digest", utf8("alice:secret")));

        // ---- data records
        Stat st = stat();
        rec("Stat", statF(st), st);
        Stat zero = new Stat();
        rec("Stat(zero)", statF(zero), zero);
        Stat neg = new Stat(0L, 0L, 0L, 0L, 0, -1, -1, Long.MIN_VALUE, 0, 1, 0L);
        rec("Stat(negative fields)", statF(neg), neg);
        StatPersisted sp = new StatPersisted(0x100000001L, 0x100000007L, 1700000000123L, 1700000005678L, 5, 7, 2, 0xFF00000000000000L | 60000L, 0x100000009L);
        rec("StatPersisted", f().with("czxid", sp.getCzxid()).with("mzxid", sp.getMzxid()).with("ctime", sp.getCtime()).with("mtime", sp.getMtime())
            .with("version", sp.getVersion()).with("cversion", sp.getCversion()).with("aversion", sp.getAversion())
            .with("ephemeralOwner", sp.getEphemeralOwner()).with("pzxid", sp.getPzxid()), sp);
        rec("Id", f().with("scheme", "ip").with("id", "127.0.0.1"), new Id("ip", "127.0.0.1"));
        rec("ACL", f().with("perms", 31).with("id", f().with("scheme", "world").with("id", "anyone")), new ACL(31, new Id("world", "anyone")));
        rec("ClientInfo", f().with("authScheme", "digest").with("user", "alice"), new ClientInfo("digest", "alice"));

        // ---- requests and responses
        String path = "/app/config/node";
        byte[] data = utf8("hello \u00e9");
        rec("CreateRequest", f().with("path", path).with("data", hex(data)).with("acl", aclF(acls())).with("flags", 3),
            new CreateRequest(path, data, acls(), 3));
        rec("CreateRequest(null data, empty acl)", f().with("path", "/a").with("data", null).with("acl", aclF(new ArrayList<>())).with("flags", 0),
            new CreateRequest("/a", null, new ArrayList<>(), 0));
        rec("CreateRequest(container)", f().with("path", "/c").with("data", hex(new byte[0])).with("acl", aclF(acls().subList(0, 1))).with("flags", 4),
            new CreateRequest("/c", new byte[0], acls().subList(0, 1), 4));
        rec("CreateTTLRequest", f().with("path", path).with("data", hex(data)).with("acl", aclF(acls())).with("flags", 6).with("ttl", 86400000L),
            new CreateTTLRequest(path, data, acls(), 6, 86400000L));
        rec("CreateResponse", f().with("path", "/app/seq-0000000042"), new CreateResponse("/app/seq-0000000042"));
        rec("Create2Response", f().with("path", "/app/seq-0000000042").with("stat", statF(st)), new Create2Response("/app/seq-0000000042", st));
        rec("DeleteRequest", f().with("path", path).with("version", 3), new DeleteRequest(path, 3));
        rec("DeleteRequest(any version)", f().with("path", path).with("version", -1), new DeleteRequest(path, -1));
        rec("ExistsRequest", f().with("path", path).with("watch", true), new ExistsRequest(path, true));
        rec("ExistsResponse", f().with("stat", statF(st)), new ExistsResponse(st));
        rec("GetDataRequest", f().with("path", path).with("watch", false), new GetDataRequest(path, false));
        rec("GetDataResponse", f().with("data", hex(data)).with("stat", statF(st)), new GetDataResponse(data, st));
        rec("GetDataResponse(null data)", f().with("data", null).with("stat", statF(zero)), new GetDataResponse(null, zero));
        rec("SetDataRequest", f().with("path", path).with("data", hex(data)).with("version", 4), new SetDataRequest(path, data, 4));
        rec("SetDataResponse", f().with("stat", statF(st)), new SetDataResponse(st));
        rec("GetACLRequest", f().with("path", path), new GetACLRequest(path));
        rec("GetACLResponse", f().with("acl", aclF(acls())).with("stat", statF(st)), new GetACLResponse(acls(), st));
        rec("SetACLRequest", f().with("path", path).with("acl", aclF(acls())).with("version", 2), new SetACLRequest(path, acls(), 2));
        rec("SetACLResponse", f().with("stat", statF(st)), new SetACLResponse(st));
        List<String> kids = Arrays.asList("a", "b-0000000001", "\u00e9t\u00e9");
        rec("GetChildrenRequest", f().with("path", path).with("watch", true), new GetChildrenRequest(path, true));
        rec("GetChildrenResponse", f().with("children", strs(kids)), new GetChildrenResponse(kids));
        rec("GetChildrenResponse(empty)", f().with("children", strs(new ArrayList<>())), new GetChildrenResponse(new ArrayList<>()));
        rec("GetChildren2Request", f().with("path", path).with("watch", false), new GetChildren2Request(path, false));
        rec("GetChildren2Response", f().with("children", strs(kids)).with("stat", statF(st)), new GetChildren2Response(kids, st));
        rec("CheckVersionRequest", f().with("path", path).with("version", 9), new CheckVersionRequest(path, 9));
        rec("SyncRequest", f().with("path", path), new SyncRequest(path));
        rec("SyncResponse", f().with("path", path), new SyncResponse(path));
        List<String> dw = Arrays.asList("/d1", "/d2");
        List<String> ew = Collections.singletonList("/e1");
        List<String> cw = Arrays.asList("/c1", "/c2", "/c3");
        rec("SetWatches", f().with("relativeZxid", ZXID).with("dataWatches", strs(dw)).with("existWatches", strs(ew)).with("childWatches", strs(cw)),
            new SetWatches(ZXID, dw, ew, cw));
        List<String> pw = Collections.singletonList("/p1");
        List<String> rw = Arrays.asList("/r1", "/r2");
        rec("SetWatches2", f().with("relativeZxid", ZXID).with("dataWatches", strs(dw)).with("existWatches", strs(ew)).with("childWatches", strs(cw))
                .with("persistentWatches", strs(pw)).with("persistentRecursiveWatches", strs(rw)),
            new SetWatches2(ZXID, dw, ew, cw, pw, rw));
        rec("SetWatches2(empty)", f().with("relativeZxid", 0L).with("dataWatches", strs(new ArrayList<>())).with("existWatches", strs(new ArrayList<>()))
                .with("childWatches", strs(new ArrayList<>())).with("persistentWatches", strs(new ArrayList<>()))
                .with("persistentRecursiveWatches", strs(new ArrayList<>())),
            new SetWatches2(0L, new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>()));
        rec("AddWatchRequest", f().with("path", path).with("mode", 1), new AddWatchRequest(path, 1));
        rec("RemoveWatchesRequest", f().with("path", path).with("type", 3), new RemoveWatchesRequest(path, 3));
        rec("CheckWatchesRequest", f().with("path", path).with("type", 1), new CheckWatchesRequest(path, 1));
        rec("GetEphemeralsRequest", f().with("prefixPath", "/app"), new GetEphemeralsRequest("/app"));
        List<String> eph = Arrays.asList("/app/e1", "/app/lock-0000000003");
        rec("GetEphemeralsResponse", f().with("ephemerals", strs(eph)), new GetEphemeralsResponse(eph));
        rec("GetAllChildrenNumberRequest", f().with("path", path), new GetAllChildrenNumberRequest(path));
        rec("GetAllChildrenNumberResponse", f().with("totalNumber", 123456), new GetAllChildrenNumberResponse(123456));
        List<ClientInfo> who = Arrays.asList(new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "alice"));
        List<Object> whoF = new ArrayList<>();
        for (ClientInfo ci : who) whoF.add(f().with("authScheme", ci.getAuthScheme()).with("user", ci.getUser()));
        rec("WhoAmIResponse", f().with("clientInfo", whoF), new WhoAmIResponse(who));
        rec("WatcherEvent", f().with("type", 3).with("state", 3).with("path", path), new WatcherEvent(3, 3, path));
        rec("WatcherEvent(expired)", f().with("type", -1).with("state", -112).with("path", null), new WatcherEvent(-1, -112, null));
        rec("ErrorResponse", f().with("err", -101), new ErrorResponse(-101));
        rec("MultiHeader", f().with("type", 1).with("done", false).with("err", -1), new MultiHeader(1, false, -1));
        rec("MultiHeader(end)", f().with("type", -1).with("done", true).with("err", -1), new MultiHeader(-1, true, -1));

        // ---- multi
        List<ACL> open = acls().subList(0, 1);
        List<Op> ops = Arrays.asList(
            Op.check("/m", 1),
            Op.create("/m/a", utf8("A"), open, CreateMode.PERSISTENT),
            Op.create("/m/s-", null, open, CreateMode.EPHEMERAL_SEQUENTIAL),
            Op.create("/m/c", new byte[0], open, CreateMode.CONTAINER),
            Op.create("/m/t", utf8("T"), open, CreateMode.PERSISTENT_WITH_TTL, 5000L),
            Op.setData("/m", utf8("new"), -1),
            Op.delete("/m/old", 2));
        List<Object> opsF = Arrays.asList(
            f().with("type", ops.get(0).getType()).with("path", "/m").with("version", 1),
            f().with("type", ops.get(1).getType()).with("path", "/m/a").with("data", hex(utf8("A"))).with("acl", aclF(open)).with("flags", 0),
            f().with("type", ops.get(2).getType()).with("path", "/m/s-").with("data", null).with("acl", aclF(open)).with("flags", 3),
            f().with("type", ops.get(3).getType()).with("path", "/m/c").with("data", hex(new byte[0])).with("acl", aclF(open)).with("flags", 4),
            f().with("type", ops.get(4).getType()).with("path", "/m/t").with("data", hex(utf8("T"))).with("acl", aclF(open)).with("flags", 5).with("ttl", 5000L),
            f().with("type", ops.get(5).getType()).with("path", "/m").with("data", hex(utf8("new"))).with("version", -1),
            f().with("type", ops.get(6).getType()).with("path", "/m/old").with("version", 2));
        rec("MultiOperationRecord", f().with("ops", opsF), new MultiOperationRecord(ops));
        List<Op> reads = Arrays.asList(Op.getData("/m"), Op.getChildren("/m"));
        rec("MultiOperationRecord(read)", f().with("ops", Arrays.asList(
                f().with("type", reads.get(0).getType()).with("path", "/m").with("watch", false),
                f().with("type", reads.get(1).getType()).with("path", "/m").with("watch", false))),
            new MultiOperationRecord(reads));
        rec("MultiOperationRecord(empty)", f().with("ops", new ArrayList<>()), new MultiOperationRecord(new ArrayList<>()));

        MultiResponse ok = new MultiResponse();
        List<OpResult> okResults = Arrays.asList(
            new OpResult.CheckResult(),
            new OpResult.CreateResult("/m/a"),
            new OpResult.CreateResult("/m/s-0000000001", st),
            new OpResult.SetDataResult(st),
            new OpResult.DeleteResult());
        for (OpResult r : okResults) ok.add(r);
        rec("MultiResponse", f().with("results", Arrays.asList(
                f().with("type", okResults.get(0).getType()),
                f().with("type", okResults.get(1).getType()).with("path", "/m/a"),
                f().with("type", okResults.get(2).getType()).with("path", "/m/s-0000000001").with("stat", statF(st)),
                f().with("type", okResults.get(3).getType()).with("stat", statF(st)),
                f().with("type", okResults.get(4).getType()))),
            ok);
        MultiResponse failed = new MultiResponse();
        for (int err : new int[] {0, -101, -2}) failed.add(new OpResult.ErrorResult(err));
        rec("MultiResponse(failed)", f().with("results", Arrays.asList(
                f().with("type", -1).with("err", 0),
                f().with("type", -1).with("err", -101),
                f().with("type", -1).with("err", -2))),
            failed);
        MultiResponse readResp = new MultiResponse();
        readResp.add(new OpResult.GetDataResult(utf8("v"), st));
        readResp.add(new OpResult.GetChildrenResult(Arrays.asList("x", "y")));
        readResp.add(new OpResult.ErrorResult(-101));
        rec("MultiResponse(read)", f().with("results", Arrays.asList(
                f().with("type", 4).with("data", hex(utf8("v"))).with("stat", statF(st)),
                f().with("type", 8).with("children", strs(Arrays.asList("x", "y"))),
                f().with("type", -1).with("err", -101))),
            readResp);
        rec("MultiResponse(empty)", f().with("results", new ArrayList<>()), new MultiResponse());

        // ---- whole packets
        frame("ConnectRequest+readOnly (client -> server)", freshF, new Record() {
            public void serialize(OutputArchive oa, String tag) throws IOException { fresh.serialize(oa, tag); oa.writeBool(true, "readOnly"); }
            public void deserialize(org.apache.jute.InputArchive ia, String tag) { throw new UnsupportedOperationException(); }
        });
        frame("getData request", f().with("header", f().with("xid", 1).with("type", 4)).with("request", f().with("path", "/zookeeper").with("watch", true)),
            new RequestHeader(1, 4), new GetDataRequest("/zookeeper", true));
        frame("getData reply", f().with("header", f().with("xid", 1).with("zxid", ZXID).with("err", 0))
                .with("response", f().with("data", hex(new byte[0])).with("stat", statF(zero))),
            new ReplyHeader(1, ZXID, 0), new GetDataResponse(new byte[0], zero));
        frame("error reply (header only)", f().with("header", f().with("xid", 2).with("zxid", ZXID).with("err", -101)),
            new ReplyHeader(2, ZXID, -101));
        frame("ping request", f().with("header", f().with("xid", -2).with("type", 11)), new RequestHeader(-2, 11));
        frame("ping reply", f().with("header", f().with("xid", -2).with("zxid", ZXID).with("err", 0)), new ReplyHeader(-2, ZXID, 0));
        frame("notification", f().with("header", f().with("xid", -1).with("zxid", -1L).with("err", 0))
                .with("event", f().with("type", 4).with("state", 3).with("path", "/app")),
            new ReplyHeader(-1, -1L, 0), new WatcherEvent(4, 3, "/app"));
        frame("closeSession request", f().with("header", f().with("xid", 3).with("type", -11)), new RequestHeader(3, -11));

        // ---- on-disk records (txn log / snapshot)
        rec("FileHeader(snapshot)", f().with("magic", 0x5A4B534E).with("version", 2).with("dbid", -1L), new FileHeader(0x5A4B534E, 2, -1L));
        rec("FileHeader(txnlog)", f().with("magic", 0x5A4B4C47).with("version", 2).with("dbid", 0L), new FileHeader(0x5A4B4C47, 2, 0L));
        rec("TxnHeader", f().with("clientId", SESSION).with("cxid", 17).with("zxid", ZXID).with("time", 1700000000123L).with("type", 1),
            new TxnHeader(SESSION, 17, ZXID, 1700000000123L, 1));
        rec("CreateTxn", f().with("path", path).with("data", hex(data)).with("acl", aclF(acls())).with("ephemeral", true).with("parentCVersion", 12),
            new CreateTxn(path, data, acls(), true, 12));
        rec("CreateContainerTxn", f().with("path", "/c").with("data", hex(new byte[0])).with("acl", aclF(open)).with("parentCVersion", 3),
            new CreateContainerTxn("/c", new byte[0], open, 3));
        rec("CreateTTLTxn", f().with("path", "/t").with("data", hex(utf8("T"))).with("acl", aclF(open)).with("parentCVersion", 4).with("ttl", 5000L),
            new CreateTTLTxn("/t", utf8("T"), open, 4, 5000L));
        rec("DeleteTxn", f().with("path", path), new DeleteTxn(path));
        rec("SetDataTxn", f().with("path", path).with("data", hex(data)).with("version", 6), new SetDataTxn(path, data, 6));
        rec("SetACLTxn", f().with("path", path).with("acl", aclF(acls())).with("version", 3), new SetACLTxn(path, acls(), 3));
        rec("CheckVersionTxn", f().with("path", path).with("version", 2), new CheckVersionTxn(path, 2));
        rec("ErrorTxn", f().with("err", -110), new ErrorTxn(-110));
        rec("CreateSessionTxn", f().with("timeOut", 30000), new CreateSessionTxn(30000));
        rec("CloseSessionTxn", f().with("paths2Delete", strs(Arrays.asList("/e1", "/app/e2"))), new CloseSessionTxn(Arrays.asList("/e1", "/app/e2")));
        byte[] sub1 = bytes(oa -> new CreateTxn("/x", utf8("x"), open, false, 0).serialize(oa, "r"));
        byte[] sub2 = bytes(oa -> new ErrorTxn(-101).serialize(oa, "r"));
        rec("MultiTxn", f().with("txns", Arrays.asList(
                f().with("type", 1).with("data", hex(sub1)),
                f().with("type", -1).with("data", hex(sub2)))),
            new MultiTxn(Arrays.asList(new Txn(1, sub1), new Txn(-1, sub2))));
        rec("TxnDigest", f().with("version", 2).with("treeDigest", 10937888484L), new TxnDigest(2, 10937888484L));

        StringBuilder sb = new StringBuilder();
        json(sb, entries, "");
        sb.append('\n');
        System.out.print(sb);
        System.out.flush();
    }
}
