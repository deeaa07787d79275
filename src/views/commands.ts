import type { DeliveryStatus } from '../store/delivery-states.js';
import type { CommandRow } from '../store/commands.js';
import type { Store } from '../store/index.js';

/** A command as the console shows it: the raw_command_data columns plus delivery facts and history. */
export interface CommandView {
  id: number;
  instanceId: string;
  displayName: string | null;
  deliveryStatus: DeliveryStatus;
  /** Every state the command has been in, in order, e.g. PENDING, SENT, COMPLETED. */
  trail: DeliveryStatus[];
  /** Why it is in its current state: the cause of the event that moved it there. */
  cause: string | null;
  requestEndpoint: string;
  requestDataFormat: string;
  requestData: string | null;
  requestDuration: string;
  responseEndpoint: string | null;
  responseDuration: string | null;
  responseDataFormat: string | null;
  responseData: string | null;
  createdBy: string;
  clientId: string | null;
  qos: number | null;
  timeCreated: string;
  timeSent: string | null;
  timeAcknowledged: string | null;
  timeFinished: string | null;
}

export function commandViews(store: Store) {
  function view(row: CommandRow): CommandView {
    const history = store.commands.events(row.id);
    const trail: DeliveryStatus[] = [];
    for (const e of history) if (e.to_status && trail.at(-1) !== e.to_status) trail.push(e.to_status);
    // The row may be a snapshot of a transition whose later ones committed with it (a command
    // is written PENDING and SENT in one batch): its trail ends at its own state. States only
    // move forward, so that is the state's first place in the trail.
    const at = trail.indexOf(row.delivery_status);
    if (at >= 0) trail.length = at + 1;
    return {
      id: row.id,
      instanceId: row.digital_twin_instance_id,
      displayName: store.instances.get(row.digital_twin_instance_id)?.display_name ?? null,
      deliveryStatus: row.delivery_status,
      trail,
      // Why it is in this state: later events that kept the state (a PUBACK after the response) are detail.
      cause: history.findLast((e) => e.from_status !== e.to_status && e.to_status === row.delivery_status)?.cause ?? null,
      requestEndpoint: row.request_endpoint,
      requestDataFormat: row.request_data_format,
      requestData: row.request_data,
      requestDuration: row.request_duration,
      responseEndpoint: row.response_endpoint,
      responseDuration: row.response_duration,
      responseDataFormat: row.response_data_format,
      responseData: row.response_data,
      createdBy: row.created_by,
      clientId: row.client_id,
      qos: row.qos,
      timeCreated: row.time_created,
      timeSent: row.time_sent,
      timeAcknowledged: row.time_acknowledged,
      timeFinished: row.time_finished,
    };
  }

  return {
    view,
    byId: (id: number) => {
      const row = store.commands.get(id);
      return row ? view(row) : undefined;
    },
    /** The newest commands first. */
    recent: (limit: number) => store.commands.newest(limit).map(view),
  };
}

export type CommandViews = ReturnType<typeof commandViews>;
