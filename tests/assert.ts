/**
 * A tiny assertion module for the test suite (JSR's @std/assert is not
 * reachable from the build environment). Four functions, modelled on
 * @std/assert: {@linkcode assert}, {@linkcode assertEquals},
 * {@linkcode assertThrows} and {@linkcode assertRejects}.
 *
 * @module
 */

/** Thrown by every failed assertion. */
class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** A constructor of some error class, as `instanceof` takes it. */
// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error = Error> = abstract new (...args: any[]) => E;

/** Throws an {@linkcode AssertionError} (with `msg`) unless `condition` is truthy. */
export function assert(condition: unknown, msg?: string): asserts condition {
  if (!condition) throw new AssertionError(msg ?? "assertion failed");
}

/**
 * Throws unless `actual` deeply equals `expected`: primitives by identity
 * (NaN equals NaN), typed arrays and arrays element by element, plain objects
 * key by key, Maps and Sets by content.
 */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  const where = difference(actual, expected, "");
  if (where === undefined) return;
  const prefix = msg === undefined ? "" : `${msg}: `;
  throw new AssertionError(
    `${prefix}values differ at ${where || "top level"}\n  actual:   ${show(actual)}\n` +
      `  expected: ${show(expected)}`,
  );
}

/**
 * Calls `fn` and throws unless it throws synchronously an error that is an
 * instance of `errorClass` (when given) whose message includes `msgIncludes`
 * (when given). Returns the error thrown.
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return checkError(error, errorClass, msgIncludes) as E;
  }
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new AssertionError("function returned a promise; use assertRejects");
  }
  throw new AssertionError("expected function to throw, but it returned normally");
}

/**
 * Awaits `fn()` and throws unless it rejects (or throws) with an error that is
 * an instance of `errorClass` (when given) whose message includes
 * `msgIncludes` (when given). Resolves to the error.
 */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, msgIncludes) as E;
  }
  throw new AssertionError("expected promise to reject, but it resolved");
}

function checkError(error: unknown, errorClass?: ErrorClass, msgIncludes?: string): Error {
  if (!(error instanceof Error)) {
    throw new AssertionError(`expected an Error to be thrown, got ${show(error)}`);
  }
  if (errorClass !== undefined && !(error instanceof errorClass)) {
    const got = error as Error;
    throw new AssertionError(
      `expected error of class ${errorClass.name}, got ${got.name}: ${got.message}`,
    );
  }
  if (msgIncludes !== undefined && !error.message.includes(msgIncludes)) {
    throw new AssertionError(
      `expected error message to include ${JSON.stringify(msgIncludes)}, got ${
        JSON.stringify(error.message)
      }`,
    );
  }
  return error;
}

/** Path of the first difference between `a` and `b`, or `undefined` when equal. */
function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b) || (a === 0 && b === 0)) return undefined;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return path;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return path;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return `${path}.length (${x.length} vs ${y.length})`;
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) return `${path}[${i}]`;
    }
    return undefined;
  }
  if (a instanceof Date && b instanceof Date) {
    return a.getTime() === b.getTime() ? undefined : path;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return `${path}.size`;
    for (const [key, value] of a) {
      if (!b.has(key)) return `${path}.get(${String(key)})`;
      const inner = difference(value, b.get(key), `${path}.get(${String(key)})`);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return `${path}.size`;
    for (const value of a) if (!b.has(value)) return `${path}{${String(value)}}`;
    return undefined;
  }
  if (Array.isArray(a)) {
    const y = b as unknown[];
    if (a.length !== y.length) return `${path}.length (${a.length} vs ${y.length})`;
    for (let i = 0; i < a.length; i++) {
      const inner = difference(a[i], y[i], `${path}[${i}]`);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return `${path} (key count)`;
  for (const key of keys) {
    if (!Object.hasOwn(y, key)) return `${path}.${key}`;
    const inner = difference(x[key], y[key], `${path}.${key}`);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** A short printable form of `value` (typed arrays as hex, cut after 64 bytes). */
function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const head = Array.from(value.subarray(0, 64), (b) => b.toString(16).padStart(2, "0"));
    return `Uint8Array(${value.length}) ${head.join("")}${value.length > 64 ? "…" : ""}`;
  }
  const text = Deno.inspect(value, { depth: 4, colors: false, strAbbreviateSize: 200 });
  return text.length > 500 ? text.slice(0, 500) + "…" : text;
}
