// lib/logfmt.mjs: a strict parser of the daemons' log lines (docs/operations.md "Logs"), for the tests.

const ESC = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t' };
const BARE = /^[^ ="\\\x00-\x1f\x7f]+/;
const KEY = /^[a-z0-9_]+=/;

// One line -> Map of its fields, in order; throws (naming the column) unless it is exactly
// key=value pairs separated by one space, values bare or quoted with only the documented escapes,
// keys unique, and level, daemon and msg present.
export function parseLogfmt(line) {
  const out = new Map();
  let i = 0;
  const fail = (why) => { throw new Error(`not a logfmt line (${why} at column ${i}): ${JSON.stringify(line)}`); };
  if (line.length === 0) fail('empty line');
  while (i < line.length) {
    const k = KEY.exec(line.slice(i));
    if (!k) fail('no key=');
    const key = k[0].slice(0, -1);
    i += k[0].length;
    let val = '';
    if (line[i] === '"') {
      for (i++; ; ) {
        if (i >= line.length) fail('unterminated quote');
        const c = line[i];
        if (c === '"') { i++; break; }
        if (c === '\\') {
          const e = line[i + 1];
          if (e in ESC) { val += ESC[e]; i += 2; continue; }
          if (e === 'u' && /^[0-9a-f]{4}$/.test(line.slice(i + 2, i + 6))) {
            val += String.fromCharCode(parseInt(line.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          fail('unknown escape');
        }
        if (c.charCodeAt(0) < 0x20 || c === '\x7f' || c === '\u0085' || c === '\u2028' || c === '\u2029') fail('raw control character');
        val += c;
        i++;
      }
    } else {
      const m = BARE.exec(line.slice(i));
      if (!m) fail('empty or bad bare value');
      val = m[0];
      i += val.length;
    }
    if (out.has(key)) fail(`key ${key} twice`);
    out.set(key, val);
    if (i < line.length) {
      if (line[i] !== ' ') fail('no space after a value');
      i++;
      if (i === line.length) fail('trailing space');
    }
  }
  if (!['fatal', 'error', 'warn', 'notice', 'info', 'debug'].includes(out.get('level'))) fail('no level');
  if (!out.get('daemon')) fail('no daemon');
  if (!out.has('msg')) fail('no msg');
  return out;
}

// Every line of a log file, parsed (a trailing newline ends the last line; nothing may follow it).
export function parseLogFile(text) {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('log does not end with a newline');
  return text.split('\n').slice(0, -1).map(parseLogfmt);
}
