"""Read-only mode through kazoo's own test harness, with a session made after the quorum is lost.

kazoo 2.8's TestReadOnlyMode.test_read_only keeps the session it made while the ensemble had a
quorum and waits for the survivor of two stopped members to take it read-only. Apache ZooKeeper
3.8 refuses that (ReadOnlyZooKeeperServer.validateSession: "Refusing global session reconnection
in RO mode"), so the test fails there, and on Ark, which does the same; later kazoo releases
restart the client first for that reason. This test does what a client of a read-only server
can do: it starts a new session once the quorum is gone (a local one, on the survivor), reads,
is refused writes with NotReadOnlyCallError, and, once a member returns, is moved to read-write
by kazoo (which probes the others with `isro`) and writes.

It reuses kazoo's TestReadOnlyMode (its cluster, chroot, read-only client and tearDown).
"""
import socket
import threading
import time

from kazoo.exceptions import NotReadOnlyCallError
from kazoo.protocol.states import KeeperState
from kazoo.tests.test_connection import TestReadOnlyMode


def isro(host, port):
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b'isro')
            return sock.recv(16)
    except OSError:
        return b''


class TestReadOnlyNewSession(TestReadOnlyMode):
    def test_read_only(self):
        client = self.client
        read_only = threading.Event()
        read_write = threading.Event()

        def listen(state):
            if client.client_state == KeeperState.CONNECTED_RO:
                read_only.set()
            elif client.client_state == KeeperState.CONNECTED and read_only.is_set():
                read_write.set()

        stoppers = [threading.Thread(target=self.cluster[i].stop) for i in (1, 2)]
        try:
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join()
            # a session made now is the survivor's own (a local session in read-only mode), once
            # it is read-only: one made before it noticed the loss would be the ensemble's
            client.stop()
            survivor = self.cluster[0]
            deadline = time.time() + 15
            while isro(survivor.host, survivor.client_port) != b'ro' and time.time() < deadline:
                time.sleep(0.1)
            client.add_listener(listen)
            client.start()
            assert read_only.wait(15), 'connected read-only'
            assert client.client_state == KeeperState.CONNECTED_RO

            assert client.get_children('/') == []
            try:
                client.create('/fred')
            except NotReadOnlyCallError:
                pass
            else:
                raise AssertionError('a write on a read-only server was not refused')

            # a member returns: a quorum again, and the client moves to read-write
            self.cluster[1].run()
            assert read_write.wait(60), 'back to read-write'
            client.create('/fred', b'rw')
            assert client.get('/fred')[0] == b'rw'
        finally:
            client.remove_listener(listen)
            self.cluster[1].run()
            self.cluster[2].run()
