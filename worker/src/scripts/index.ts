/**
 * Every Lua script the worker runs, each a `LuaScript` (body and SHA). The worker is the only
 * writer of history and gateway streams, and these are its writes; tests that need to shape
 * the streams load these same scripts (through `@orders/worker/testing`) instead of a copy.
 */

import { forwardScript } from './forward.ts';
import { forwardOrderedScript } from './forward-ordered.ts';
import { checkWrittenScript, clearTopicMarksScript, dropMarkScript, readMarkScript } from './marks.ts';

export {
  checkWrittenScript,
  clearTopicMarksScript,
  dropMarkScript,
  forwardOrderedScript,
  forwardScript,
  readMarkScript,
};

/** The scripts by name, e.g. to find one's body from the SHA a client was asked to run. */
export const workerScripts = {
  forward: forwardScript,
  forwardOrdered: forwardOrderedScript,
  readMark: readMarkScript,
  dropMark: dropMarkScript,
  checkWritten: checkWrittenScript,
  clearTopicMarks: clearTopicMarksScript,
} as const;
