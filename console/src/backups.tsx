// The backups page: the last scheduled backup and the continuous archive as this member sees them
// (mntr's zk_last_backup_* and zk_archive_*), and a consistent backup of the whole tree taken now,
// downloaded (the same file `ark backup create --admin` writes; `ark backup verify` checks it,
// `ark restore` restores it). Users with every permission on "/" (or the super user) only.
import { api } from './api';
import { time, zxidHex } from './format';
import { usePoll } from './poll';

type Status = Record<string, number>;

const POLL_MS = 5000;

function LastBackup({ s }: { s: Status }) {
  if (s.last_backup_success === -1)
    return <p data-testid="last-backup">No scheduled backup has run on this member since it started (backup.intervalMs).</p>;
  return (
    <table class="stat" data-testid="last-backup">
      <caption>Last scheduled backup</caption>
      <tbody>
        <tr>
          <th>result</th>
          <td class={s.last_backup_success === 1 ? '' : 'error'}>{s.last_backup_success === 1 ? 'succeeded' : 'FAILED (see the log)'}</td>
        </tr>
        <tr>
          <th>taken</th>
          <td>{time(s.last_backup_time_ms ?? 0)}</td>
        </tr>
        <tr>
          <th>zxid</th>
          <td>{zxidHex(s.last_backup_zxid ?? 0)}</td>
        </tr>
        <tr>
          <th>size</th>
          <td>{s.last_backup_size_bytes} bytes</td>
        </tr>
        <tr>
          <th>took</th>
          <td>{s.last_backup_duration_ms} ms</td>
        </tr>
      </tbody>
    </table>
  );
}

function Archive({ s }: { s: Status }) {
  if (s.archive_last_zxid === undefined)
    return <p data-testid="archive">No continuous archive is configured (backup.archiveDir): point-in-time restore needs one.</p>;
  const behind = (s.archive_lag_txns ?? 0) > 0;
  return (
    <table class="stat" data-testid="archive">
      <caption>Continuous archive (point-in-time restore)</caption>
      <tbody>
        <tr>
          <th>archived up to</th>
          <td>{zxidHex(s.archive_last_zxid)}</td>
        </tr>
        <tr>
          <th>behind</th>
          <td class={behind ? 'warn' : ''} data-testid="archive-lag">
            {s.archive_lag_txns} txns, {s.archive_lag_ms} ms
          </td>
        </tr>
        {s.archive_history_mismatch === 1 && (
          <tr>
            <th>history</th>
            <td class="error">does not match this member's: nothing more is archived from here (see the log)</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

export function BackupsPage() {
  const { data: status, error } = usePoll(() => api<Status>('GET', '/backups'), POLL_MS);
  return (
    <section class="page" data-testid="backups">
      <h2>Backups</h2>
      {error && (
        <p class="error" data-testid="backups-error">
          {error}
        </p>
      )}
      {status && (
        <div class="tables">
          <LastBackup s={status} />
          <Archive s={status} />
        </div>
      )}
      <h3>Take one now</h3>
      <p>
        A consistent backup of the whole tree as of one zxid, taken while clients keep writing, streamed to your browser (memory on the
        server stays flat).
      </p>
      <p>
        <a class="button" href="/console/api/backup" download data-testid="backup-download">
          Download a backup now
        </a>
      </p>
      <p class="muted">
        Check it with <code>ark backup verify FILE</code>, look inside with <code>ark backup inspect FILE</code>, restore it with{' '}
        <code>ark restore</code> or the AdminServer's <code>restore</code> command (see the README's Backup and restore).
      </p>
    </section>
  );
}
