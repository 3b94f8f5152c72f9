// sslQuorumReloadCertFiles: ZooKeeper's X509Util.enableCertFileReloading watches the directories of
// the key store and trust store (FileChangeWatcher) and rebuilds its SSLContext when one of the
// files changes. Ark watches the directories too, but does not trust the events' file names: a
// Kubernetes secret is updated by kubelet renaming a new `..data` symlink over the old one (the
// watched `server.pem -> ..data/server.pem` itself never changes and no event names it), and a
// certificate tool may write a temporary file and rename it. So any event in a watched directory
// makes each watched file be compared with what it was (device, inode, size and modification time
// of the file its path resolves to, following symlinks: a rewrite in place is a change, as a
// modify event is for FileChangeWatcher), and a burst of events that changed one is one reload.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The file its path resolves to now, and its version; 'missing' when there is none. */
function fingerprint(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return 'missing';
  }
}

/** Calls `onChange` once after changes to any of `paths` settle; returns the function that stops watching. */
export function watchFiles(paths: readonly string[], onChange: () => void, settleMs = 200): () => void {
  const files = [...new Set(paths.map((p) => resolve(p)))];
  // what was loaded: the caller read these files just before watching them
  const loaded = new Map(files.map((f) => [f, fingerprint(f)]));
  let timer: NodeJS.Timeout | null = null;
  const check = (): void => {
    timer = null;
    let changed = false;
    for (const f of files) {
      const now = fingerprint(f);
      if (now !== loaded.get(f)) {
        loaded.set(f, now);
        changed = true;
      }
    }
    if (changed) onChange();
  };
  const event = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, settleMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    const w = watch(dir, { persistent: false }, event);
    w.on('error', () => undefined);
    watchers.push(w);
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
