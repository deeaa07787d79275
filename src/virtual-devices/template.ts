import { invalid } from '../errors.js';
import type { JqEngine, JqResult } from '../telemetry/jq.js';

/** How a virtual device answers a command. */
export type ResponseTemplate =
  /** The request's own bytes. */
  | { kind: 'echo' }
  /** Always this JSON. */
  | { kind: 'json'; value: unknown }
  /** jq over the request (parsed as JSON when it is JSON, else a string); the first output is the answer. */
  | { kind: 'jq'; expression: string };

export const TEMPLATE_KINDS = ['echo', 'json', 'jq'] as const;

const JQ_TIME_LIMIT_MS = 1_000;
/**
 * How long the event loop waits for a jq answer, as the adapter pipeline does: a slower
 * template finishes in its worker and its answer goes out then, so a runaway template
 * costs its own answer its time limit, not every device's latency.
 */
const JQ_WAIT_MS = 50;

/**
 * Checks a template: 400 with jq's own words when an expression does not compile. `jq` is
 * the emulator's one engine, shared with the adapter pipeline (src/telemetry/jq.ts).
 */
export function checkTemplate(template: ResponseTemplate, jq: JqEngine): ResponseTemplate {
  if (typeof template !== 'object' || template === null || !TEMPLATE_KINDS.includes(template.kind)) {
    throw invalid(`response.kind must be one of ${TEMPLATE_KINDS.join(', ')}`);
  }
  if (template.kind === 'json' && template.value === undefined) throw invalid('a json response needs a value');
  if (template.kind === 'jq') {
    if (typeof template.expression !== 'string' || !template.expression.trim()) throw invalid('a jq response needs an expression');
    const error = jq.check(template.expression);
    if (error) throw invalid(`jq expression does not compile: ${error}`);
  }
  return template;
}

/** The answer's bytes for a request's bytes; a promise of them when jq takes longer than JQ_WAIT_MS. */
export function render(template: ResponseTemplate, request: Buffer, jq: JqEngine): Buffer | Promise<Buffer> {
  switch (template.kind) {
    case 'echo':
      return request;
    case 'json':
      return Buffer.from(JSON.stringify(template.value));
    case 'jq': {
      const text = request.toString('utf8');
      let input: string;
      try {
        JSON.parse(text);
        input = text;
      } catch {
        input = JSON.stringify(text);
      }
      const started = jq.start(template.expression, input, { waitMs: JQ_WAIT_MS, timeLimitMs: JQ_TIME_LIMIT_MS });
      return 'result' in started ? answerOf(started.result) : started.later.then(answerOf);
    }
  }
}

function answerOf(out: JqResult): Buffer {
  if ('timedOut' in out) return Buffer.from(JSON.stringify({ error: `jq ran past ${JQ_TIME_LIMIT_MS} ms` }));
  if ('error' in out) return Buffer.from(JSON.stringify({ error: out.error }));
  return Buffer.from(out.lines[0] ?? 'null');
}
