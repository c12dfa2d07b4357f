import type { ConnectionView } from './connection-view.ts';
import { setText } from './dom.ts';

const recoveryText = {
  syncing: 'Loading orders…',
  fresh: 'Live',
  resumed: 'Resumed from cursor',
  reset: 'Reset · fresh snapshot',
} as const;

/**
 * The pill in the header. A countdown needs ticking while reconnecting, so it owns a timer
 * that runs only in that state.
 */
export class ConnectionIndicator {
  readonly #root: HTMLElement;
  readonly #label: HTMLElement;
  readonly #detail: HTMLElement;
  #view: ConnectionView = { state: 'connecting', url: '' };
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(root: HTMLElement) {
    this.#root = root;
    const label = root.querySelector<HTMLElement>('.conn-label');
    const detail = root.querySelector<HTMLElement>('.conn-detail');
    if (label === null || detail === null) throw new Error('connection indicator markup is incomplete');
    this.#label = label;
    this.#detail = detail;
  }

  get view(): ConnectionView {
    return this.#view;
  }

  show(view: ConnectionView): void {
    this.#view = view;
    this.#root.dataset.state = view.state;
    this.#root.dataset.gateway = view.state === 'connected' ? view.gateway : '';
    this.#root.dataset.recovery = view.state === 'connected' ? view.recovery : '';
    if (view.state === 'reconnecting' && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#paint(), 100);
    } else if (view.state !== 'reconnecting' && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#paint();
  }

  #paint(): void {
    const view = this.#view;
    switch (view.state) {
      case 'connecting':
        setText(this.#label, 'Connecting');
        setText(this.#detail, hostOf(view.url));
        return;
      case 'connected':
        setText(this.#label, `Connected · ${view.gateway}`);
        setText(this.#detail, recoveryText[view.recovery]);
        return;
      case 'reconnecting': {
        const now = Date.now();
        const offline = `offline ${((now - view.since) / 1000).toFixed(1)} s`;
        if (view.phase === 'connecting') {
          setText(this.#label, `Reconnecting · trying ${hostOf(view.url)}`);
        } else {
          const left = view.retryBy === undefined ? 0 : (view.retryBy - now) / 1000;
          setText(
            this.#label,
            left > 0.05 ? `Reconnecting · retry within ${left.toFixed(1)} s` : 'Reconnecting…',
          );
        }
        setText(
          this.#detail,
          `${view.reason} · ${offline}${view.attempt > 1 ? ` · attempt ${view.attempt}` : ''}`,
        );
        return;
      }
      case 'closed':
        setText(this.#label, 'Offline');
        setText(this.#detail, view.reason);
        return;
    }
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
