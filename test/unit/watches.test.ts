import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree } from '../../src/tree/datatree.js';
import { WatchManager, WatchMode, parentOf, type WatchEvent } from '../../src/tree/watches.js';
import { EventType, OpCode, Perms, type ACL } from '../../src/wire/protocol.js';
import type { Txn } from '../../src/wire/txn.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const { NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged } = EventType;

/** A tree with a zxid counter; each helper returns the events of that one txn. */
class T {
  readonly tree = new DataTree();
  private zxid = 0;
  private run(txn: Txn): WatchEvent[] {
    const events: WatchEvent[] = [];
    this.zxid++;
    this.tree.apply({ sessionId: 1n, cxid: this.zxid, zxid: this.zxid, time: this.zxid, type: txn.type }, txn, events);
    // every node here has the open ACL; the READ filter is tested with the ACL tests
    for (const e of events) assert.deepEqual(e.acl, OPEN);
    return events.map((e) => ({ ...e, acl: null }));
  }
  create(path: string): WatchEvent[] {
    return this.run({ type: OpCode.create, path, data: Buffer.alloc(0), acl: OPEN, ephemeralOwner: 0n, parentCVersion: -1 });
  }
  delete(path: string): WatchEvent[] {
    return this.run({ type: OpCode.delete, path });
  }
  setData(path: string, data = 'x'): WatchEvent[] {
    return this.run({ type: OpCode.setData, path, data: Buffer.from(data), version: this.zxid });
  }
}

const ev = (watcher: number, type: number, path: string): WatchEvent => ({ watcher, type: type as WatchEvent['type'], path, acl: null });

describe('standard watches through DataTree', () => {
  test('data_watch_fires_NodeDataChanged_once', () => {
    const t = new T();
    t.create('/a');
    t.tree.addDataWatch('/a', 1);
    assert.deepEqual(t.setData('/a'), [ev(1, NodeDataChanged, '/a')]);
    assert.deepEqual(t.setData('/a'), [], 'a standard watch is one-shot');
    assert.equal(t.tree.dataWatches.size, 0);
  });

  test('exist_watch_on_a_missing_node_fires_NodeCreated', () => {
    const t = new T();
    assert.equal(t.tree.statNode('/x', 4), null);
    assert.deepEqual(t.create('/x'), [ev(4, NodeCreated, '/x')]);
    assert.deepEqual(t.setData('/x'), [], 'the exist watch was consumed by NodeCreated');
  });

  test('exists_on_an_existing_node_sets_a_data_watch', () => {
    const t = new T();
    t.create('/x');
    assert.ok(t.tree.statNode('/x', 4));
    assert.deepEqual(t.setData('/x'), [ev(4, NodeDataChanged, '/x')]);
  });

  test('exists_without_watch_registers_nothing', () => {
    const t = new T();
    t.tree.statNode('/x', null);
    assert.deepEqual(t.create('/x'), []);
  });

  test('child_watch_fires_NodeChildrenChanged_on_create_and_delete_of_a_child', () => {
    const t = new T();
    t.create('/p');
    t.tree.addChildWatch('/p', 2);
    assert.deepEqual(t.create('/p/c'), [ev(2, NodeChildrenChanged, '/p')]);
    assert.deepEqual(t.create('/p/d'), [], 'one-shot');
    t.tree.addChildWatch('/p', 2);
    assert.deepEqual(t.delete('/p/c'), [ev(2, NodeChildrenChanged, '/p')]);
  });

  test('child_watch_ignores_data_changes_and_grandchildren', () => {
    const t = new T();
    t.create('/p');
    t.create('/p/c');
    t.tree.addChildWatch('/p', 2);
    assert.deepEqual(t.setData('/p'), []);
    assert.deepEqual(t.setData('/p/c'), []);
    assert.deepEqual(t.create('/p/c/g'), []);
    assert.equal(t.tree.childWatches.size, 1);
  });

  test('data_watch_does_not_fire_for_child_changes', () => {
    const t = new T();
    t.create('/p');
    t.tree.addDataWatch('/p', 1);
    assert.deepEqual(t.create('/p/c'), []);
  });

  test('delete_fires_NodeDeleted_once_per_watcher_to_data_and_child_watchers', () => {
    const t = new T();
    t.create('/a');
    t.tree.addDataWatch('/a', 1);
    t.tree.addChildWatch('/a', 1); // both kinds: still one event
    t.tree.addChildWatch('/a', 2);
    t.tree.addDataWatch('/a', 3);
    const events = t.delete('/a');
    const deleted = events.filter((e) => e.path === '/a');
    assert.equal(deleted.length, 3);
    assert.ok(deleted.every((e) => e.type === NodeDeleted));
    assert.deepEqual(deleted.map((e) => e.watcher).sort(), [1, 2, 3]);
    assert.equal(t.tree.dataWatches.size, 0);
  });

  test('delete_consumes_the_child_watch_of_a_watcher_already_told_by_its_data_watch', () => {
    const t = new T();
    t.create('/a');
    t.tree.addDataWatch('/a', 1);
    t.tree.addChildWatch('/a', 1);
    t.delete('/a');
    assert.equal(t.tree.childWatches.size, 0);
    t.create('/a');
    assert.deepEqual(t.create('/a/b'), [], 'no stale NodeChildrenChanged after the node was deleted and recreated');
  });

  test('multiple_watchers_on_one_path_each_get_one_event', () => {
    const t = new T();
    t.create('/a');
    for (const w of [5, 6, 7]) t.tree.addDataWatch('/a', w);
    t.tree.addDataWatch('/a', 5); // registering twice is still one watch
    assert.deepEqual(
      t
        .setData('/a')
        .map((e) => e.watcher)
        .sort(),
      [5, 6, 7],
    );
  });

  test('NodeCreated_comes_before_parent_NodeChildrenChanged', () => {
    const t = new T();
    t.create('/p');
    t.tree.statNode('/p/c', 1);
    t.tree.addChildWatch('/p', 1);
    assert.deepEqual(t.create('/p/c'), [ev(1, NodeCreated, '/p/c'), ev(1, NodeChildrenChanged, '/p')]);
  });

  test('NodeDeleted_comes_before_parent_NodeChildrenChanged', () => {
    const t = new T();
    t.create('/p');
    t.create('/p/c');
    t.tree.addDataWatch('/p/c', 1);
    t.tree.addChildWatch('/p', 1);
    assert.deepEqual(t.delete('/p/c'), [ev(1, NodeDeleted, '/p/c'), ev(1, NodeChildrenChanged, '/p')]);
  });

  test('watch_on_root_sees_top_level_children', () => {
    const t = new T();
    t.tree.addChildWatch('/', 1);
    assert.deepEqual(t.create('/top'), [ev(1, NodeChildrenChanged, '/')]);
  });
});

