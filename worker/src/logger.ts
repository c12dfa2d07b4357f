/**
 * pino logs (JSON, or pretty in development), and a bridge that sends kafkajs' own log lines through the same logger
 * instead of its default console writer.
 */
import { type logCreator, logLevel } from 'kafkajs';
import { type Level, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';

/**
 * JSON lines by default; `pretty` hands them to pino-pretty (a development dependency, resolved
 * only when asked for) for a terminal.
 */
export function createLogger(level: Level | 'silent' = 'info', format: LogFormat = 'json'): Logger {
  const transport = format === 'pretty' ? prettyTransport : undefined;
  return pino({ level, base: { service: 'orders-worker', pid: process.pid }, transport });
}

const prettyTransport = {
  target: 'pino-pretty',
  options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
};

const levels: Record<logLevel, Level | undefined> = {
  [logLevel.NOTHING]: undefined,
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function kafkaLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const pinoLevel = levels[level];
      if (pinoLevel === undefined) return;
      const { message, ...rest } = log;
      kafkaLogger[pinoLevel]({ namespace, ...rest }, message);
    };
}
