/**
 * The body of one segment worker (a Web Worker started by
 * `segment_workers.ts`): it receives an object's keys once, then seals or
 * opens the segments it is sent with the functions of `segment_crypto.ts`,
 * and sends each result back with its buffers transferred, not copied. The
 * keys live in the worker until the pool ends it, as long as the sealing or
 * opening that started it.
 *
 * @module
 */

import { ErasureCoder } from "./erasure.ts";
import { GarbagePacer, release } from "./memory.ts";
import { openSegmentFragments, sealSegmentFrames, type SegmentKeys } from "./segment_crypto.ts";

/** Messages a segment worker takes. */
export type WorkerRequest =
  | { type: "keys"; keys: SegmentKeys; k: number; n: number }
  | { type: "seal"; id: number; counter: number; last: boolean; data: Uint8Array }
  | {
    type: "open";
    id: number;
    counter: number;
    last: boolean;
    length: number;
    fragments: (Uint8Array | undefined)[];
    wantLayer2: boolean;
  };

/**
 * Messages a segment worker sends back: `ready` once, when its modules have
 * loaded, then one per seal or open request, by id.
 */
export type WorkerReply =
  | { id: 0; ready: true }
  | { id: number; frames: Uint8Array[] }
  | { id: number; plaintext: Uint8Array | undefined; layer2?: Uint8Array }
  | { id: number; error: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
let keys: SegmentKeys | undefined;
let coder: ErasureCoder | undefined;
// Each worker has a heap of its own: without the pacing the main thread does, its dead
// segment buffers would pile up to tens of MiB before V8 collects them.
const pacer = new GarbagePacer();

scope.onmessage = async (event) => {
  const request = event.data;
  if (request.type === "keys") {
    keys = request.keys;
    coder = new ErasureCoder(request.k, request.n);
    return;
  }
  try {
    if (keys === undefined || coder === undefined) throw new Error("no keys yet");
    if (request.type === "seal") {
      const { id, counter, last, data } = request;
      const frames = await sealSegmentFrames(keys, coder, counter, last, data);
      scope.postMessage({ id, frames }, frames.map((frame) => frame.buffer as ArrayBuffer));
      pacer.processed(data.length);
    } else {
      const { id, counter, last, length, fragments, wantLayer2 } = request;
      const opened = await openSegmentFragments(
        keys,
        coder,
        counter,
        last,
        length,
        fragments,
        wantLayer2,
      );
      const buffers = [opened.plaintext, opened.layer2].flatMap((bytes) =>
        bytes === undefined ? [] : [bytes.buffer as ArrayBuffer]
      );
      release(...fragments); // handed over to this worker, and decoded now
      scope.postMessage({ id, ...opened }, [...new Set(buffers)]);
      pacer.processed(length);
    }
  } catch (error) {
    scope.postMessage({ id: request.id, error: (error as Error).message ?? String(error) }, []);
  }
};

scope.postMessage({ id: 0, ready: true }, []);
