/**
 * A linear pre-check of a msgpack message before it is decoded: nesting
 * depth, the number of values, the kinds used and the UTF-8 of every string.
 * Decoding builds a JavaScript value for each msgpack value, so a 2 MiB
 * message of a million nested one-item arrays would cost hundreds of MiB;
 * this scan costs nothing but a pass over the bytes.
 *
 * @module
 */

/** Limits of {@linkcode checkShape}. */
export interface ShapeLimits {
  /** Deepest nesting of maps and arrays (the top-level map is depth 1). */
  maxDepth: number;
  /** Most values in all (keys, elements and containers count one each). */
  maxValues: number;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Throws an Error saying what is wrong unless `bytes` is exactly one msgpack
 * value within `limits`, using no extension types, with valid UTF-8 strings.
 */
export function checkShape(bytes: Uint8Array, limits: ShapeLimits): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Values still to read in each open container, innermost last.
  const open: number[] = [];
  let position = 0;
  let values = 0;
  const need = (count: number) => {
    if (position + count > bytes.length) throw new Error("message ends inside a value");
  };
  const skip = (count: number) => {
    need(count);
    position += count;
  };
  const length = (size: 1 | 2 | 4) => {
    need(size);
    const value = size === 1
      ? view.getUint8(position)
      : size === 2
      ? view.getUint16(position)
      : view.getUint32(position);
    position += size;
    return value;
  };
  const text = (count: number) => {
    need(count);
    try {
      strict.decode(bytes.subarray(position, position + count));
    } catch {
      throw new Error("a string is not valid UTF-8");
    }
    position += count;
  };
  const container = (count: number) => {
    if (open.length + 1 > limits.maxDepth) throw new Error("message nested too deeply");
    if (count > 0) open.push(count);
    else close();
  };
  // One value has been read: count it against its container, closing finished ones.
  const close = () => {
    while (open.length > 0) {
      if (--open[open.length - 1] > 0) return;
      open.pop();
    }
  };
  do {
    if (++values > limits.maxValues) throw new Error("message has too many values");
    need(1);
    const type = bytes[position++];
    if (type <= 0x7f || type >= 0xe0 || type === 0xc0 || type === 0xc2 || type === 0xc3) {
      close();
    } else if (type >= 0x80 && type <= 0x8f) container(2 * (type & 0x0f));
    else if (type >= 0x90 && type <= 0x9f) container(type & 0x0f);
    else if (type >= 0xa0 && type <= 0xbf) {
      text(type & 0x1f);
      close();
    } else {
      switch (type) {
        case 0xc4:
          skip(length(1));
          break;
        case 0xc5:
          skip(length(2));
          break;
        case 0xc6:
          skip(length(4));
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip(4);
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip(8);
          break;
        case 0xcc:
        case 0xd0:
          skip(1);
          break;
        case 0xcd:
        case 0xd1:
          skip(2);
          break;
        case 0xd9:
          text(length(1));
          break;
        case 0xda:
          text(length(2));
          break;
        case 0xdb:
          text(length(4));
          break;
        case 0xdc:
          container(length(2));
          continue;
        case 0xdd:
          container(length(4));
          continue;
        case 0xde:
          container(2 * length(2));
          continue;
        case 0xdf:
          container(2 * length(4));
          continue;
        default:
          throw new Error(`msgpack type 0x${type.toString(16)} is not allowed`);
      }
      close();
    }
  } while (open.length > 0);
  if (position !== bytes.length) throw new Error("bytes after the message");
}
