// One node: its data as text, pretty JSON or hex; every Stat field; its ACL; and what can be done
// to it: edit at the version shown (a concurrent change gives BadVersion and the new value, never
// an overwrite), create a child, delete (a subtree only after the path is typed).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, errorText, q, type NodeInfo } from './api';
import { listen } from './events';
import {
  HEX_BYTES_MAX,
  encodeUtf8,
  fromBase64,
  hexDump,
  isUtf8,
  join,
  parentOf,
  perms,
  prettyJson,
  time,
  toBase64,
  utf8,
  zxidHex,
} from './format';

type View = 'text' | 'json' | 'hex';

export function NodeView({ path, onSelect }: { path: string; onSelect: (p: string) => void }) {
  const [node, setNode] = useState<NodeInfo | null>(null);
  const [error, setError] = useState('');
  const [mode, setMode] = useState<'view' | 'edit' | 'create' | 'delete'>('view');
  const load = async () => {
    try {
      setNode(await api<NodeInfo>('GET', `/node${q({ path })}`));
      setError('');
    } catch (e) {
      setNode(null);
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load();
    return listen(path, (e) => {
      if (e.type !== 'NodeChildrenChanged') void load();
    });
  }, [path]);
  if (error)
    return (
      <section class="node" data-testid="node-view">
        <h2>{path}</h2>
        <p class="error" data-testid="node-error">
          {error}
        </p>
      </section>
    );
  if (!node) return <section class="node muted">loading…</section>;
  const done = () => setMode('view');
  return (
    <section class="node" data-testid="node-view">
      <h2 data-testid="node-path">{path}</h2>
      <div class="actions">
        <button type="button" onClick={() => setMode('edit')} disabled={node.dataError !== undefined} data-testid="edit">
          Edit
        </button>
        <button type="button" onClick={() => setMode('create')} data-testid="create">
          Create child
        </button>
        <button type="button" class="danger" onClick={() => setMode('delete')} disabled={path === '/'} data-testid="delete">
          Delete
        </button>
      </div>
      {mode === 'edit' && <Editor node={node} onDone={done} />}
      {mode === 'create' && <CreateForm parent={path} onDone={done} onCreated={onSelect} />}
      {mode === 'delete' && (
        <DeleteDialog path={path} version={node.stat.version} onDone={done} onDeleted={() => onSelect(parentOf(path))} />
      )}
      <DataPanel node={node} />
      <div class="tables">
        <StatTable node={node} />
        <AclTable node={node} />
      </div>
    </section>
  );
}

function DataPanel({ node }: { node: NodeInfo }) {
  const [view, setView] = useState<View>('text');
  if (node.dataError)
    return (
      <p class="error" data-testid="data-error">
        Data not shown: {node.dataError} (this user has no READ permission on the node)
      </p>
    );
  if (node.data === null || node.data === undefined) return <p class="muted">no data (null)</p>;
  const bytes = fromBase64(node.data);
  let text: string;
  let note = '';
  if (view === 'json') {
    const j = prettyJson(bytes);
    text = j.text;
    if (!j.ok) note = 'shown as text instead';
  } else if (view === 'hex') {
    text = hexDump(bytes);
    if (bytes.length > HEX_BYTES_MAX) note = `first ${HEX_BYTES_MAX} bytes`;
  } else {
    text = utf8(bytes);
    if (!isUtf8(bytes)) note = 'not valid UTF-8: see hex';
  }
  return (
    <div class="data">
      <div class="tabs" role="tablist">
        {(['text', 'json', 'hex'] as View[]).map((v) => (
          <button
            type="button"
            role="tab"
            aria-selected={view === v}
            class={view === v ? 'on' : ''}
            onClick={() => setView(v)}
            data-testid={`view-${v}`}
          >
            {v === 'json' ? 'JSON' : v}
          </button>
        ))}
        <span class="muted">
          {bytes.length} bytes{note && ` · ${note}`}
        </span>
      </div>
      <pre data-testid="data">{view === 'json' && !prettyJson(bytes).ok ? `${text}\n\n${utf8(bytes)}` : text}</pre>
    </div>
  );
}

