/**
 * A plugin with Fastify's display name set. Without it, Fastify names each registered
 * plugin by searching `require.cache` for a module that exports it (fastify's
 * lib/plugin-utils.js, getPluginName), ~0.2 ms a plugin on every start.
 */
export function named<T extends (...args: never[]) => unknown>(plugin: T): T {
  return Object.assign(plugin, { [Symbol.for('fastify.display-name')]: plugin.name });
}
