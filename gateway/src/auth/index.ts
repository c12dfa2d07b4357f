export { type AuthOptions, type Authorize, createAuthorize } from './authorize.ts';
export { devPrincipal, mintToken } from './dev-token.ts';
export { devTokenRoutes } from './dev-token-route.ts';
export { type Grant, samePrincipal } from './grant.ts';
export { type Principal, STAFF } from './principal.ts';
export { scopeFilter } from './scope.ts';
export { DEFAULT_LEEWAY_S, MIN_SECRET_LENGTH, type VerifyOptions, verifyToken } from './verify-token.ts';
