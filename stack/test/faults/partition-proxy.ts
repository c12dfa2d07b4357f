/**
 * A TCP proxy that can cut the network between one process and its server while both stay
 * up: on `cut()` bytes stop flowing both ways and are held (as TCP would keep retransmitting
 * them), on `heal()` they flow again, in order. Connections stay open throughout, so neither
 * side sees a close: the fault is silence, not an error.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class PartitionProxy {
  private server: Server | undefined;
  private readonly pipes = new Set<{ flush(): void; destroy(): void }>();
  private isCut = false;

  constructor(private readonly targetPort: number) {}

  /** Listens on a free loopback port; resolves with it. */
  start(): Promise<number> {
    const server = createServer((client) => this.join(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  }

  cut(): void {
    this.isCut = true;
  }

  heal(): void {
    this.isCut = false;
    for (const pipe of this.pipes) pipe.flush();
  }

  close(): Promise<void> {
    for (const pipe of this.pipes) pipe.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private join(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    const held: { to: Socket; chunk: Buffer }[] = [];
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.isCut || held.length > 0) held.push({ to, chunk });
      else to.write(chunk);
    };
    const pipe = {
      flush: () => {
        for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
      },
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    this.pipes.add(pipe);
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const end = () => {
      this.pipes.delete(pipe);
      pipe.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  }
}
