/**
 * Gives each of the page's rendering jobs (table changes, feed, counters, highlight steps)
 * an animation frame of its own. Jobs that land in the same frame add up: their script,
 * style, layout and paint become one long task, and on a busy machine the scheduler stretches
 * a long task far more than a short one. At 60 frames a second and a handful of jobs that run
 * a few times a second each, waiting a frame or two costs nothing anyone can see.
 *
 * All callbacks of one frame receive the same timestamp, which is how a job tells that
 * another one already used the frame.
 */
let claimed = Number.NaN;

/** Runs `job` in the next animation frame that no other job has used yet. */
export function inOwnFrame(job: () => void): void {
  const attempt = (frameTime: number) => {
    if (frameTime === claimed) {
      requestAnimationFrame(attempt);
      return;
    }
    claimed = frameTime;
    job();
  };
  requestAnimationFrame(attempt);
}
