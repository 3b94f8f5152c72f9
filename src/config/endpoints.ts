// The operator's ways in beside the client protocol: the four-letter words the client port
// answers, the AdminServer, and the Prometheus metrics endpoint.

import { adminHttpsSettings, metricsHttpsSettings } from './https.js';
import { METRICS_HTTPS_KEYS } from './keys.js';
import { checkPort, decodeJavaInt, javaParseBoolean, javaTrim, parseJavaInt } from './javavalues.js';
import type { PrometheusConfig, ServerConfig } from './serverconfig.js';
import type { QuorumKeys, SystemProperties } from './settings.js';

/** Four-letter words enabled when 4lw.commands.whitelist is not set. */
export const DEFAULT_FOUR_LETTER_WHITELIST: readonly string[] = ['srvr'];
export const DEFAULT_ADMIN_SERVER_PORT = 8080;
export const DEFAULT_ADMIN_SERVER_ADDRESS = '0.0.0.0';
/** metricsProvider.className values that turn the Prometheus endpoint on (ZooKeeper's class, or Ark's short name). */
export const PROMETHEUS_PROVIDER_CLASS = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
/** ZooKeeper's providers without an endpoint (the default one feeds only mntr): metrics stay off, quietly. */
const ENDPOINTLESS_PROVIDER_CLASSES = [
  'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider',
  'org.apache.zookeeper.metrics.impl.NullMetricsProvider',
];
export const DEFAULT_METRICS_HTTP_PORT = 7000;
export const DEFAULT_METRICS_HTTP_HOST = '0.0.0.0';

/** 4lw.commands.whitelist: comma-separated words, or '*' for all (isFourLetterWordAllowed). */
export function fourLetterWhitelist(sys: SystemProperties): Set<string> {
  const raw = sys.get('4lw.commands.whitelist');
  if (raw === undefined) return new Set<string>(DEFAULT_FOUR_LETTER_WHITELIST);
  const words = new Set<string>();
  for (const part of raw.split(',')) {
    const c = javaTrim(part);
    if (c !== '') words.add(c);
  }
  return words;
}

/** admin.*: ZooKeeper enables its AdminServer unless admin.enableServer says otherwise; HTTPS as https.ts reads it. */
export function adminServerSettings(
  sys: SystemProperties,
  warnings: string[],
): Pick<ServerConfig, 'adminEnabled' | 'adminServerPort' | 'adminServerAddress' | 'adminSecurity' | 'adminTls' | 'adminConsoleEnabled'> {
  const adminEnabled = javaParseBoolean(sys.get('admin.enableServer') ?? 'true');
  const portRaw = sys.get('admin.serverPort');
  const portKey = sys.key('admin.serverPort');
  const adminServerPort = portRaw === undefined ? DEFAULT_ADMIN_SERVER_PORT : checkPort(portKey, portRaw, decodeJavaInt(portKey, portRaw));
  const adminServerAddress = sys.get('admin.serverAddress') || DEFAULT_ADMIN_SERVER_ADDRESS;
  // Ark's web console (admin.console.enabled, default true): served by the AdminServer, so off with it
  const adminConsoleEnabled = adminEnabled && javaParseBoolean(sys.get('admin.console.enabled') ?? 'true');
  return { adminEnabled, adminServerPort, adminServerAddress, adminConsoleEnabled, ...adminHttpsSettings(sys, adminEnabled, warnings) };
}

/**
 * metricsProvider.*: PrometheusMetricsProvider reads httpHost (default 0.0.0.0), httpPort (Integer.parseInt,
 * default 7000 as in ZooKeeper 3.6-3.9) and exportJvmInfo (Boolean.parseBoolean, default true); with
 * httpsPort (https.ts) set, httpPort is off unless set (ZOOKEEPER-4798), and the same port for both
 * serves HTTP and HTTPS on one port (ZOOKEEPER-5029).
 */
export function prometheusSettings(q: QuorumKeys, warnings: string[]): PrometheusConfig | null {
  const className = q.get('metricsProvider.className');
  const on = className !== undefined && (className === PROMETHEUS_PROVIDER_CLASS || className.toLowerCase() === 'prometheus');
  if (!on) {
    if (className !== undefined && className !== '' && !ENDPOINTLESS_PROVIDER_CLASSES.includes(className)) {
      warnings.push(
        `metricsProvider.className: '${className}' is not a metrics provider Ark has (${PROMETHEUS_PROVIDER_CLASS}, or 'prometheus'); no metrics endpoint`,
      );
    }
    for (const k of ['metricsProvider.httpHost', 'metricsProvider.httpPort', 'metricsProvider.exportJvmInfo', ...METRICS_HTTPS_KEYS]) {
      if (q.get(k) !== undefined) warnings.push(`${k}: ignored, metricsProvider.className does not name ${PROMETHEUS_PROVIDER_CLASS}`);
    }
    return null;
  }
  const https = metricsHttpsSettings(q);
  const portRaw = q.get('metricsProvider.httpPort');
  // -1 is the provider's "not set"; unset beside an httpsPort means HTTPS only
  const httpPort =
    portRaw === undefined || javaTrim(portRaw) === '-1'
      ? https.httpsPort === null
        ? DEFAULT_METRICS_HTTP_PORT
        : null
      : checkPort('metricsProvider.httpPort', portRaw, parseJavaInt('metricsProvider.httpPort', portRaw));
  const httpHost = q.get('metricsProvider.httpHost') || DEFAULT_METRICS_HTTP_HOST;
  return { httpHost, httpPort, ...https, exportProcessMetrics: javaParseBoolean(q.get('metricsProvider.exportJvmInfo') ?? 'true') };
}
