import type { Page } from 'playwright-core';

export interface FrameReport {
  frames: number;
  /** Longest time between two animation frames: what a person perceives as a freeze. */
  maxGapMs: number;
  /** Frames that came more than 100 ms after the previous one. */
  slowFrames: number;
  /** Main-thread tasks over 50 ms, as Chromium reports them. */
  longTasks: number[];
  maxLongTaskMs: number;
}

declare global {
  interface Window {
    __frameWatch?: { read(): FrameReport };
  }
}

/**
 * Starts measuring the page's responsiveness from now on: gaps between animation frames and
 * long tasks. Measured inside the page, so the numbers are the browser's, not the test's.
 */
export async function watchFrames(page: Page): Promise<{ read(): Promise<FrameReport> }> {
  // A string, not a function: transpilers may wrap named inner functions in helpers the page lacks.
  await page.evaluate(WATCH_SCRIPT);
  return {
    read: async () => {
      const report = await page.evaluate(() => window.__frameWatch?.read());
      if (report === undefined) throw new Error('frame watch was not installed');
      return report;
    },
  };
}

const WATCH_SCRIPT = `(() => {
  let frames = 0;
  let maxGapMs = 0;
  let slowFrames = 0;
  let last = performance.now();
  const longTasks = [];
  const tick = (now) => {
    frames++;
    maxGapMs = Math.max(maxGapMs, now - last);
    if (now - last > 100) slowFrames++;
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame((now) => {
    last = now;
    requestAnimationFrame(tick);
  });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  }).observe({ type: 'longtask' });
  window.__frameWatch = {
    read: () => ({ frames, maxGapMs, slowFrames, longTasks: [...longTasks], maxLongTaskMs: Math.max(0, ...longTasks) }),
  };
})()`;
