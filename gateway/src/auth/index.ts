export { type AuthOptions, createAuthorize } from './authorize.ts';
export { devPrincipal, mintToken } from './dev-token.ts';
export { devTokenRoutes } from './dev-token-route.ts';
export { type Principal, STAFF } from './principal.ts';
export { scopedChangeFrame, scopeFilter } from './scope.ts';
export { MIN_SECRET_LENGTH, verifyToken } from './verify-token.ts';
