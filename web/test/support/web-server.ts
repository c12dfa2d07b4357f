import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions, type Plugin, preview } from 'vite';

const webRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export interface RuntimeConfig {
  gatewayUrls: string[];
  tokenUrl?: string;
}

/**
 * Builds the page for production and serves the bundle, with `/config.js` answered the way
 * the container's entrypoint writes it: the test exercises the artefact that ships.
 */
export async function serveProductionBuild(config: RuntimeConfig, port: number): Promise<WebServer> {
  const outDir = await mkdtemp(join(tmpdir(), 'orders-web-'));
  await build({
    root: webRoot,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
    // Workspace packages from source, as in development, whatever NODE_ENV the caller runs with.
    resolve: { conditions: ['development', ...defaultClientConditions] },
  });
  const server = await preview({
    root: webRoot,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true },
    plugins: [runtimeConfig(config)],
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      // Open keep-alive sockets can hold close() up; the process is ending anyway.
      await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

function runtimeConfig(config: RuntimeConfig): Plugin {
  const body = `window.__ORDERS_CONFIG__ = ${JSON.stringify(config)};\n`;
  return {
    name: 'orders-runtime-config',
    configurePreviewServer(server) {
      server.middlewares.use((request, response, next) => {
        if (request.url?.split('?')[0] !== '/config.js') return next();
        response.setHeader('content-type', 'text/javascript');
        response.setHeader('cache-control', 'no-store');
        response.end(body);
      });
    },
  };
}
