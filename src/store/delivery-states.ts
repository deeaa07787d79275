/**
 * The delivery states of a raw command (OCI's `deliveryStatus`). The engine owns what they
 * mean; the store only records them.
 */
export const DELIVERY_STATES = ['PENDING', 'SENT', 'REFUSED', 'EXPIRED', 'NOT_RESPONDED', 'COMPLETED'] as const;

export type DeliveryStatus = (typeof DELIVERY_STATES)[number];

/** States a command never leaves. */
export const TERMINAL: readonly DeliveryStatus[] = ['REFUSED', 'EXPIRED', 'NOT_RESPONDED', 'COMPLETED'];
