import { ConformanceChecker, scopeOf } from '@orders/test-harness';
import { type Browser, chromium, type Page, type WebSocket } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser. Override with CHROMIUM_PATH. */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    throw new Error(`Could not start Chromium at ${executablePath} (apt-get install chromium)`, {
      cause: error,
    });
  }
}

/**
 * A page whose console errors and crashes end up in the test output rather than nowhere, and
 * whose every WebSocket goes through the frame-level conformance checker the gateway's
 * integration tests use: the first violation of a socket joins the errors, with its frames.
 * `onSocket` sees each socket too (a benchmark counts its frames).
 */
export async function openPage(
  browser: Browser,
  url: string,
  errors: string[],
  onSocket?: (socket: WebSocket) => void,
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  let sockets = 0;
  page.on('websocket', (socket) => {
    checkFrames(socket, `page socket ${++sockets}`, errors);
    onSocket?.(socket);
  });
  await page.goto(url);
  return page;
}

/** Feeds one page socket's frames, both ways, to a checker; reports its first violation once. */
function checkFrames(socket: WebSocket, name: string, errors: string[]): void {
  const url = socket.url();
  const checker = new ConformanceChecker(
    `${name} to ${url.replace(/token=[^&]+/, 'token=…')}`,
    scopeOf(url, {}),
  );
  let reported = false;
  const report = () => {
    if (reported || checker.violation === undefined) return;
    reported = true;
    errors.push(checker.violation);
  };
  socket.on('framesent', ({ payload }) => {
    if (typeof payload === 'string') checker.onClientText(payload);
  });
  socket.on('framereceived', ({ payload }) => {
    if (typeof payload === 'string') checker.onServerText(payload);
    report();
  });
}
