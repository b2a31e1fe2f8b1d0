import type { Doc } from '../../platform/documents/document-store';
import type { Projection } from '../../platform/events/projection';

/** One entry of the audit trail: who did what to which object, when. */
export interface ActivityLogEntry extends Doc {
  actor_id: string | null;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  occurred_at: string;
  request_id: string | null;
  payload: Record<string, unknown>;
}

/** The event types the audit trail records; components add theirs as they land. */
export const AUDITED_EVENTS = ['category.updated', 'user.suspended', 'user.reinstated', 'user.roles_changed', 'product.reviewed'];

/** ActivityLog: the trail of state changes by actor, for admins and support. */
export const activityLogProjection: Projection<ActivityLogEntry> = {
  name: 'activity-log',
  collection: {
    name: 'activity_log',
    indexes: [
      { field: 'actor_id', type: 'string' },
      { field: 'aggregate_id', type: 'string' },
      { field: 'occurred_at', type: 'date' },
    ],
  },
  events: AUDITED_EVENTS,
  async apply(event, docs) {
    await docs.upsert({
      id: event.id,
      version: event.position,
      actor_id: event.metadata.actor_id ?? null,
      event_type: event.type,
      aggregate_type: event.aggregate_type,
      aggregate_id: event.aggregate_id,
      occurred_at: event.occurred_at,
      request_id: event.metadata.request_id ?? null,
      payload: event.payload,
    });
  },
};
