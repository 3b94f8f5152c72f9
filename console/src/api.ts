// The console's JSON API (src/admin/console.ts). The session cookie is HttpOnly: the page never
// sees it; every POST carries the CSRF token the login (or GET /session) answered with.
let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The message a failed request shows: the API's own, else the error as text. */
export const errorText = (e: unknown): string => (e instanceof ApiError ? e.message : String(e));

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (method === 'POST') {
    init.headers = { 'content-type': 'application/json', 'x-ark-csrf': csrf };
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(`/console/api${path}`, init);
  let json: Record<string, unknown> = {};
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    /* no JSON body */
  }
  // the console session ended (idle, logged out elsewhere, the server restarted): back to the login
  if (res.status === 401 && json.error === 'NotLoggedIn') dispatchEvent(new Event('ark-logged-out'));
  if (!res.ok) throw new ApiError(res.status, String(json.error ?? res.status), String(json.message ?? res.statusText), json);
  return json as T;
}

export const q = (params: Record<string, string | number>): string =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()}`;

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export interface NodeInfo {
  path: string;
  data?: string | null;
  dataError?: string;
  stat: Stat;
  acl?: Array<{ scheme: string; id: string; perms: number }>;
  aclError?: string;
}

export interface ChildItem {
  name: string;
  numChildren?: number;
  dataLength?: number;
  ephemeral?: boolean;
  gone?: boolean;
}

export interface ChildPage {
  path: string;
  total: number;
  matched: number;
  offset: number;
  items: ChildItem[];
}

export interface SessionInfo {
  user: string;
  csrf: string;
  server: { mode: string; serverId: number; version: string; ensemble: boolean };
}

export interface ZkEvent {
  type: string;
  path?: string;
  state?: string;
}
