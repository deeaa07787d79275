import type Database from 'better-sqlite3';

/**
 * The database schema, as ordered migrations. `PRAGMA user_version` records how many
 * have run; a database from a newer emulator is refused rather than guessed at.
 */
export const MIGRATIONS: ReadonlyArray<string | ((db: Database.Database) => void)> = [
  /* 1: the command flow */ `
  CREATE TABLE emulator_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE iot_domain_groups (
    id TEXT PRIMARY KEY,
    compartment_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    type TEXT NOT NULL,
    data_host TEXT NOT NULL,
    db_connection_string TEXT,
    db_token_scope TEXT,
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL
  );

  CREATE TABLE iot_domains (
    id TEXT PRIMARY KEY,
    iot_domain_group_id TEXT NOT NULL REFERENCES iot_domain_groups(id),
    compartment_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    short_id TEXT NOT NULL UNIQUE,
    device_host TEXT NOT NULL,
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL
  );

  CREATE TABLE vault_secrets (
    id TEXT PRIMARY KEY,
    compartment_id TEXT NOT NULL,
    vault_id TEXT NOT NULL,
    key_id TEXT,
    secret_name TEXT NOT NULL,
    description TEXT,
    content_type TEXT NOT NULL,
    content TEXT NOT NULL,
    version_number INTEGER NOT NULL,
    lifecycle_state TEXT NOT NULL,
    freeform_tags TEXT NOT NULL DEFAULT '{}',
    defined_tags TEXT NOT NULL DEFAULT '{}',
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL
  );
  CREATE UNIQUE INDEX vault_secrets_name ON vault_secrets(vault_id, secret_name);

  CREATE TABLE digital_twin_instances (
    id TEXT PRIMARY KEY,
    iot_domain_id TEXT NOT NULL REFERENCES iot_domains(id),
    connectivity_type TEXT NOT NULL,
    auth_id TEXT,
    external_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    digital_twin_model_id TEXT,
    digital_twin_model_spec_uri TEXT,
    digital_twin_adapter_id TEXT,
    gateways TEXT,
    freeform_tags TEXT NOT NULL DEFAULT '{}',
    defined_tags TEXT NOT NULL DEFAULT '{}',
    system_tags TEXT NOT NULL DEFAULT '{}',
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
  );
  CREATE UNIQUE INDEX digital_twin_instances_external_key
    ON digital_twin_instances(iot_domain_id, external_key) WHERE lifecycle_state = 'ACTIVE';
  CREATE INDEX digital_twin_instances_domain ON digital_twin_instances(iot_domain_id, time_created);

  -- The command table: OCI's RAW_COMMAND_DATA columns in OCI's order, then what the
  -- emulator tracks besides (deadlines in epoch ms, delivery facts). Users query the
  -- raw_command_data view, which shows exactly OCI's columns.
  CREATE TABLE commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digital_twin_instance_id TEXT NOT NULL,
    request_endpoint TEXT NOT NULL,
    request_duration TEXT NOT NULL,
    request_data_format TEXT NOT NULL,
    request_data TEXT,
    request_content_type TEXT NOT NULL,
    response_endpoint TEXT,
    response_duration TEXT,
    response_data_format TEXT,
    response_data TEXT,
    response_content_type TEXT,
    delivery_status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL,
    time_finished TEXT,
    iot_domain_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    request_deadline_ms INTEGER NOT NULL,
    response_window_ms INTEGER,
    next_deadline_ms INTEGER,
    time_sent TEXT,
    time_acknowledged TEXT,
    qos INTEGER,
    client_id TEXT,
    message_id INTEGER,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    retry_token TEXT,
    retry_fingerprint TEXT
  );
  CREATE INDEX commands_next_deadline ON commands(next_deadline_ms, id) WHERE next_deadline_ms IS NOT NULL;
  CREATE INDEX commands_instance_status ON commands(digital_twin_instance_id, delivery_status, id);
  CREATE INDEX commands_time_created ON commands(time_created);
  CREATE UNIQUE INDEX commands_retry_token ON commands(digital_twin_instance_id, retry_token) WHERE retry_token IS NOT NULL;

  CREATE VIEW raw_command_data AS SELECT
    id, digital_twin_instance_id, request_endpoint, request_duration, request_data_format,
    request_data, request_content_type, response_endpoint, response_duration,
    response_data_format, response_data, response_content_type, delivery_status, created_by,
    time_created, time_updated, time_finished
  FROM commands;

  CREATE TABLE command_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id INTEGER NOT NULL REFERENCES commands(id),
    time TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    cause TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX command_events_command ON command_events(command_id, id);

  CREATE TABLE raw_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digital_twin_instance_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB,
    time_received TEXT NOT NULL
  );
  CREATE INDEX raw_data_instance ON raw_data(digital_twin_instance_id, time_received);
  CREATE INDEX raw_data_time ON raw_data(time_received);

  -- Which MQTT client ids a device used, so a command for an offline device can find
  -- the persistent session it would be delivered to.
  CREATE TABLE device_sessions (
    digital_twin_instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    clean_session INTEGER NOT NULL,
    online INTEGER NOT NULL,
    time_connected TEXT NOT NULL,
    time_disconnected TEXT,
    PRIMARY KEY (digital_twin_instance_id, client_id)
  );
  `,
  /* 2: MQTT sessions (subscriptions, queues, wills) move from memory into the database;
        read and written by store/mqtt-persistence.ts. IF NOT EXISTS because the
        persistence used to create these tables itself, so a version-1 database may have them. */ `
  CREATE TABLE IF NOT EXISTS mqtt_subscriptions (
    id                      INTEGER PRIMARY KEY,
    client_id               TEXT    NOT NULL,
    topic                   TEXT    NOT NULL,
    qos                     INTEGER NOT NULL,
    rh                      INTEGER,
    rap                     INTEGER,
    nl                      INTEGER,
    subscription_identifier INTEGER,
    UNIQUE (client_id, topic)
  );
  CREATE INDEX IF NOT EXISTS mqtt_subscriptions_by_topic ON mqtt_subscriptions (topic);

  CREATE TABLE IF NOT EXISTS mqtt_retained (
    id      INTEGER PRIMARY KEY,
    topic   TEXT NOT NULL UNIQUE,
    packet  TEXT NOT NULL,
    payload BLOB
  );

  CREATE TABLE IF NOT EXISTS mqtt_outgoing (
    seq            INTEGER PRIMARY KEY,
    client_id      TEXT NOT NULL,
    message_id     INTEGER,
    broker_id      TEXT,
    broker_counter INTEGER,
    packet         TEXT NOT NULL,
    payload        BLOB
  );
  CREATE INDEX IF NOT EXISTS mqtt_outgoing_by_client ON mqtt_outgoing (client_id, seq);

  CREATE TABLE IF NOT EXISTS mqtt_incoming (
    client_id  TEXT    NOT NULL,
    message_id INTEGER NOT NULL,
    packet     TEXT    NOT NULL,
    payload    BLOB,
    PRIMARY KEY (client_id, message_id)
  );

  CREATE TABLE IF NOT EXISTS mqtt_wills (
    client_id TEXT PRIMARY KEY,
    broker_id TEXT,
    packet    TEXT NOT NULL,
    payload   BLOB
  );
  `,
  /* 3: device client certificates issued by the emulator CA (mTLS) */ `
  CREATE TABLE client_certificates (
    id TEXT PRIMARY KEY,
    common_name TEXT NOT NULL,
    serial_number TEXT NOT NULL UNIQUE,
    fingerprint_sha256 TEXT NOT NULL UNIQUE,
    certificate_pem TEXT NOT NULL,
    time_valid_from TEXT NOT NULL,
    time_valid_to TEXT NOT NULL,
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_revoked TEXT,
    revocation_reason TEXT
  );
  `,
  /* 4: indexes for the per-message lookups: a PUBACK finds its command, a device publish
        its awaiting or finished command, without scanning the device's command history */ `
  CREATE INDEX commands_unacknowledged ON commands(digital_twin_instance_id, message_id)
    WHERE qos = 1 AND time_acknowledged IS NULL;
  CREATE INDEX commands_response_endpoint ON commands(digital_twin_instance_id, response_endpoint, id)
    WHERE response_endpoint IS NOT NULL;
  `,
  /* 5: the control plane: domain groups and domains as resources (tags, data access,
        retention, etags), the work requests that drive their lifecycle, and Vault secret
        versions (a rotated password is a new current version) */ `
  ALTER TABLE iot_domain_groups ADD COLUMN db_allow_listed_vcn_ids TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE iot_domain_groups ADD COLUMN freeform_tags TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE iot_domain_groups ADD COLUMN defined_tags TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE iot_domain_groups ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

  ALTER TABLE iot_domains ADD COLUMN db_allow_listed_identity_group_names TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE iot_domains ADD COLUMN db_allowed_identity_domain_host TEXT;
  ALTER TABLE iot_domains ADD COLUMN apex_workspace_configured INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE iot_domains ADD COLUMN retention_raw_data INTEGER NOT NULL DEFAULT 16;
  ALTER TABLE iot_domains ADD COLUMN retention_rejected_data INTEGER NOT NULL DEFAULT 16;
  ALTER TABLE iot_domains ADD COLUMN retention_historized_data INTEGER NOT NULL DEFAULT 30;
  ALTER TABLE iot_domains ADD COLUMN retention_raw_command_data INTEGER NOT NULL DEFAULT 16;
  ALTER TABLE iot_domains ADD COLUMN freeform_tags TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE iot_domains ADD COLUMN defined_tags TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE iot_domains ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX iot_domains_device_host ON iot_domains(device_host);

  -- One row per asynchronous operation; next_step_ms is when the one scheduler moves it on
  -- (NULL once it is finished). payload is what the operation applies when it succeeds.
  CREATE TABLE work_requests (
    id TEXT PRIMARY KEY,
    operation_type TEXT NOT NULL,
    status TEXT NOT NULL,
    compartment_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    action_type TEXT NOT NULL,
    percent_complete REAL NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    accepted_at_ms INTEGER NOT NULL,
    next_step_ms INTEGER,
    time_accepted TEXT NOT NULL,
    time_started TEXT,
    time_finished TEXT,
    time_updated TEXT NOT NULL
  );
  CREATE INDEX work_requests_next_step ON work_requests(next_step_ms) WHERE next_step_ms IS NOT NULL;
  CREATE INDEX work_requests_resource ON work_requests(resource_id, time_accepted);
  CREATE INDEX work_requests_accepted ON work_requests(time_accepted);

  CREATE TABLE work_request_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_request_id TEXT NOT NULL REFERENCES work_requests(id),
    kind TEXT NOT NULL CHECK (kind IN ('log', 'error')),
    code TEXT,
    message TEXT NOT NULL,
    timestamp TEXT NOT NULL
  );
  CREATE INDEX work_request_entries_request ON work_request_entries(work_request_id, kind, id);

  CREATE TABLE vault_secret_versions (
    secret_id TEXT NOT NULL REFERENCES vault_secrets(id),
    version_number INTEGER NOT NULL,
    content TEXT NOT NULL,
    time_created TEXT NOT NULL,
    PRIMARY KEY (secret_id, version_number)
  );
  -- Which versions hold the PREVIOUS and PENDING stages; CURRENT is version_number.
  ALTER TABLE vault_secrets ADD COLUMN previous_version_number INTEGER;
  ALTER TABLE vault_secrets ADD COLUMN pending_version_number INTEGER;
  INSERT INTO vault_secret_versions (secret_id, version_number, content, time_created)
    SELECT id, version_number, content, time_updated FROM vault_secrets;
  CREATE INDEX vault_secrets_compartment ON vault_secrets(compartment_id, time_created);
  `,
  /* 6: digital twin models, adapters and relationships; the data an adapter makes of telemetry.
        The data tables have OCI's columns in OCI's order (historized_data, snapshot_data,
        rejected_data); retention purges by their time columns (time_observed, time_received). */ `
  CREATE TABLE digital_twin_models (
    id TEXT PRIMARY KEY,
    iot_domain_id TEXT NOT NULL REFERENCES iot_domains(id),
    spec_uri TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    spec TEXT NOT NULL,
    freeform_tags TEXT NOT NULL DEFAULT '{}',
    defined_tags TEXT NOT NULL DEFAULT '{}',
    system_tags TEXT NOT NULL DEFAULT '{}',
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
  );
  CREATE UNIQUE INDEX digital_twin_models_spec_uri
    ON digital_twin_models(iot_domain_id, spec_uri) WHERE lifecycle_state = 'ACTIVE';

  CREATE TABLE digital_twin_adapters (
    id TEXT PRIMARY KEY,
    iot_domain_id TEXT NOT NULL REFERENCES iot_domains(id),
    digital_twin_model_id TEXT NOT NULL,
    digital_twin_model_spec_uri TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    inbound_envelope TEXT NOT NULL,
    inbound_routes TEXT NOT NULL,
    freeform_tags TEXT NOT NULL DEFAULT '{}',
    defined_tags TEXT NOT NULL DEFAULT '{}',
    system_tags TEXT NOT NULL DEFAULT '{}',
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
  );
  CREATE INDEX digital_twin_adapters_domain ON digital_twin_adapters(iot_domain_id, time_created);

  CREATE TABLE digital_twin_relationships (
    id TEXT PRIMARY KEY,
    iot_domain_id TEXT NOT NULL REFERENCES iot_domains(id),
    display_name TEXT NOT NULL,
    description TEXT,
    content_path TEXT NOT NULL,
    source_digital_twin_instance_id TEXT NOT NULL,
    target_digital_twin_instance_id TEXT NOT NULL,
    content TEXT,
    freeform_tags TEXT NOT NULL DEFAULT '{}',
    defined_tags TEXT NOT NULL DEFAULT '{}',
    system_tags TEXT NOT NULL DEFAULT '{}',
    lifecycle_state TEXT NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
  );
  CREATE INDEX digital_twin_relationships_domain ON digital_twin_relationships(iot_domain_id, time_created);

  CREATE TABLE historized_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digital_twin_instance_id TEXT NOT NULL,
    content_path TEXT NOT NULL,
    value TEXT,
    time_observed TEXT NOT NULL
  );
  CREATE INDEX historized_data_instance ON historized_data(digital_twin_instance_id, content_path, time_observed);
  CREATE INDEX historized_data_time ON historized_data(time_observed);

  CREATE TABLE snapshot_data (
    digital_twin_instance_id TEXT NOT NULL,
    content_path TEXT NOT NULL,
    value TEXT,
    time_observed TEXT NOT NULL,
    PRIMARY KEY (digital_twin_instance_id, content_path)
  );

  CREATE TABLE rejected_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digital_twin_instance_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    content BLOB,
    content_type TEXT NOT NULL,
    time_received TEXT NOT NULL,
    reason_code INTEGER NOT NULL,
    reason_message TEXT NOT NULL
  );
  CREATE INDEX rejected_data_instance ON rejected_data(digital_twin_instance_id, time_received);
  CREATE INDEX rejected_data_time ON rejected_data(time_received);
  `,
  /* 7: several connections per device: a command is written to every live connection of its
        device (or of its gateway) whose subscriptions match, each with its own packet id and
        acknowledgement; a command to an INDIRECT instance records the gateway it went through */ `
  CREATE TABLE command_deliveries (
    command_id INTEGER NOT NULL REFERENCES commands(id),
    -- the instance whose connection carried it: the command's own, or its gateway
    session_instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    qos INTEGER NOT NULL,
    message_id INTEGER,
    time_sent TEXT NOT NULL,
    time_acknowledged TEXT,
    PRIMARY KEY (command_id, session_instance_id, client_id)
  ) WITHOUT ROWID;
  CREATE INDEX command_deliveries_unacknowledged ON command_deliveries(session_instance_id, client_id, message_id)
    WHERE qos = 1 AND time_acknowledged IS NULL;
  INSERT INTO command_deliveries (command_id, session_instance_id, client_id, qos, message_id, time_sent, time_acknowledged)
    SELECT id, digital_twin_instance_id, client_id, qos, message_id, time_sent, time_acknowledged
    FROM commands WHERE client_id IS NOT NULL AND qos IS NOT NULL AND time_sent IS NOT NULL;
  DROP INDEX commands_unacknowledged;

  ALTER TABLE commands ADD COLUMN gateway_instance_id TEXT;
  CREATE INDEX commands_via_gateway ON commands(gateway_instance_id, delivery_status, id)
    WHERE gateway_instance_id IS NOT NULL;
  `,
  /* 8: test control: injected faults, virtual devices, webhooks and their delivery queue */ `
  CREATE TABLE faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    remaining INTEGER,
    considered INTEGER NOT NULL DEFAULT 0,
    applied INTEGER NOT NULL DEFAULT 0,
    time_created TEXT NOT NULL,
    time_cleared TEXT
  );
  CREATE INDEX faults_active ON faults(scope, target) WHERE time_cleared IS NULL;

  CREATE TABLE virtual_devices (
    id TEXT PRIMARY KEY,
    digital_twin_instance_id TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    running INTEGER NOT NULL,
    time_created TEXT NOT NULL,
    time_updated TEXT NOT NULL
  );

  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    max_attempts INTEGER NOT NULL,
    time_created TEXT NOT NULL
  );

  CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    time_created TEXT NOT NULL,
    time_last_attempt TEXT,
    time_finished TEXT
  );
  CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, id) WHERE status = 'PENDING';
  `,
  /* 9: domain groups' dbConnectionString in OCI's shape (tcps:<host>:<port>/<service>), not sqlite:<short> */ `
  UPDATE iot_domain_groups
     SET db_connection_string = 'tcps:adb.' || substr(id, 26, instr(substr(id, 26), '.') - 1) || '.oraclecloud.com:1522/'
                                || substr(db_connection_string, 8) || '_iot.adb.oraclecloud.com'
   WHERE db_connection_string LIKE 'sqlite:%' AND id LIKE 'ocid1.iotdomaingroup.oc1.%.%';
  `,
  /* 10: time_observed with microseconds, as OCI keeps it (…05.226Z becomes …05.226000Z) */ `
  UPDATE historized_data SET time_observed = substr(time_observed, 1, 23) || '000Z'
   WHERE length(time_observed) = 24 AND substr(time_observed, 24, 1) = 'Z';
  UPDATE snapshot_data SET time_observed = substr(time_observed, 1, 23) || '000Z'
   WHERE length(time_observed) = 24 AND substr(time_observed, 24, 1) = 'Z';
  `,
  /* 11: indexes only for the queries that run. A device's commands by state only while they
        are live (PENDING, SENT): every query of this index asks for one of those states, and
        a full index keyed by instance put each commit's entries on as many pages as devices
        took part in it. The OR form (not IN) is what lets SQLite use it for
        `delivery_status = 'SENT'` */ `
  DROP INDEX commands_instance_status;
  CREATE INDEX commands_instance_status ON commands(digital_twin_instance_id, delivery_status, id)
    WHERE delivery_status = 'PENDING' OR delivery_status = 'SENT';

  -- A device publish no command awaits asks for the last command that awaited a response on
  -- its topic (to note a late response on it): one row per device and response topic, kept
  -- by a trigger (a command is created PENDING, SENT or REFUSED and finishes by an UPDATE),
  -- in place of an index of every two-way command by device, which put each commit's
  -- entries on as many pages as devices took part (most of a command's WAL bytes).
  CREATE TABLE command_last_finished (
    digital_twin_instance_id TEXT NOT NULL,
    response_endpoint TEXT NOT NULL,
    command_id INTEGER NOT NULL,
    PRIMARY KEY (digital_twin_instance_id, response_endpoint)
  ) WITHOUT ROWID;
  INSERT INTO command_last_finished (digital_twin_instance_id, response_endpoint, command_id)
    SELECT digital_twin_instance_id, response_endpoint, max(id) FROM commands
    WHERE response_endpoint IS NOT NULL AND delivery_status IN ('NOT_RESPONDED', 'EXPIRED', 'COMPLETED')
    GROUP BY digital_twin_instance_id, response_endpoint;
  CREATE TRIGGER commands_finished AFTER UPDATE OF delivery_status ON commands
    WHEN NEW.response_endpoint IS NOT NULL AND NEW.delivery_status IN ('NOT_RESPONDED', 'EXPIRED', 'COMPLETED')
  BEGIN
    INSERT INTO command_last_finished (digital_twin_instance_id, response_endpoint, command_id)
      VALUES (NEW.digital_twin_instance_id, NEW.response_endpoint, NEW.id)
      ON CONFLICT (digital_twin_instance_id, response_endpoint) DO UPDATE SET command_id = max(command_id, excluded.command_id);
  END;
  DROP INDEX commands_response_endpoint;
  `,
  /* 12: command_last_finished keeps only what a late response is noted on: the command on a
        device and response topic that finished last, if it finished without its response
        (NOT_RESPONDED, EXPIRED). A completion removes the entry instead of writing one: nearly
        every two-way command completes, and the upsert on every completion cost more than the
        rest of its UPDATE (bench/results/s5-last-unanswered.md). A late publish notes nothing
        on a COMPLETED command, so a publish finds what it found before, except that "last" is
        now the last to finish rather than the newest created (they differ only when an older
        command expires after a newer one completed: the late publish is noted on the one that
        expired last). Rows already there that name a COMPLETED command stay: the lookup finds
        them and notes nothing, as before */ `
  DROP TRIGGER commands_finished;
  CREATE TRIGGER commands_finished_unanswered AFTER UPDATE OF delivery_status ON commands
    WHEN NEW.response_endpoint IS NOT NULL AND NEW.delivery_status IN ('NOT_RESPONDED', 'EXPIRED')
  BEGIN
    INSERT INTO command_last_finished (digital_twin_instance_id, response_endpoint, command_id)
      VALUES (NEW.digital_twin_instance_id, NEW.response_endpoint, NEW.id)
      ON CONFLICT (digital_twin_instance_id, response_endpoint) DO UPDATE SET command_id = excluded.command_id;
  END;
  CREATE TRIGGER commands_finished_answered AFTER UPDATE OF delivery_status ON commands
    WHEN NEW.response_endpoint IS NOT NULL AND NEW.delivery_status = 'COMPLETED'
  BEGIN
    DELETE FROM command_last_finished
     WHERE digital_twin_instance_id = NEW.digital_twin_instance_id AND response_endpoint = NEW.response_endpoint;
  END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
