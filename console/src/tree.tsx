// The tree: each node's children load when it is opened, a page at a time (a node with 100k
// children costs one page), sorted by name; a search box lists the children of a path whose names
// start with what was typed. Children lists follow the server's watch events.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, q, type ChildItem, type ChildPage } from './api';
import { listen } from './events';
import { join, parentOf } from './format';

const PAGE = 100;

interface Props {
  selected: string;
  onSelect: (path: string) => void;
}

export function TreePane({ selected, onSelect }: Props) {
  return (
    <nav class="tree" data-testid="tree">
      <Search onSelect={onSelect} />
      <ul>
        <TreeNode path="/" name="/" selected={selected} onSelect={onSelect} hasChildren={true} />
      </ul>
    </nav>
  );
}

/** Loads a node's children page by page; reloads what is shown when the server says they changed. */
function useChildren(path: string, open: boolean, prefix = '') {
  const [items, setItems] = useState<ChildItem[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const shown = useRef(0);
  shown.current = items.length;
  const load = async (offset: number, limit: number, replace: boolean) => {
    setLoading(true);
    try {
      const page = await api<ChildPage>('GET', `/children${q({ path, offset, limit, prefix })}`);
      setItems((old) => (replace ? page.items : [...old, ...page.items]));
      setTotal(page.matched);
      setError('');
    } catch (e) {
      setError(e instanceof ApiError ? e.code : String(e));
      if (replace) setItems([]);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    if (!open) return;
    void load(0, PAGE, true);
    // what the page shows is loaded again, as many as were shown
    return listen(path, (e) => {
      if (e.type === 'NodeChildrenChanged' || e.type === 'NodeCreated' || e.type === 'connection')
        void load(0, Math.max(PAGE, shown.current), true);
    });
  }, [path, open, prefix]);
  const more = () => load(items.length, PAGE, false);
  return { items, total, error, loading, more };
}

function TreeNode({
  path,
  name,
  selected,
  onSelect,
  hasChildren,
  ephemeral,
  count,
}: Props & { path: string; name: string; hasChildren: boolean; ephemeral?: boolean; count?: number }) {
  const below = path === '/' || selected.startsWith(`${path}/`);
  const [open, setOpen] = useState(below);
  // a node chosen elsewhere (search, a link) shows in the tree: its ancestors open
  useEffect(() => {
    if (below) setOpen(true);
  }, [below]);
  const { items, total, error, loading, more } = useChildren(path, open);
  return (
    <li>
      <div class={`row ${selected === path ? 'selected' : ''}`}>
        <button
          type="button"
          class="toggle"
          aria-label={open ? 'close' : 'open'}
          disabled={!hasChildren}
          onClick={() => setOpen(!open)}
          data-testid={`toggle:${path}`}
        >
          {hasChildren ? (open ? '▾' : '▸') : '·'}
        </button>
        <a
          href={`#${path}`}
          data-testid={`node:${path}`}
          onClick={(e) => {
            e.preventDefault();
            onSelect(path);
          }}
        >
          {name}
        </a>
        {count !== undefined && count > 0 && <span class="count">{count}</span>}
        {ephemeral && <span class="tag">ephemeral</span>}
      </div>
      {open && (
        <ul>
          {error && <li class="error">{error === 'NoAuth' ? 'no READ permission' : error}</li>}
          {items.map((c) =>
            c.gone ? null : (
              <TreeNode
                key={c.name}
                path={join(path, c.name)}
                name={c.name}
                selected={selected}
                onSelect={onSelect}
                hasChildren={(c.numChildren ?? 0) > 0}
                ephemeral={c.ephemeral === true}
                {...(c.numChildren !== undefined ? { count: c.numChildren } : {})}
              />
            ),
          )}
          {items.length < total && (
            <li>
              <button type="button" class="more" disabled={loading} onClick={more} data-testid={`more:${path}`}>
                show more ({items.length} of {total})
              </button>
            </li>
          )}
        </ul>
      )}
    </li>
  );
}

/** "/app/se": the children of /app whose names start with "se". */
function Search({ onSelect }: { onSelect: (path: string) => void }) {
  const [text, setText] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebounced(text), 200);
    return () => clearTimeout(t);
  }, [text]);
  const valid = debounced.startsWith('/');
  const parent = valid ? (debounced.endsWith('/') ? debounced.slice(0, -1) || '/' : parentOf(debounced)) : '/';
  const prefix = valid && !debounced.endsWith('/') ? debounced.slice(debounced.lastIndexOf('/') + 1) : '';
  const { items, total, error, loading, more } = useChildren(parent, valid, prefix);
  return (
    <div class="search">
      <input
        placeholder="path prefix, e.g. /app/con"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text.startsWith('/')) onSelect(text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text);
        }}
        data-testid="search"
      />
      {valid && (
        <div class="results" data-testid="search-results">
          {error ? (
            <p class="error">{error === 'NoNode' ? `${parent} does not exist` : error}</p>
          ) : (
            <p class="muted">
              {total} {total === 1 ? 'match' : 'matches'} under {parent}
            </p>
          )}
          <ul>
            {items.map((c) => (
              <li key={c.name}>
                <a
                  href={`#${join(parent, c.name)}`}
                  onClick={(e) => {
                    e.preventDefault();
                    onSelect(join(parent, c.name));
                  }}
                >
                  {join(parent, c.name)}
                </a>
              </li>
            ))}
          </ul>
          {items.length < total && (
            <button type="button" class="more" disabled={loading} onClick={more}>
              show more ({items.length} of {total})
            </button>
          )}
        </div>
      )}
    </div>
  );
}
