import { sampleValue, type ParsedModel } from './dtdl.js';
import { contentPathOf, ExpressionError, JQ_PRELUDE, toJq } from './expressions.js';
import type { JqEngine } from './jq.js';

/** OCI's adapter shapes (camelCase, as the REST API and SDKs carry them). */
export interface InboundEnvelope {
  referenceEndpoint: string;
  referencePayload?: { dataFormat: string; data?: Record<string, unknown> };
  envelopeMapping?: { timeObserved?: string; target?: string; contentRoot?: string };
}

export interface InboundRoute {
  condition: string;
  description?: string;
  referencePayload?: { dataFormat: string; data?: Record<string, unknown> };
  payloadMapping?: Record<string, string>;
}

/** An adapter checked against its model, ready to be one branch of a pipeline program. */
export interface CompiledAdapter {
  /** A jq filter over the message payload giving `{t, g, i, v}` (see pipeline.ts). */
  body: string;
  /** Content path of every mapping, per route, in route order. */
  routes: Array<{ description?: string; paths: string[] }>;
  hasTarget: boolean;
}

export const MAX_ROUTES = 128;

/**
 * What OCI generates for an adapter created with a model and neither envelope nor routes
 * (the "default adapter"): Oracle documents the envelope (`timeObserved` from `$.time`,
 * samples script/time-observed/README.md); the routes are the emulator's choice, one
 * catch-all route mapping every Telemetry and Property from the payload field of the same
 * path. docs/oci-choices.md says so.
 */
export function defaultEnvelope(model: ParsedModel): InboundEnvelope {
  const data: Record<string, unknown> = {};
  for (const c of model.contents.values()) setPath(data, c.path.split('.'), sampleValue(c.schema));
  data.time = 0;
  return { referenceEndpoint: '/', referencePayload: { dataFormat: 'JSON', data }, envelopeMapping: { timeObserved: '$.time' } };
}

export function defaultRoutes(model: ParsedModel): InboundRoute[] {
  const payloadMapping: Record<string, string> = {};
  for (const c of model.contents.values()) payloadMapping[`$.${c.path}`] = `$.${c.path}`;
  return [{ condition: '*', description: 'Default condition', payloadMapping }];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]] = value;
}

const q = (s: string) => JSON.stringify(s);

/**
 * Checks an adapter against its model and jq, and builds its program. Throws
 * ExpressionError naming the first fault: an expression that is not OCI's syntax, jq that
 * does not compile, a mapping onto a content path the model lacks.
 */
export function compileAdapter(
  envelope: InboundEnvelope,
  routes: InboundRoute[],
  model: ParsedModel,
  jq: JqEngine,
  /** Compile each expression with jq; the pipeline skips it for adapters checked when they were written. */
  checkJq = true,
): CompiledAdapter {
  if (routes.length > MAX_ROUTES) throw new ExpressionError(`inboundRoutes: at most ${MAX_ROUTES} routes (OCI's limit), got ${routes.length}`);
  const checked = (expression: string, where: string, condition = false): string => {
    const jqText = toJq(expression, where, { condition });
    // Compiled alone first, so the message names the expression at fault.
    const error = checkJq ? jq.check(`${JQ_CHECK_PRELUDE} (${jqText})`) : null;
    if (error) throw new ExpressionError(`${where}: jq does not compile ${JSON.stringify(expression)}: ${error}`);
    return jqText;
  };
  const m = envelope.envelopeMapping ?? {};
  const one = (where: string, jqText: string) => `__one(${q(where)}; ${jqText})`;
  const time = m.timeObserved ? one('envelopeMapping.timeObserved', checked(m.timeObserved, 'inboundEnvelope.envelopeMapping.timeObserved')) : '[]';
  const target = m.target ? one('envelopeMapping.target', checked(m.target, 'inboundEnvelope.envelopeMapping.target')) : '[]';
  const root = m.contentRoot ? `(${one('envelopeMapping.contentRoot', checked(m.contentRoot, 'inboundEnvelope.envelopeMapping.contentRoot'))} | .[0])` : '.';

  const compiledRoutes: CompiledAdapter['routes'] = [];
  const conditions: string[] = [];
  const mappings: string[] = [];
  routes.forEach((route, i) => {
    const where = `inboundRoutes[${i}]`;
    conditions.push(`(__cond(${q(`${where}.condition`)}; ${checked(route.condition, `${where}.condition`, true)}))`);
    const paths: string[] = [];
    const fields: string[] = [];
    for (const [key, expression] of Object.entries(route.payloadMapping ?? {})) {
      const at = `${where}.payloadMapping[${q(key)}]`;
      const path = contentPathOf(key, at);
      if (!model.contents.has(path)) {
        throw new ExpressionError(`${at}: model ${model.specUri} has no Telemetry or Property "${path}"; it has ${[...model.contents.keys()].join(', ') || 'none'}`);
      }
      if (typeof expression !== 'string') throw new ExpressionError(`${at}: the mapping must be a string expression`);
      paths.push(path);
      fields.push(`${q(path)}: ${one(`${where} ${key}`, checked(expression, at))}`);
    }
    compiledRoutes.push({ description: route.description, paths });
    mappings.push(`{${fields.join(', ')}}`);
  });

  const select = conditions.length
    ? `${conditions.map((c, i) => `${i === 0 ? 'if' : 'elif'} ${c} then ${i}`).join(' ')} else -1 end`
    : '-1';
  const map = mappings.length ? `${mappings.map((f, i) => `${i === 0 ? 'if' : 'elif'} $__i == ${i} then ${f}`).join(' ')} else null end` : 'null';
  // With a target, the content root travels on to the target instance's adapter.
  const forward = m.target ? ', r: $__r' : '';
  const body = `${time} as $__t | ${target} as $__g | ${root} | . as $__r | (${select}) as $__i | {t: $__t, g: $__g, i: $__i, v: (${map})${forward}}`;
  return { body, routes: compiledRoutes, hasTarget: Boolean(m.target) };
}

/**
 * Helpers every program has: `__one` collects an expression's outputs and labels its
 * error with where it came from; `__cond` is true when any output is truthy.
 */
export const JQ_HELPERS = `
def __one($w; f): [try f catch error({w: $w, m: (if type == "string" then . else tojson end)})];
def __cond($w; f): [try f catch error({w: $w, m: (if type == "string" then . else tojson end)})] | any;
`;

/** What an expression checked alone is compiled with: the prelude and a stand-in `endpoint`. */
const JQ_CHECK_PRELUDE = `${JQ_PRELUDE} def endpoint($n): null;`;
