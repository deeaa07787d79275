import type { Db } from './database.js';

/** Every compartment a resource was made in (or moved to), with when it was first seen: what the Identity API lists. */
export function compartmentStore(db: Db) {
  const seen = db.prepare(
    `SELECT compartment_id AS id, MIN(time_created) AS time_created FROM (
       SELECT compartment_id, time_created FROM iot_domain_groups
       UNION ALL SELECT compartment_id, time_created FROM iot_domains
       UNION ALL SELECT compartment_id, time_created FROM vault_secrets
       UNION ALL SELECT compartment_id, time_accepted FROM work_requests
     ) GROUP BY compartment_id ORDER BY compartment_id`,
  );
  return {
    seen: () => seen.all() as Array<{ id: string; time_created: string }>,
  };
}
