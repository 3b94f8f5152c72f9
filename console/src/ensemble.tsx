// The ensemble page: every member's role, state, last zxid and epoch, how far it is behind, its
// connections, outstanding requests and latency, polled every 2 s. A member that does not answer
// or does not serve is red; one more than LAG_WARN txns behind is amber.
import type { EnsembleView, MemberState } from '../../src/admin/console-types.js';
import { api } from './api';
import { time, zxidHex } from './format';
import { usePoll } from './poll';

const POLL_MS = 2000;
const LAG_WARN = 1000;

function health(m: MemberState): 'bad' | 'warn' | 'ok' {
  if (m.state === 'unreachable' || m.state === 'not-serving') return 'bad';
  if (m.state === 'unknown' || (m.lag ?? 0) > LAG_WARN || (m.sync !== undefined && m.sync !== 'synced')) return 'warn';
  return 'ok';
}

export function EnsemblePage() {
  // the time of the answer shown, taken when it arrives
  const { data, error } = usePoll(async () => ({ state: await api<EnsembleView>('GET', '/ensemble'), at: new Date() }), POLL_MS);
  if (!data) return <section class="page muted">{error || 'loading…'}</section>;
  const { state, at } = data;
  const standalone = state.myId === 0;
  return (
    <section class="page" data-testid="ensemble">
      <h2>
        {standalone ? 'Standalone server' : `Ensemble: ${state.members.length} members, leader ${state.leaderId || 'none (electing)'}`}
      </h2>
      <p class="muted">
        As member {state.myId || '—'} sees it, {at.toLocaleTimeString()}; others are asked <code>srvr</code> on their client port every{' '}
        {POLL_MS / 1000} s.{error && <span class="error"> {error}</span>}
      </p>
      <table class="members">
        <thead>
          <tr>
            <th>id</th>
            <th>address</th>
            <th>role</th>
            <th>state</th>
            <th>last zxid</th>
            <th>epoch</th>
            <th>behind (txns)</th>
            <th>connections</th>
            <th>outstanding</th>
            <th>latency min/avg/max ms</th>
            <th>znodes</th>
          </tr>
        </thead>
        <tbody>
          {state.members.map((m) => (
            <tr key={m.id} class={health(m)} data-testid={`member-${m.id}`} data-health={health(m)}>
              <td>
                {m.id}
                {m.self && <span class="tag">this</span>}
              </td>
              <td>{m.address ?? '—'}</td>
              <td>{m.role}</td>
              <td data-testid={`member-${m.id}-state`}>
                {m.state === 'up' ? m.mode : m.state}
                {m.sync && m.sync !== 'synced' ? ` (leader: ${m.sync})` : ''}
                {m.detail && <div class="muted small">{m.detail}</div>}
              </td>
              <td>{m.zxid === undefined ? '—' : zxidHex(m.zxid)}</td>
              <td>{m.epoch ?? '—'}</td>
              <td>{m.lag ?? '—'}</td>
              <td>{m.connections ?? '—'}</td>
              <td>{m.outstanding ?? '—'}</td>
              <td>{m.latency ? `${m.latency.min}/${m.latency.avg}/${m.latency.max}` : '—'}</td>
              <td>{m.nodeCount ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!standalone && (
        <>
          <h3>Elections this member took part in</h3>
          {state.elections.length === 0 ? (
            <p class="muted">none since it started</p>
          ) : (
            <table class="members" data-testid="elections">
              <thead>
                <tr>
                  <th>ended</th>
                  <th>took</th>
                  <th>leader</th>
                  <th>epoch</th>
                  <th>this member became</th>
                </tr>
              </thead>
              <tbody>
                {state.elections.map((e) => (
                  <tr key={e.endedMs}>
                    <td>{time(e.endedMs)}</td>
                    <td>{e.durationMs} ms</td>
                    <td>{e.leaderId}</td>
                    <td>{e.epoch}</td>
                    <td>{e.role}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
