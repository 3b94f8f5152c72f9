// The Ark web console: log in with digest credentials, then the tree page.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, setCsrf, type SessionInfo } from './api';
import { onState, startEvents, stopEvents } from './events';
import { TreePane } from './tree';
import { NodeView } from './node';
import { EnsemblePage } from './ensemble';
import { SessionsPage } from './sessions';
import { MetricsPage } from './metrics';
import { BackupsPage } from './backups';

function Login({ onIn }: { onIn: (s: SessionInfo) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onIn(await api<SessionInfo>('POST', '/login', { user, password }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={submit} data-testid="login">
      <h1>Ark console</h1>
      <p class="muted">Log in with ZooKeeper digest credentials: you see and change what the ACLs let this user.</p>
      <label>
        User
        <input name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error && (
        <p class="error" role="alert" data-testid="login-error">
          {error}
        </p>
      )}
    </form>
  );
}

const pathFromHash = (): string => {
  const h = decodeURIComponent(location.hash.slice(1));
  return h.startsWith('/') ? h : '/';
};
/** #ensemble: the ensemble page; #/path: the tree at that path. In the header's order, after Tree. */
const PAGES = [
  { name: 'ensemble', title: 'Ensemble', Page: EnsemblePage },
  { name: 'sessions', title: 'Sessions', Page: SessionsPage },
  { name: 'metrics', title: 'Metrics', Page: MetricsPage },
  { name: 'backups', title: 'Backups', Page: BackupsPage },
] as const;
type PageName = 'tree' | (typeof PAGES)[number]['name'];
const pageFromHash = (): PageName => PAGES.find((p) => location.hash === `#${p.name}`)?.name ?? 'tree';

function Console({ session, onOut }: { session: SessionInfo; onOut: () => void }) {
  const [selected, setSelected] = useState(pathFromHash());
  const [page, setPage] = useState(pageFromHash());
  const [live, setLive] = useState('connecting');
  useEffect(() => {
    const off = onState(setLive);
    startEvents();
    const onHash = () => {
      setPage(pageFromHash());
      if (pageFromHash() === 'tree') setSelected(pathFromHash());
    };
    addEventListener('hashchange', onHash);
    return () => {
      off();
      stopEvents();
      removeEventListener('hashchange', onHash);
    };
  }, []);
  const select = (p: string) => {
    location.hash = encodeURIComponent(p).replace(/%2F/g, '/');
    setSelected(p);
  };
  const logout = async () => {
    await api('POST', '/logout').catch(() => undefined);
    onOut();
  };
  const s = session.server;
  const Other = PAGES.find((p) => p.name === page)?.Page;
  return (
    <div class="console">
      <header>
        <strong>Ark console</strong>
        <nav class="pages">
          <a href={`#${selected}`} class={page === 'tree' ? 'on' : ''} data-testid="page-tree">
            Tree
          </a>
          {PAGES.map((p) => (
            <a key={p.name} href={`#${p.name}`} class={page === p.name ? 'on' : ''} data-testid={`page-${p.name}`}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class="muted">
          {s.ensemble ? `member ${s.serverId} · ${s.mode}` : s.mode} · {s.version}
        </span>
        <span class={`live ${live}`} data-testid="live" title="live updates from the server's watches">
          ● {live}
        </span>
        <span class="spacer" />
        <span data-testid="whoami">{session.user}</span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <main>
        {Other ? (
          <Other />
        ) : (
          <>
            <TreePane selected={selected} onSelect={select} />
            <NodeView key={selected} path={selected} onSelect={select} />
          </>
        )}
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    const out = () => {
      setCsrf('');
      setSession(null);
    };
    addEventListener('ark-logged-out', out);
    return () => removeEventListener('ark-logged-out', out);
  }, []);
  useEffect(() => {
    api<SessionInfo>('GET', '/session')
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);
  if (session === undefined) return <p class="muted">loading…</p>;
  if (session === null)
    return (
      <Login
        onIn={(s) => {
          setCsrf(s.csrf);
          setSession(s);
        }}
      />
    );
  return (
    <Console
      session={session}
      onOut={() => {
        setCsrf('');
        setSession(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
