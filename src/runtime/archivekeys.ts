// The public keys a server encrypts its archive to (backup.recipients, backup.recipientsFile),
// read and checked when it starts: a key that is not one stops start-up naming the zoo.cfg key,
// rather than an archive written in clear, or not at all, once it runs. A server holds public keys
// only: what it must read back of its archive stays in clear (backup/crypt-store.ts).
import { ConfigError } from '../config/error.js';
import type { BackupConfig } from '../config/serverconfig.js';
import { checkRecipients, readRecipientsFile } from '../backup/crypt.js';

export function archiveRecipients(cfg: BackupConfig): string[] {
  const out: string[] = [];
  try {
    out.push(...checkRecipients(cfg.recipients, 'backup.recipients'));
  } catch (e) {
    throw new ConfigError('backup.recipients', (e as Error).message);
  }
  if (cfg.recipientsFile !== null) {
    try {
      out.push(...readRecipientsFile(cfg.recipientsFile));
    } catch (e) {
      throw new ConfigError('backup.recipientsFile', `backup.recipientsFile: ${(e as Error).message}`);
    }
  }
  return [...new Set(out)];
}
