import type { Order } from '@orders/drizzle';
import { describe, expect, it } from 'vitest';
import { useCustomerGateway } from './support/customer-gateway.ts';
import { createContractWriter } from './support/fake-worker.ts';
import { is } from './support/raw-socket.ts';
import { until } from './support/wait.ts';

const secret = 'scoping-promises-secret-with-enough-characters';

describe('what a customer token may see', () => {
  const suite = useCustomerGateway('scope-p', secret);
  const { open } = suite;

  it('[P41][P53] answers a subscription for another customer with forbidden and nothing else: no rows, changes, live or cursor', async () => {
    const bobOrder = await suite.worker.insert('Bob');
    const s = await open('Alice');
    s.send({ type: 'subscribe', sub: 'spy', filter: { customer: 'Bob' } });
    expect(await s.next(is('error', 'spy'))).toMatchObject({ code: 'forbidden', sub: 'spy' });
    s.send({ type: 'subscribe', sub: 'mine' });
    await s.next(is('live', 'mine'));
    await suite.worker.update(bobOrder.id, { status: 'paid' });
    await suite.worker.insert('Bob');
    // Barrier: Alice's own change is written after Bob's, so Bob's have passed the gateway.
    const barrier = await suite.worker.insert('Alice');
    await until(
      () => s.frames.some((f) => f.type === 'change' && f.row.id === barrier.id),
      "Alice's barrier change",
    );
    s.send({ type: 'ping' });
    const pong = await s.next(is('pong'));
    expect(Object.keys(pong.cursors ?? {})).toEqual(['mine']);
    const aboutSpy = s.frames.filter((f) => 'sub' in f && f.sub === 'spy');
    expect(aboutSpy.map((f) => f.type)).toEqual(['error']);
    expect(JSON.stringify(s.frames)).not.toContain('Bob');
  });

  it('[P54] shows an order reassigned away as a remove of the old product and status at the new version, and one reassigned to them without its past', async () => {
    const lamp = await suite.worker.insert('Alice', 'pending', 'lamp');
    const chair = await suite.worker.insert('Bob', 'shipped', 'chair');
    const s = await open('Alice');
    s.send({ type: 'subscribe', sub: 'a' });
    await s.next(is('live', 'a'));

    // One commit changes owner, product and status; only the stream carries it.
    const later = new Date(Date.parse(lamp.updatedAt) + 1000).toISOString();
    const away: Order = {
      ...lamp,
      customerName: 'Bob',
      productName: 'sofa',
      status: 'paid',
      version: 2,
      updatedAt: later,
    };
    const toAlice: Order = { ...chair, customerName: 'Alice', version: 2, updatedAt: later };
    const writer = createContractWriter(suite.harness.redis, suite.harness.keys);
    const change = (row: Order, before: Order, n: number) => ({
      op: 'update' as const,
      row,
      before,
      committedAt: Date.now(),
      lsn: String(n),
      kafka: { topic: 'test', partition: 0, offset: String(n), timestamp: Date.now() },
    });
    await writer.change(change(away, lamp, 1));
    await writer.change(change(toAlice, chair, 2));

    const removed = await s.next(is('change', 'a'));
    expect(removed).toMatchObject({
      op: 'update',
      effect: 'remove',
      row: {
        id: lamp.id,
        customerName: 'Alice',
        productName: 'lamp',
        status: 'pending',
        version: 2,
        updatedAt: later,
      },
    });
    const added = await s.next(is('change', 'a'));
    expect(added).toMatchObject({
      op: 'update',
      effect: 'upsert',
      before: null,
      row: { id: chair.id, customerName: 'Alice' },
    });
    expect(JSON.stringify(s.frames)).not.toContain('Bob');
    expect(JSON.stringify(s.frames)).not.toContain('sofa');
  });
});
