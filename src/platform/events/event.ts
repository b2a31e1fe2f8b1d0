/** Who and what caused an event: for audit, tracing and idempotent follow-up work. */
export interface EventMetadata {
  actor_id?: string;
  request_id?: string;
  /** The id of the event (or command) that caused this one. */
  causation_id?: string;
  /** Shared by every event of one business flow, from the first command on. */
  correlation_id?: string;
}

/** What a use case records. */
export interface NewEvent<P extends object = Record<string, unknown>> {
  type: string;
  payload: P;
  schemaVersion?: number;
}

/** An event as stored and as published (the message body is this, as JSON). */
export interface StoredEvent<P extends object = Record<string, unknown>> {
  id: string;
  position: number;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: number;
  type: string;
  schema_version: number;
  payload: P;
  metadata: EventMetadata;
  occurred_at: string;
}
