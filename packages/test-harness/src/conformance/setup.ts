import { afterAll, afterEach } from 'vitest';
import { assertAllClean, pruneCheckers } from './checked-socket.ts';

// Every socket opened through the test support is checked frame by frame; a test (or a
// suite's shared sockets, in afterAll) fails on the first frame that breaks the protocol.
afterEach(() => {
  try {
    assertAllClean();
  } finally {
    pruneCheckers();
  }
});
afterAll(() => assertAllClean());
