/**
 * The expression language of OCI adapters, turned into plain jq: `${ … }` holds jq, a text
 * starting with `$` is a JSONPath (`$.count`, `$['a'][0]`), and a route condition `*`
 * always holds. OCI adds two things jq lacks, provided here in jq itself: `endpoint(n)`
 * (the n-th segment of the message's endpoint, from 1) and `fromdateformat("<Java
 * DateTimeFormatter pattern>")` (a date string to POSIX time in microseconds).
 */

export class ExpressionError extends Error {}

const fail = (message: string): never => {
  throw new ExpressionError(message);
};

/** One OCI expression as jq; `where` names it in messages. */
export function toJq(expression: string, where: string, opts: { condition?: boolean } = {}): string {
  const text = expression.trim();
  if (opts.condition && text === '*') return 'true';
  const jq = /^\$\{([\s\S]*)\}$/.exec(text);
  if (jq) {
    const body = jq[1].trim();
    if (body === '') fail(`${where}: \${} holds no expression`);
    return rewriteFromDateFormat(body, where);
  }
  if (text.startsWith('$')) return jsonPathToJq(text, where);
  return fail(`${where}: ${JSON.stringify(expression)} is neither a jq expression \${…} nor a JSONPath starting with $`);
}

/** JSONPath (the subset OCI's samples use: members, indexes, wildcards) as a jq path. */
export function jsonPathToJq(path: string, where: string): string {
  let rest = path.slice(1);
  const parts: string[] = [];
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z_$][\w$-]*)/.exec(rest))) parts.push(`.[${JSON.stringify(m[1])}]`);
    else if ((m = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest))) parts.push(`.[${JSON.stringify(m[1].replace(/\\(.)/g, '$1'))}]`);
    else if ((m = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest))) parts.push(`.[${JSON.stringify(JSON.parse(`"${m[1]}"`))}]`);
    else if ((m = /^\[\s*(-?\d+)\s*\]/.exec(rest))) parts.push(`.[${m[1]}]`);
    else if ((m = /^(?:\[\s*\*\s*\]|\.\*)/.exec(rest))) parts.push('.[]');
    else return fail(`${where}: JSONPath ${JSON.stringify(path)} is not supported here at "${rest}" (use members, [index], [*], or a jq expression \${…})`);
    rest = rest.slice(m[0].length);
  }
  return parts.length === 0 ? '.' : parts.join(' | ');
}

/** The content path a payloadMapping key names: `$.count` → `count`, `$.file.commandDetails` → `file.commandDetails`. */
export function contentPathOf(key: string, where: string): string {
  const m = /^\$\.([A-Za-z][\w]*(?:\.[A-Za-z][\w]*)*)$/.exec(key.trim()) ?? /^([A-Za-z][\w]*(?:\.[A-Za-z][\w]*)*)$/.exec(key.trim());
  if (!m) fail(`${where}: key ${JSON.stringify(key)} must be a model content path such as "$.temperature"`);
  return m![1];
}

const FROMDATEFORMAT = /\bfromdateformat\s*\(\s*("(?:[^"\\]|\\.)*")\s*\)/g;

function rewriteFromDateFormat(jq: string, where: string): string {
  const out = jq.replace(FROMDATEFORMAT, (_all, literal: string) => {
    const pattern = JSON.parse(literal) as string;
    return `__fromdateformat(${JSON.stringify(javaPatternToRegex(pattern, where))})`;
  });
  if (/\bfromdateformat\b/.test(out)) fail(`${where}: fromdateformat takes one string literal, a Java DateTimeFormatter pattern`);
  return out;
}

/**
 * A Java DateTimeFormatter pattern as an Oniguruma regex with named groups that
 * `__fromdateformat` reads (y, yy, M, Mn, d, H, h, a, m, s, S, z).
 */
