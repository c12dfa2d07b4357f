/**
 * Where the page finds its gateways. A production image writes `/config.js` when the container
 * starts, so one build serves every environment; the dev server has no such file and falls
 * back to Vite env variables baked in at start-up.
 */
export interface PageConfig {
  /** WebSocket URLs of the gateways, in order of preference. */
  gatewayUrls: string[];
  /** Where to fetch a token; when absent, each gateway's own development endpoint is tried. */
  tokenUrl?: string;
  /**
   * Whether to ask for batched `changes` frames (the client's default). `?batch=off` in the
   * page's address turns it off, so the page's cost with and without batching can be compared.
   */
  batchChanges: boolean;
}

interface RuntimeConfig {
  gatewayUrls?: string | string[];
  tokenUrl?: string;
}

declare global {
  interface Window {
    __ORDERS_CONFIG__?: RuntimeConfig;
  }
}

const DEV_GATEWAYS = 'ws://127.0.0.1:8080/ws,ws://127.0.0.1:8081/ws';

export function loadConfig(): PageConfig {
  const runtime = window.__ORDERS_CONFIG__ ?? {};
  const urls = splitUrls(runtime.gatewayUrls ?? import.meta.env.VITE_GATEWAY_URLS ?? DEV_GATEWAYS);
  if (urls.length === 0) throw new Error('No gateway URLs configured');
  const tokenUrl = nonEmpty(runtime.tokenUrl) ?? nonEmpty(import.meta.env.VITE_TOKEN_URL);
  const batchChanges = new URLSearchParams(window.location.search).get('batch') !== 'off';
  return tokenUrl === undefined
    ? { gatewayUrls: urls, batchChanges }
    : { gatewayUrls: urls, tokenUrl, batchChanges };
}

function splitUrls(value: string | string[]): string[] {
  const list = Array.isArray(value) ? value : value.split(',');
  return list.map((url) => url.trim()).filter((url) => url.length > 0);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
