/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Comma-separated gateway WebSocket URLs for the dev server. */
  readonly VITE_GATEWAY_URLS?: string;
  /** Token endpoint for the dev server; defaults to the gateways' development endpoint. */
  readonly VITE_TOKEN_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
