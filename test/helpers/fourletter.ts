import { connect } from 'node:net';

/** Sends a four-letter word and returns everything the server answers before it closes. */
export function fourLetter(port: number, cmd: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host });
    let out = '';
    s.on('connect', () => s.write(cmd));
    s.on('data', (d: Buffer) => {
      out += d.toString();
    });
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}
