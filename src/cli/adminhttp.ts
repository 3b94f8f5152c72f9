// The one place the CLI talks to an AdminServer (backup create, restore --online, backup diff):
// http:// or https:// URLs, and for HTTPS the CA to trust (--ca-file) and a client certificate
// (--cert / --key) for an AdminServer with admin.needClientAuth=true. Each flag falls back to an
// environment variable, so scripts set them once: ARK_ADMIN_CA_FILE, ARK_ADMIN_CERT, ARK_ADMIN_KEY.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';

/** The TLS flags as commander gives them. */
export interface AdminTlsFlags {
  caFile?: string;
  cert?: string;
  key?: string;
}

/** A problem with the AdminServer request: `usage` when the command line is at fault. */
export class AdminRequestError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
  }
}

/** Adds --ca-file, --cert and --key to a command that talks to an AdminServer. */
export function adminTlsFlags(cmd: Command): Command {
  return cmd
    .option(
      '--ca-file <pem>',
      'for an https:// AdminServer: the CA certificate(s) to trust, PEM (default $ARK_ADMIN_CA_FILE, else the system CAs)',
    )
    .option(
      '--cert <pem>',
      'for an https:// AdminServer that needs a client certificate (admin.needClientAuth): the certificate, PEM (default $ARK_ADMIN_CERT)',
    )
    .option('--key <pem>', "the private key of --cert, PEM (default $ARK_ADMIN_KEY, else --cert's file when it holds the key too)");
}

/** The AdminServer URL `path` on `admin` (as --admin gave it); a usage error when it is not an http(s) URL. */
export function adminUrl(admin: string, path: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(path, admin);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new AdminRequestError(
      `${admin} is not an AdminServer URL (expected e.g. http://127.0.0.1:8080 or https://zk1.example.com:8080)`,
      true,
    );
  return url;
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new AdminRequestError(`${what} ${path}: ${(e as Error).message}`, true);
  }
}

/** Node's TLS client options from the flags (or their environment variables); a flag on an http:// URL is a usage error. */
function tlsOptions(url: URL, flags: AdminTlsFlags): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (url.protocol === 'http:') {
    const given = (['caFile', 'cert', 'key'] as const).filter((k) => flags[k] !== undefined);
    if (given.length > 0) {
      const names = given.map((k) => (k === 'caFile' ? '--ca-file' : `--${k}`)).join(', ');
      throw new AdminRequestError(`${names}: for an https:// AdminServer; ${url.origin} is plain HTTP`, true);
    }
    return {};
  }
  const caFile = flags.caFile ?? process.env.ARK_ADMIN_CA_FILE;
  const cert = flags.cert ?? process.env.ARK_ADMIN_CERT;
  const key = flags.key ?? process.env.ARK_ADMIN_KEY ?? cert;
  if (flags.key !== undefined && cert === undefined) throw new AdminRequestError('--key goes with --cert (the client certificate)', true);
  return {
    ...(caFile ? { ca: readPem('--ca-file', caFile) } : {}),
    ...(cert ? { cert: readPem('--cert', cert), key: readPem('--key', key!) } : {}),
  };
}

/** What to do about a TLS failure, by Node's error code; '' when there is nothing to add. */
function hint(e: NodeJS.ErrnoException, url: URL): string {
  const code = e.code ?? '';
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(code))
    return ": the AdminServer's certificate is not signed by a CA this client trusts; pass --ca-file with the CA that signed it (or set ARK_ADMIN_CA_FILE)";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `: the AdminServer's certificate does not name ${url.hostname}; use a host name (or IP) it names`;
  if (
    /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code) ||
    (url.protocol === 'https:' && code === 'ECONNRESET')
  )
    return ': the AdminServer may need a client certificate it trusts (admin.needClientAuth=true); pass --cert and --key';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(e.message))
    return ': this port speaks plain HTTP; use http://';
  return '';
}

/**
 * Sends a request to the AdminServer: write the body (if any) to `req` and end it; `response`
 * settles with the answer, or an AdminRequestError that says how to fix the connection.
 */
export function adminRequest(
  url: URL,
  init: { method: 'GET' | 'POST'; headers: OutgoingHttpHeaders },
  flags: AdminTlsFlags,
): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const tls = tlsOptions(url, flags);
  let req!: ClientRequest;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req = url.protocol === 'https:' ? httpsRequest(url, { ...init, ...tls }, resolve) : httpRequest(url, init, resolve);
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(new AdminRequestError(`cannot reach the AdminServer at ${url.origin}: ${e.message}${hint(e, url)}`, false)),
    );
  });
  return { req, response };
}

/** A GET with the admin credentials (digest user:password), sent at once. */
export function adminGet(url: URL, auth: string, flags: AdminTlsFlags): Promise<IncomingMessage> {
  const { req, response } = adminRequest(url, { method: 'GET', headers: { authorization: `digest ${auth}` } }, flags);
  req.end();
  return response;
}
