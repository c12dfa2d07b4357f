/**
 * The suite's own redis-server without persistence (`--save "" --appendonly no`): a restart
 * is a real loss of every key, which is the fault some cases inject.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { Service } from './child-process.ts';

export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += String(chunk);
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

export function redisService(port: number, logDir: string): Service {
  return new Service({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    cwd: logDir,
    env: { PATH: process.env.PATH },
    logFile: join(logDir, 'redis.log'),
    ready: () => ping(port),
  });
}
