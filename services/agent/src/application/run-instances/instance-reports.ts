import { randomUUID } from 'node:crypto';
import {
  createMessage,
  type InstanceEvent,
  type MessageDefinition,
  MessageParseError,
  storableText,
} from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type z } from 'zod';
import { type InstanceEventLog } from '../ports';

type ReportData<D extends MessageDefinition> = Omit<z.input<D['schema']>, 'instanceId'>;

/** The shortest limit of a report's `reason` (`InstanceNotReady`, `InstanceExited`). */
const REASON_MAX = 1000;
const PROBE_DETAIL_MAX = 1000;

/**
 * A reason quotes what failed (an exec probe quotes its whole command, a refused probe its path, an exec
 * its container's output): made storable and cut (see `storableText`), so the report stays valid instead of
 * being refused and its transition lost.
 */
function fitted<T>(data: T): T {
  const { reason, probe } = data as { reason?: unknown; probe?: { detail?: unknown } };
  return {
    ...data,
    ...(typeof reason === 'string' ? { reason: storableText(reason, REASON_MAX) } : {}),
    ...(probe && typeof probe.detail === 'string'
      ? { probe: { ...probe, detail: storableText(probe.detail, PROBE_DETAIL_MAX) } }
      : {}),
  };
}

/**
 * What the agent tells about one instance, appended in the order it happened. An append that fails (NATS
 * away) is retried with the same message id, so the store keeps it once, and later reports wait behind
 * it: the instance's history never shows a readiness before the start it belongs to.
 */
export class InstanceReports {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private storedAt?: number;

  constructor(
    private readonly log: InstanceEventLog,
    private readonly instanceId: string,
    private readonly nodeId: string,
    /** The correlation id of the assignment, so the instance's events join its deploy's trace. */
    private readonly correlationId: string,
    private readonly logger: Logger,
  ) {}

  /** Queues a report; never throws (it runs in probe and engine callbacks, where an error would end the agent). */
  report<D extends MessageDefinition>(definition: D, data: ReportData<D>): void {
    try {
      const cause = { messageId: randomUUID(), correlationId: this.correlationId, actor: this.actor() };
      const event = createMessage(
        definition,
        { ...fitted(data), instanceId: this.instanceId } as z.input<D['schema']>,
        cause,
        new Date().toISOString(),
      ) as unknown as InstanceEvent;
      this.tail = this.tail.then(() => this.append(event));
    } catch (error) {
      this.logger.error({ err: error, event: definition.type, instanceId: this.instanceId }, 'report lost');
    }
  }

  /** The container of the instance's last stored start (see `InstanceEventLog.startedContainer`). */
  startedContainer(): Promise<string | null> {
    return this.log.startedContainer(this.instanceId);
  }

  /** Waits until every report so far is stored, or `timeoutMs` passed. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.tail, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** The event stream position of the latest report stored so far; undefined before the first. */
  get position(): number | undefined {
    return this.storedAt;
  }

  /** Like `flush`, then stops retrying: reports still failing are logged as lost. */
  async settle(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
  }

  private actor() {
    return { kind: 'node' as const, id: this.nodeId };
  }

  private async append(event: InstanceEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const position = await this.log.append(this.instanceId, event);
        this.storedAt = Math.max(this.storedAt ?? 0, position);
        return;
      } catch (error) {
        // The event's own schema refuses it: no retry will be accepted, and retrying would hold up every
        // later report of the instance.
        if (this.closed || error instanceof MessageParseError) {
          this.logger.error({ err: error, event: event.type, instanceId: this.instanceId }, 'report lost');
          return;
        }
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 10));
        this.logger.warn({ err: error, event: event.type, attempt }, 'could not report; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
