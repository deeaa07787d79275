/** How broker modules log: the composition root binds it to pino. */
export type BrokerLog = (level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
