/**
 * Development: two gateways side by side (gw-1 on :8080, gw-2 on :8081), each restarted by
 * `tsx watch` when its source changes, so the page's failover can be tried locally.
 * Ctrl-C (or SIGTERM from turbo) stops both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const gateways = [
  { id: 'gw-1', port: 8080 },
  { id: 'gw-2', port: 8081 },
];

const children: ChildProcess[] = gateways.map(({ id, port }) =>
  spawn('npx', ['tsx', 'watch', main], {
    stdio: 'inherit',
    // Development mode is asked for explicitly and only ever on loopback: these gateways mint tokens.
    env: { ...process.env, AUTH_MODE: 'development', HOST: '127.0.0.1', GATEWAY_ID: id, PORT: String(port) },
  }),
);

let stopping = false;
function stop(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
for (const child of children) {
  // One gateway dying outside a shutdown is worth noticing; take the pair down with it.
  child.on('exit', (code) => stop(code ?? 1));
}