describe('persistent watches', () => {
  test('persistent_watch_stays_after_firing_and_gets_NodeChildrenChanged', () => {
    const t = new T();
    t.create('/p');
    t.tree.addPersistentWatch('/p', 1, false);
    assert.deepEqual(t.setData('/p'), [ev(1, NodeDataChanged, '/p')]);
    assert.deepEqual(t.setData('/p'), [ev(1, NodeDataChanged, '/p')]);
    assert.deepEqual(t.create('/p/c'), [ev(1, NodeChildrenChanged, '/p')]);
    assert.deepEqual(t.create('/p/d'), [ev(1, NodeChildrenChanged, '/p')]);
    assert.deepEqual(t.create('/p/c/g'), [], 'not recursive');
    assert.deepEqual(t.delete('/p/c/g'), []);
  });

  test('persistent_watch_fires_NodeDeleted_once_and_then_NodeCreated', () => {
    const t = new T();
    t.create('/p');
    t.tree.addPersistentWatch('/p', 1, false);
    assert.deepEqual(t.delete('/p'), [ev(1, NodeDeleted, '/p')]);
    assert.deepEqual(t.create('/p'), [ev(1, NodeCreated, '/p')], 'still registered after the delete');
  });

  test('persistent_recursive_fires_for_descendants_but_not_NodeChildrenChanged', () => {
    const t = new T();
    t.create('/r');
    t.tree.addPersistentWatch('/r', 1, true);
    const all: WatchEvent[] = [];
    const step = (events: WatchEvent[]): WatchEvent[] => {
      all.push(...events);
      return events;
    };
    assert.deepEqual(step(t.create('/r/a')), [ev(1, NodeCreated, '/r/a')]);
    assert.deepEqual(step(t.create('/r/a/b')), [ev(1, NodeCreated, '/r/a/b')]);
    assert.deepEqual(step(t.setData('/r/a/b')), [ev(1, NodeDataChanged, '/r/a/b')]);
    assert.deepEqual(step(t.delete('/r/a/b')), [ev(1, NodeDeleted, '/r/a/b')]);
    assert.deepEqual(step(t.setData('/r')), [ev(1, NodeDataChanged, '/r')]);
    assert.ok(all.every((e) => e.type !== NodeChildrenChanged));
  });

  test('persistent_recursive_ignores_siblings_with_a_common_prefix', () => {
    const t = new T();
    t.create('/r');
    t.tree.addPersistentWatch('/r', 1, true);
    assert.deepEqual(t.create('/rx'), []);
    assert.deepEqual(t.create('/rx/y'), []);
  });

  test('non_recursive_watches_on_ancestors_stay_quiet_while_recursive_watches_exist', () => {
    const t = new T();
    t.create('/p');
    t.create('/p/c');
    t.create('/other');
    t.tree.addPersistentWatch('/other', 1, true); // makes the tree look at ancestors at all
    t.tree.addDataWatch('/p', 2);
    t.tree.addPersistentWatch('/p', 3, false);
    assert.deepEqual(t.setData('/p/c'), []);
    assert.deepEqual(t.create('/p/c/g'), []);
    assert.ok(t.tree.dataWatches.has('/p', 2, WatchMode.Standard), 'the standard watch on the ancestor is not consumed');
  });

  test('persistent_recursive_on_root_sees_everything', () => {
    const t = new T();
    t.tree.addPersistentWatch('/', 1, true);
    assert.deepEqual(t.create('/a'), [ev(1, NodeCreated, '/a')]);
    assert.deepEqual(t.create('/a/b'), [ev(1, NodeCreated, '/a/b')]);
  });

  test('recursive_and_standard_watch_of_one_watcher_fire_once', () => {
    const t = new T();
    t.create('/r');
    t.create('/r/a');
    t.tree.addPersistentWatch('/r', 1, true);
    t.tree.addDataWatch('/r/a', 1);
    assert.deepEqual(t.setData('/r/a'), [ev(1, NodeDataChanged, '/r/a')]);
    assert.deepEqual(t.setData('/r/a'), [ev(1, NodeDataChanged, '/r/a')], 'the recursive watch remains');
  });

  test('removeWatcher_drops_all_of_a_connections_watches', () => {
    const t = new T();
    t.create('/a');
    t.create('/p');
    t.tree.addDataWatch('/a', 1);
    t.tree.addChildWatch('/a', 1);
    t.tree.statNode('/missing', 1);
    t.tree.addPersistentWatch('/p', 1, false);
    t.tree.addPersistentWatch('/', 1, true);
    t.tree.addDataWatch('/a', 2);
    t.tree.removeWatcher(1);
    const events = [...t.setData('/a'), ...t.create('/a/c'), ...t.create('/missing'), ...t.setData('/p'), ...t.create('/p/x')];
    assert.deepEqual(events, [ev(2, NodeDataChanged, '/a')]);
    assert.equal(t.tree.dataWatches.size, 0);
    assert.equal(t.tree.childWatches.size, 0);
  });
});

