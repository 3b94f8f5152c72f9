// sslQuorumReloadCertFiles: ZooKeeper's X509Util.enableCertFileReloading watches the directories of
// the key store and trust store (FileChangeWatcher) and rebuilds its SSLContext when one of the
// files changes. Ark does the same: the directory is watched (a file replaced by a rename, as
// certificate tools and Kubernetes secrets do it, is seen too) and a burst of events is one reload.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** Calls `onChange` once after changes to any of `paths` settle; returns the function that stops watching. */
export function watchFiles(paths: readonly string[], onChange: () => void, settleMs = 200): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const p of paths) {
    const abs = resolve(p);
    const dir = dirname(abs);
    byDir.set(dir, (byDir.get(dir) ?? new Set()).add(basename(abs)));
  }
  let timer: NodeJS.Timeout | null = null;
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, settleMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    const w = watch(dir, { persistent: false }, (_event, name) => {
      // some platforms give no name: then any change in the directory counts
      if (name === null || names.has(name.toString())) changed();
    });
    w.on('error', () => undefined);
    watchers.push(w);
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
