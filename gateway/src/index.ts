export { createGateway, type GatewayDeps } from './app.ts';
export type { Authorize } from './auth/authorize.ts';
export type { Grant } from './auth/grant.ts';
export { type GatewayEnv, loadEnv } from './env.ts';
export { Hub } from './hub/hub.ts';
export { createLogger } from './logger.ts';
export { type NodeGatewayOptions, type RunningGateway, startNodeGateway } from './node-server.ts';
