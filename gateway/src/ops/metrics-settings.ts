import type { MetricsAccess } from './metrics-route.ts';

export interface MetricsSettings {
  /** Access on the main port. */
  main: MetricsAccess;
  /** A separate listener, when METRICS_PORT is set. */
  listener?: { port: number; host: string; access: MetricsAccess };
}

/**
 * Where `/metrics` is served and to whom:
 * - METRICS_PORT: only on that port (bound to METRICS_HOST), never on the main one;
 * - METRICS_TOKEN: a bearer token is required wherever it is served;
 * - neither: open on the main port in development, not served at all in production.
 */
export function metricsSettings(
  env: { METRICS_PORT?: number | undefined; METRICS_HOST: string; METRICS_TOKEN?: string | undefined },
  mode: 'development' | 'production',
): MetricsSettings {
  const guarded: MetricsAccess =
    env.METRICS_TOKEN === undefined ? { mode: 'open' } : { mode: 'token', token: env.METRICS_TOKEN };
  if (env.METRICS_PORT !== undefined) {
    return {
      main: { mode: 'off' },
      listener: { port: env.METRICS_PORT, host: env.METRICS_HOST, access: guarded },
    };
  }
  if (env.METRICS_TOKEN !== undefined || mode === 'development') return { main: guarded };
  return { main: { mode: 'off' } };
}
