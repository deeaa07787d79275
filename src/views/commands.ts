import type { CommandRow, DeliveryStatus } from '../store/commands.js';
import type { Db } from '../store/database.js';

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

export function commandViews(db: Db) {
  const events = db.prepare('SELECT from_status, to_status, cause FROM command_events WHERE command_id = ? ORDER BY id');
  const name = db.prepare('SELECT display_name FROM digital_twin_instances WHERE id = ?');
  const recent = db.prepare('SELECT * FROM commands ORDER BY id DESC LIMIT ?');
  const one = db.prepare('SELECT * FROM commands WHERE id = ?');

  function view(row: CommandRow): CommandView {
    const history = events.all(row.id) as Array<{ from_status: DeliveryStatus | null; to_status: DeliveryStatus | null; cause: string }>;
    const trail: DeliveryStatus[] = [];
    for (const e of history) if (e.to_status && trail.at(-1) !== e.to_status) trail.push(e.to_status);
    return {
      id: row.id,
      instanceId: row.digital_twin_instance_id,
      displayName: (name.get(row.digital_twin_instance_id) as { display_name: string } | undefined)?.display_name ?? null,
      deliveryStatus: row.delivery_status,
      trail,
      // Why it is in this state: later events that kept the state (a PUBACK after the response) are detail.
      cause: history.findLast((e) => e.from_status !== e.to_status)?.cause ?? null,
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
      const row = one.get(id) as CommandRow | undefined;
      return row ? view(row) : undefined;
    },
    /** The newest commands first. */
    recent: (limit: number) => (recent.all(limit) as CommandRow[]).map(view),
  };
}

export type CommandViews = ReturnType<typeof commandViews>;
