import { describeError } from '@orders/drizzle';

const debeziumPostgres = 'io.debezium.connector.postgresql.PostgresConnector';

type ConnectorState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED' | 'RESTARTING' | 'STOPPED';
export interface ConnectorStatus {
  connector: { state: ConnectorState; trace?: string };
  tasks: { id: number; state: ConnectorState; trace?: string }[];
}

/** A minimal client for the Kafka Connect REST API, with errors that say what to fix. */
export class ConnectApi {
  constructor(readonly baseUrl: string) {}

  /** Throws unless Connect answers and has the Debezium PostgreSQL plugin installed. */
  async assertDebeziumInstalled(): Promise<void> {
    const response = await this.request('GET', '/connector-plugins');
    const plugins = (await response.json()) as { class: string }[];
    if (!plugins.some((plugin) => plugin.class === debeziumPostgres)) {
      throw new Error(`Kafka Connect at ${this.baseUrl} has no ${debeziumPostgres} plugin`);
    }
  }

  /** Creates or replaces a connector (PUT is idempotent, unlike POST /connectors). */
  async putConnector(name: string, config: Record<string, string>): Promise<void> {
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  /** Undefined when the connector does not exist (yet, or any more). */
  async status(name: string): Promise<ConnectorStatus | undefined> {
    const response = await this.request(
      'GET',
      `/connectors/${encodeURIComponent(name)}/status`,
      undefined,
      [404],
    );
    if (response.status === 404) return undefined;
    return (await response.json()) as ConnectorStatus;
  }

  async deleteConnector(name: string): Promise<void> {
    await this.request('DELETE', `/connectors/${encodeURIComponent(name)}`, undefined, [404]);
  }

  async exists(name: string): Promise<boolean> {
    const response = await this.request('GET', `/connectors/${encodeURIComponent(name)}`, undefined, [404]);
    return response.status !== 404;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    allowedStatuses: readonly number[] = [],
  ): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(
        `Kafka Connect is not reachable at ${this.baseUrl} (${method} ${path}: ${describeError(error instanceof Error && error.cause ? error.cause : error)}); ` +
          'start the stack with "npm run stack:up"',
        { cause: error },
      );
    }
    if (!response.ok && !allowedStatuses.includes(response.status)) {
      const text = await response.text().catch(() => '');
      throw new Error(`Kafka Connect ${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return response;
  }
}
