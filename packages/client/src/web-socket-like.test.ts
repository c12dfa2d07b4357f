import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultWebSocket } from './web-socket-like.ts';

describe('defaultWebSocket', () => {
  it('uses the global WebSocket when there is one, else loads ws', async () => {
    const global = (globalThis as { WebSocket?: unknown }).WebSocket;
    const resolved = await defaultWebSocket();
    expect(resolved).toBe(global ?? WebSocket);
  });
});
