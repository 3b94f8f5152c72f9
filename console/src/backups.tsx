// The backups page: take a consistent backup of the whole tree now and download it (the same file
// `ark backup create --admin` writes; `ark backup verify` checks it, `ark restore` restores it).
// Users with every permission on "/" (or the super user) only: the server refuses others.
export function BackupsPage() {
  return (
    <section class="page" data-testid="backups">
      <h2>Backups</h2>
      <p>
        A consistent backup of the whole tree as of one zxid, taken while clients keep writing, streamed to your browser (memory on the
        server stays flat). Needs every permission on <code>/</code>, as the AdminServer's <code>snapshot</code> command.
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
