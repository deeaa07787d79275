type Method = (...args: never[]) => unknown;

/**
 * An object that reads as `target` and is made once, so that a caller on a hot path pays a
 * plain property read where a Proxy's `get` trap would run on every access. Its prototype is
 * `target`, so data properties read through live; it has an own property for each method and
 * accessor found on `target` and its prototype chain (above Object.prototype), as they are
 * when the view is made. Methods run on `target` itself (their private fields and native
 * slots are there), each replaced by `wrap(key, method)` where that gives one; accessors stay
 * live (a database's `inTransaction`), read and written on `target`.
 */
export function methodView<T extends object>(target: T, wrap: (key: PropertyKey, method: Method) => Method | undefined = () => undefined): T {
  const view = Object.create(target) as T;
  const seen = new Set<PropertyKey>(['constructor']);
  for (let level: object | null = target; level && level !== Object.prototype; level = Object.getPrototypeOf(level) as object | null) {
    for (const key of Reflect.ownKeys(level)) {
      if (seen.has(key)) continue;
      seen.add(key);
      const property = Object.getOwnPropertyDescriptor(level, key)!;
      const { get, set } = property;
      if (get || set) {
        Object.defineProperty(view, key, {
          get: get && (() => get.call(target)),
          set: set && ((value: unknown) => set.call(target, value)),
          enumerable: property.enumerable,
          configurable: true,
        });
      } else if (typeof property.value === 'function') {
        const method = property.value as Method;
        const value = wrap(key, method) ?? method.bind(target);
        Object.defineProperty(view, key, { value, writable: true, enumerable: property.enumerable, configurable: true });
      }
    }
  }
  return view;
}
