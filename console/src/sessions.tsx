// The sessions page: the sessions this member knows, with the client connected here, the timeout,
// the ephemerals and the watches. Users with ALL on "/" (or the super user) only.
import { useState } from 'preact/hooks';
import type { SessionsView } from '../../src/admin/console-types.js';
import { api, errorText } from './api';
import { usePoll } from './poll';

const POLL_MS = 3000;

export function SessionsPage() {
  const { data: rows, error } = usePoll(() => api<SessionsView>('GET', '/sessions'), POLL_MS);
  return (
    <section class="page" data-testid="sessions">
      <h2>Sessions{rows ? `: ${rows.total}` : ''}</h2>
      {error && (
        <p class="error" data-testid="sessions-error">
          {error}
        </p>
      )}
      {rows && (
        <>
          <p class="muted">
            The sessions this member knows{rows.total > rows.sessions.length ? ` (the first ${rows.sessions.length})` : ''}; the client and
            watches of those connected to this member. Refreshed every {POLL_MS / 1000} s.
          </p>
          <table class="members">
            <thead>
              <tr>
                <th>session</th>
                <th>client here</th>
                <th>timeout</th>
                <th>expires in</th>
                <th>ephemerals</th>
                <th>watches here</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.sessions.map((s) => (
                <tr key={s.id} data-testid={`session-${s.id}`}>
                  <td>{s.id}</td>
                  <td>{s.client ?? '—'}</td>
                  <td>{s.timeoutMs} ms</td>
                  <td>{s.expiresInMs} ms</td>
                  <td>
                    {s.ephemerals}
                    {s.ephemeralPaths.map((p) => (
                      <div key={p} class="muted small">
                        {p}
                      </div>
                    ))}
                    {s.ephemerals > s.ephemeralPaths.length && <div class="muted small">…</div>}
                  </td>
                  <td>{s.watches}</td>
                  <td>{s.client !== 'web console' && <CloseButton id={s.id} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Close a session: a first click asks, a second one closes it (its ephemerals go, its client finds it expired). */
function CloseButton({ id }: { id: string }) {
  const [step, setStep] = useState<'idle' | 'ask' | 'busy' | 'done'>('idle');
  const [error, setError] = useState('');
  const close = async () => {
    setStep('busy');
    try {
      await api('POST', '/close-session', { id });
      setStep('done');
    } catch (e) {
      setError(errorText(e));
      setStep('idle');
    }
  };
  if (step === 'done') return <span class="muted">closed</span>;
  return (
    <>
      {step === 'ask' ? (
        <button type="button" class="danger" onClick={close} data-testid={`close-confirm-${id}`}>
          Close it: its ephemerals go
        </button>
      ) : (
        <button type="button" disabled={step === 'busy'} onClick={() => setStep('ask')} data-testid={`close-${id}`}>
          Close
        </button>
      )}
      {error && <div class="error small">{error}</div>}
    </>
  );
}
