import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Logs with the gateway id on every line: JSON by default; `pretty` hands them to pino-pretty
 * (a development dependency, resolved only when asked for) for a terminal.
 */
export function createLogger(gatewayId: string, level = 'info', format: 'json' | 'pretty' = 'json'): Logger {
  const transport = format === 'pretty' ? prettyTransport : undefined;
  return pino({ level, base: { component: 'gateway', gateway: gatewayId }, transport });
}

const prettyTransport = {
  target: 'pino-pretty',
  options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,component' },
};
