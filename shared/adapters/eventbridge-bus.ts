import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { BusEntry, EventBus } from '../domain/ports.js';

/** The custom bus in AWS. PutEvents answers per entry; failed entries come back as indexes to retry. */
export class EventBridgeBus implements EventBus {
  constructor(private readonly client: EventBridgeClient, private readonly busName: string) {}

  async putEvents(entries: BusEntry[]): Promise<number[]> {
    const result = await this.client.send(new PutEventsCommand({ Entries: entries.map((entry) => ({ ...entry, EventBusName: this.busName })) }));
    if (!result.FailedEntryCount) return [];
    return (result.Entries ?? []).flatMap((entry, i) => (entry.ErrorCode ? [i] : []));
  }
}