export function javaPatternToRegex(pattern: string, where: string): string {
  let re = '^';
  let i = 0;
  const escape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) fail(`${where}: unterminated quote in date pattern ${JSON.stringify(pattern)}`);
      re += end === i + 1 ? "'" : escape(pattern.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(ch)) {
      re += escape(ch);
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === ch) n++;
    i += n;
    switch (ch) {
      case 'y':
      case 'u':
        re += n === 2 ? '(?<yy>\\d{2})' : n >= 4 ? `(?<y>\\d{${n}})` : '(?<y>\\d{1,9})';
        break;
      case 'M':
        re += n === 1 ? '(?<M>\\d{1,2})' : n === 2 ? '(?<M>\\d{2})' : '(?<Mn>[A-Za-z]{3,})';
        break;
      case 'd':
        re += n === 1 ? '(?<d>\\d{1,2})' : '(?<d>\\d{2})';
        break;
      case 'H':
        re += n === 1 ? '(?<H>\\d{1,2})' : '(?<H>\\d{2})';
        break;
      case 'h':
        re += n === 1 ? '(?<h>\\d{1,2})' : '(?<h>\\d{2})';
        break;
      case 'a':
        re += '(?<a>[AaPp][Mm])';
        break;
      case 'm':
        re += n === 1 ? '(?<m>\\d{1,2})' : '(?<m>\\d{2})';
        break;
      case 's':
        re += n === 1 ? '(?<s>\\d{1,2})' : '(?<s>\\d{2})';
        break;
      case 'S':
        re += `(?<S>\\d{${n}})`;
        break;
      case 'X':
      case 'x':
      case 'Z':
        re += '(?<z>Z|[+-]\\d{2}(?::?\\d{2})?)';
        break;
      case 'E':
        re += '[A-Za-z]+';
        break;
      default:
        fail(`${where}: date pattern letter "${ch}" in ${JSON.stringify(pattern)} is not supported (y, M, d, H, h, a, m, s, S, X, Z, E are)`);
    }
  }
  return re + '$';
}

/**
 * jq definitions every adapter program starts with. `__fromdateformat` turns the named
 * groups of a pattern's regex into epoch microseconds (UTC unless the text has an offset),
 * with the civil-from-days arithmetic of H. Hinnant's date algorithms.
 */
export const JQ_PRELUDE = `
def __days($y; $m; $d):
  (if $m <= 2 then $y - 1 else $y end) as $yy
  | (($yy / 400) | floor) as $era
  | ($yy - $era * 400) as $yoe
  | ((((153 * (if $m > 2 then $m - 3 else $m + 9 end)) + 2) / 5 | floor) + $d - 1) as $doy
  | ($yoe * 365 + (($yoe / 4) | floor) - (($yoe / 100) | floor) + $doy) as $doe
  | $era * 146097 + $doe - 719468;
def __fromdateformat($re):
  if type != "string" then error("fromdateformat takes a string, not \\(type)") else . end
  | (capture($re) // error("\\(tojson) does not match the date pattern")) as $c
  | (if $c.y then ($c.y | tonumber) elif $c.yy then 2000 + ($c.yy | tonumber) else 1970 end) as $y
  | (if $c.M then ($c.M | tonumber)
     elif $c.Mn then ((["jan","feb","mar","apr","may","jun","jul","aug","sep","oct","nov","dec"] | index($c.Mn[0:3] | ascii_downcase)) // error("unknown month \\($c.Mn)")) + 1
     else 1 end) as $mo
  | (if $c.d then ($c.d | tonumber) else 1 end) as $d
  | (if $c.H then ($c.H | tonumber)
     elif $c.h then (($c.h | tonumber) % 12) + (if ($c.a // "AM" | ascii_upcase) == "PM" then 12 else 0 end)
     else 0 end) as $hh
  | (if $c.m then ($c.m | tonumber) else 0 end) as $mi
  | (if $c.s then ($c.s | tonumber) else 0 end) as $ss
  | (if $c.S then (($c.S + "000000")[0:6] | tonumber) else 0 end) as $us
  | (if ($c.z // "Z") == "Z" then 0
     else ($c.z | gsub(":"; "")) as $z | ($z[1:3] | tonumber) * 60 + (if ($z | length) > 3 then ($z[3:5] | tonumber) else 0 end)
       | if $z[0:1] == "-" then -. else . end
     end) as $off
  | ((__days($y; $mo; $d) * 86400 + $hh * 3600 + $mi * 60 + $ss - $off * 60) * 1000000 + $us);
def input: error("input is not available in an adapter");
def inputs: error("inputs is not available in an adapter");
def halt: error("halt is not available in an adapter");
def halt_error: error("halt_error is not available in an adapter");
def halt_error($code): error("halt_error is not available in an adapter");
def debug: .;
def debug($m): .;
def stderr: .;
def input_filename: null;
`;
