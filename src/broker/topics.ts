/** MQTT 3.1.1 topic filter matching (section 4.7), including the `$` rule for wildcards. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The highest granted QoS among the filters that match, or null if none does. */
export function bestMatch(subs: Iterable<{ topic: string; qos: number }>, topic: string): 0 | 1 | 2 | null {
  let best: number | null = null;
  for (const sub of subs) {
    if (sub.qos > 2 || !topicMatches(sub.topic, topic)) continue;
    if (best === null || sub.qos > best) best = sub.qos;
  }
  return best as 0 | 1 | 2 | null;
}
