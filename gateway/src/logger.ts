import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs with the gateway id on every line. */
export function createLogger(gatewayId: string, level = 'info'): Logger {
  return pino({ level, base: { component: 'gateway', gateway: gatewayId } });
}