function StatTable({ node }: { node: NodeInfo }) {
  const s = node.stat;
  const rows: Array<[string, string]> = [
    ['czxid', zxidHex(s.czxid)],
    ['mzxid', zxidHex(s.mzxid)],
    ['pzxid', zxidHex(s.pzxid)],
    ['ctime', time(s.ctime)],
    ['mtime', time(s.mtime)],
    ['version', String(s.version)],
    ['cversion', String(s.cversion)],
    ['aversion', String(s.aversion)],
    ['ephemeralOwner', s.ephemeralOwner === '0' ? '0x0 (persistent)' : `0x${s.ephemeralOwner}`],
    ['dataLength', String(s.dataLength)],
    ['numChildren', String(s.numChildren)],
  ];
  return (
    <table class="stat" data-testid="stat">
      <caption>Stat</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td data-testid={`stat-${k}`}>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AclTable({ node }: { node: NodeInfo }) {
  return (
    <table class="acl" data-testid="acl">
      <caption>ACL</caption>
      <tbody>
        {node.aclError ? (
          <tr>
            <td class="error">{node.aclError}</td>
          </tr>
        ) : (
          (node.acl ?? []).map((a) => (
            <tr key={`${a.scheme}:${a.id}`}>
              <th>{a.scheme}</th>
              <td>{a.id}</td>
              <td class="mono">{perms(a.perms)}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

function Editor({ node, onDone }: { node: NodeInfo; onDone: () => void }) {
  const original = node.data ? fromBase64(node.data) : new Uint8Array();
  const [text, setText] = useState(utf8(original));
  const [version, setVersion] = useState(node.stat.version);
  const [conflict, setConflict] = useState<NodeInfo | null>(null);
  const [error, setError] = useState('');
  const save = async () => {
    setError('');
    try {
      await api('POST', '/set', { path: node.path, data: toBase64(encodeUtf8(text)), version });
      onDone();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'BadVersion') setConflict((e.body.current as NodeInfo | null) ?? null);
      else setError(errorText(e));
    }
  };
  return (
    <div class="editor" data-testid="editor">
      {!isUtf8(original) && <p class="warn">This data is not UTF-8 text: saving from here replaces it with the text below.</p>}
      <textarea value={text} onInput={(e) => setText(e.currentTarget.value)} rows={10} data-testid="editor-text" />
      {conflict && (
        <div class="conflict" role="alert" data-testid="conflict">
          <p>
            <strong>BadVersion:</strong> {node.path} changed since you opened it (you edited version {version}; it is now version{' '}
            {conflict.stat.version}). Nothing was written. Its value now:
          </p>
          <pre data-testid="conflict-value">{conflict.data ? utf8(fromBase64(conflict.data)) : (conflict.dataError ?? '(null)')}</pre>
          <button
            type="button"
            onClick={() => {
              setVersion(conflict.stat.version);
              setConflict(null);
            }}
            data-testid="rebase"
          >
            Keep my text, save over version {conflict.stat.version}
          </button>
          <button type="button" onClick={onDone}>
            Discard my edit
          </button>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" onClick={save} disabled={conflict !== null} data-testid="save">
          Save (version {version})
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function CreateForm({ parent, onDone, onCreated }: { parent: string; onDone: () => void; onCreated: (p: string) => void }) {
  const [name, setName] = useState('');
  const [data, setData] = useState('');
  const [mode, setMode] = useState('persistent');
  const [acl, setAcl] = useState('open');
  const [error, setError] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<{ path: string }>('POST', '/create', { path: join(parent, name), data: toBase64(encodeUtf8(data)), mode, acl });
      onDone();
      onCreated(r.path);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="editor" onSubmit={create} data-testid="create-form">
      <label>
        Name under {parent}
        <input value={name} onInput={(e) => setName(e.currentTarget.value)} required data-testid="create-name" />
      </label>
      <label>
        Data (text)
        <textarea value={data} onInput={(e) => setData(e.currentTarget.value)} rows={4} data-testid="create-data" />
      </label>
      <label>
        Mode
        <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          <option value="persistent">persistent</option>
          <option value="persistent-sequential">persistent sequential</option>
          <option value="container">container</option>
        </select>
      </label>
      <label>
        ACL
        <select value={acl} onChange={(e) => setAcl(e.currentTarget.value)}>
          <option value="open">world:anyone, all (OPEN_ACL_UNSAFE)</option>
          <option value="creator">only me, all (CREATOR_ALL_ACL)</option>
          <option value="creator-world-read">me all, everyone read</option>
        </select>
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" data-testid="create-submit">
          Create
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function DeleteDialog({ path, version, onDone, onDeleted }: { path: string; version: number; onDone: () => void; onDeleted: () => void }) {
  const [count, setCount] = useState<number | null>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState('');
  useEffect(() => {
    api<{ count: number }>('GET', `/count${q({ path })}`)
      .then((r) => setCount(r.count))
      .catch((e) => {
        // counting needs READ on the node; deleting it needs DELETE on its parent (ZooKeeper's rule): try the node alone
        if (e instanceof ApiError && e.code === 'NoAuth') {
          setNote('The nodes below cannot be counted (no READ permission): only this node is deleted, which fails if it has children.');
          setCount(1);
        } else setError(errorText(e));
      });
  }, [path]);
  const recursive = count !== null && count > 1;
  const go = async () => {
    setBusy(true);
    try {
      await api('POST', '/delete', recursive ? { path, recursive: true, confirm: typed } : { path, version });
      onDone();
      onDeleted();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="editor danger-zone" data-testid="delete-dialog">
      {count === null && !error && <p class="muted">counting…</p>}
      {count !== null && (
        <p data-testid="delete-count">
          {recursive
            ? `This deletes ${count} znodes: ${path} and the ${count - 1} below it. Type the path to confirm.`
            : `This deletes ${path} (version ${version}).`}
        </p>
      )}
      {note && <p class="warn">{note}</p>}
      {recursive && (
        <input value={typed} placeholder={path} onInput={(e) => setTyped(e.currentTarget.value)} data-testid="delete-confirm" />
      )}
      {error && (
        <p class="error" role="alert" data-testid="delete-error">
          {error}
        </p>
      )}
      <div class="actions">
        <button
          type="button"
          class="danger"
          disabled={busy || count === null || (recursive && typed !== path)}
          onClick={go}
          data-testid="delete-go"
        >
          Delete {recursive ? `${count} znodes` : ''}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </div>
  );
}