describe('WatchManager', () => {
  test('modes_are_bits_and_standard_is_consumed_while_persistent_stays', () => {
    const wm = new WatchManager();
    wm.add('/a', 1, WatchMode.Standard);
    wm.add('/a', 1, WatchMode.Persistent);
    assert.ok(wm.has('/a', 1, WatchMode.Standard));
    assert.ok(wm.has('/a', 1, WatchMode.Persistent));
    const out: WatchEvent[] = [];
    wm.trigger('/a', NodeDataChanged, null, out, new Set());
    assert.deepEqual(out, [ev(1, NodeDataChanged, '/a')]);
    assert.equal(wm.has('/a', 1, WatchMode.Standard), false);
    assert.ok(wm.has('/a', 1, WatchMode.Persistent));
  });

  test('remove_clears_only_the_given_bits_and_reports_whether_any_was_set', () => {
    const wm = new WatchManager();
    wm.add('/a', 1, WatchMode.Standard | WatchMode.PersistentRecursive);
    assert.equal(wm.remove('/a', 1, WatchMode.Persistent), false);
    assert.equal(wm.remove('/a', 1, WatchMode.PersistentRecursive), true);
    assert.ok(wm.has('/a', 1, WatchMode.Standard));
    assert.equal(wm.remove('/a', 1, WatchMode.Standard), true);
    assert.equal(wm.size, 0);
    assert.equal(wm.pathCount, 0);
    assert.equal(wm.pathsByWatcher().has(1), false);
  });

  test('removed_recursive_watch_no_longer_fires_for_descendants', () => {
    const wm = new WatchManager();
    wm.add('/r', 1, WatchMode.PersistentRecursive);
    wm.remove('/r', 1, WatchMode.PersistentRecursive);
    wm.add('/other', 2, WatchMode.Standard);
    const out: WatchEvent[] = [];
    wm.trigger('/r/x', NodeCreated, null, out, new Set());
    assert.deepEqual(out, []);
  });

  test('fired_set_suppresses_duplicates_across_registries', () => {
    const wm = new WatchManager();
    wm.add('/a', 1, WatchMode.Standard);
    wm.add('/a', 2, WatchMode.Standard);
    const out: WatchEvent[] = [];
    const fired = new Set<number>([1]);
    wm.trigger('/a', NodeDeleted, null, out, fired);
    assert.deepEqual(out, [ev(2, NodeDeleted, '/a')]);
    assert.deepEqual([...fired].sort(), [1, 2]);
  });

  test('size_and_pathCount_track_registrations', () => {
    const wm = new WatchManager();
    wm.add('/a', 1, WatchMode.Standard);
    wm.add('/a', 2, WatchMode.Standard);
    wm.add('/b', 1, WatchMode.Standard);
    assert.equal(wm.size, 3);
    assert.equal(wm.pathCount, 2);
    assert.deepEqual([...(wm.pathsByWatcher().get(1) ?? [])].sort(), ['/a', '/b']);
    assert.deepEqual([...(wm.watchersByPath().get('/a')?.keys() ?? [])].sort(), [1, 2]);
  });

  test('parentOf_gives_slash_for_top_level_and_null_for_root', () => {
    assert.equal(parentOf('/'), null);
    assert.equal(parentOf('/a'), '/');
    assert.equal(parentOf('/a/b/c'), '/a/b');
  });
});
