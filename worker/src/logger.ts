/**
 * pino JSON logs, and a bridge that sends kafkajs' own log lines through the same logger
 * instead of its default console writer.
 */
import { type logCreator, logLevel } from 'kafkajs';
import { type Level, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: Level | 'silent' = 'info'): Logger {
  return pino({ level, base: { service: 'orders-worker', pid: process.pid } });
}

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
