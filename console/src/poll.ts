// Polling the console's API: every page that shows live state (ensemble, sessions, metrics,
// backups) fetches at once, then again `ms` after each answer (not on a fixed interval, so a slow
// server is never asked twice at a time), keeps the last good answer, and shows the last error.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './api';

/**
 * Calls `fetcher` now and `ms` after each answer until the page unmounts. `fetcher` and `ms` are
 * read once, at mount (each page polls one fixed request). The last good answer stays shown while
 * a later request fails; `error` is cleared by the next success.
 */
export function usePoll<T>(fetcher: () => Promise<T>, ms: number): { data: T | null; error: string } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        setData(await fetcher());
        setError('');
      } catch (e) {
        setError(errorText(e));
      }
      if (!stopped) timer = setTimeout(poll, ms);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return { data, error };
}
