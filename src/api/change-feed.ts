/** A "something changed, look again" signal with no payload, for lists that are cheap to rebuild. */
export interface ChangeFeed {
  notify(): void;
  subscribe(listener: () => void): () => void;
}

export function changeFeed(): ChangeFeed {
  const listeners = new Set<() => void>();
  return {
    notify() {
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
