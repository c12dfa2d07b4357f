/**
 * How many stream appends per second this Redis takes: the ceiling of the single hash slot
 * every fan-out runs in (README, "Scaling out"). Runs `redis-benchmark` with pipelined
 * `XADD … MAXLEN ~` of 500-byte entries into a key of its own namespace, prints the figure and
 * writes bench/results/redis.md, then deletes the key.
 *
 *   npm run bench:redis [-- --requests 1000000 --pipeline 64 --clients 50 --bytes 500]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { benchOptions, generatedBy, load1, writeResult } from '@orders/test-harness';
import { createClient } from 'redis';

const args = benchOptions({
  requests: 1000000,
  pipeline: 64,
  clients: 50,
  bytes: 500,
  maxlen: 10000,
  host: '127.0.0.1',
  port: 6379,
});

/** Runs redis-benchmark and returns its requests-per-second figure for the one command. */
function redisBenchmark(command: string[]): Promise<{ perSecond: number; output: string }> {
  const argv = [
    '-h',
    args.host,
    '-p',
    String(args.port),
    '-n',
    String(args.requests),
    '-c',
    String(args.clients),
  ];
  argv.push('-P', String(args.pipeline), '-q', ...command);
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      // -q prints progress lines separated by \r, then "XADD …: N requests per second, …".
      const figures = [...output.matchAll(/([\d.]+) requests per second/g)].map((m) => Number(m[1]));
      const perSecond = figures.at(-1);
      if (code !== 0 || perSecond === undefined)
        reject(new Error(`redis-benchmark exited ${code}: ${output.slice(-500)}`));
      else resolve({ perSecond, output });
    });
  });
}

const key = `{bench-redis-${randomBytes(3).toString('hex')}}:appends`;
const redis = createClient({ url: `redis://${args.host}:${args.port}` });
await redis.connect();
try {
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  const loadBefore = load1();
  const payload = 'x'.repeat(args.bytes);
  const command = ['XADD', key, 'MAXLEN', '~', String(args.maxlen), '*', 'change', payload];
  const { perSecond } = await redisBenchmark(command);
  const loadAfter = load1();
  const line = `${Math.round(perSecond)} appends/s (XADD of ${args.bytes}-byte entries, MAXLEN ~ ${args.maxlen}, pipeline ${args.pipeline}, ${args.clients} connections, ${args.requests} requests, Redis ${version})`;
  process.stdout.write(`${line}\n`);
  await writeResult(
    'redis.md',
    `# Redis stream append benchmark

${generatedBy('bench:redis')}, Redis ${version}, ${cpus().length} cores.
The machine is shared with other work (1-minute load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}),
so this is a figure from a loaded machine.

\`redis-benchmark -n ${args.requests} -c ${args.clients} -P ${args.pipeline} XADD <key> MAXLEN ~ ${args.maxlen} * change <${args.bytes} bytes>\`

| appends/s | per change with 1 + G appends: G = 2 | G = 9 |
|---:|---:|---:|
| **${Math.round(perSecond).toLocaleString('en')}** | ${Math.round(perSecond / 3).toLocaleString('en')} changes/s | ${Math.round(perSecond / 10).toLocaleString('en')} changes/s |

Each forwarded change costs one append to history plus one per live gateway (G), all in one
hash slot, so one Redis core caps the whole system at about appends/s ÷ (1 + G) changes/s,
before counting the gateways' reads.
`,
  );
} finally {
  await redis.del(key);
  await redis.close();
}
