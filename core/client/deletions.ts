/**
 * Deletion records as a client sees them (core/deletion.ts): which records
 * reported by trusted servers to believe, which objects they delete, and
 * passing them on to servers that still hold those objects (a server that
 * was offline during `rm`), so a removed tag never comes back.
 *
 * A record is believed when either
 *
 * - it verifies under the access key that at least k trusted holders of the
 *   object it names report (k being the object's own), or
 * - at least k trusted servers report it byte for byte (k of the header it
 *   carries, at least 2) and it verifies under the key it carries.
 *
 * So a single lying server cannot delete anything from a client's view; a
 * record is only ever made by a holder of the password.
 *
 * @module
 */

import { equalBytes, toHex } from "../bytes.ts";
import { decodeDeletionRecord, type DeletionRecord, verifyDeletionRecord } from "../deletion.ts";
import type { Address } from "../net/envelope.ts";
import type { Client } from "./session.ts";

/** A record as one server reported it. */
export interface ReportedRecord {
  readonly server: Address;
  readonly bytes: Uint8Array;
}

/** What a client needs of an object to judge records against it. */
export interface RecordTarget {
  readonly headerBytes: Uint8Array;
  readonly header: { readonly k: number; readonly version: number };
  readonly holders: readonly { server: Address; access?: Uint8Array }[];
}

/** The verdict on the records reported for one tag. */
export interface Deletions {
  /** Records believed, highest tag version first. */
  readonly accepted: DeletionRecord[];
  /** Highest tag version a believed record deletes; 0 when none. */
  readonly version: number;
  /** Highest tag version of any well-formed record reported, believed or not. */
  readonly reportedVersion: number;
}

/** Judges `reports` (records of one tag) against the objects seen for it. */
export async function judgeDeletions(
  tag: string,
  reports: readonly ReportedRecord[],
  objects: readonly RecordTarget[],
): Promise<Deletions> {
  const byBytes = new Map<string, { record: DeletionRecord; servers: Set<Address> }>();
  for (const { server, bytes } of reports) {
    let record: DeletionRecord;
    try {
      record = decodeDeletionRecord(bytes);
    } catch {
      continue;
    }
    if (record.header.tag !== tag) continue;
    const key = toHex(record.bytes);
    const entry = byBytes.get(key) ?? { record, servers: new Set<Address>() };
    entry.servers.add(server);
    byBytes.set(key, entry);
  }
  const accepted: DeletionRecord[] = [];
  let reportedVersion = 0;
  for (const { record, servers } of byBytes.values()) {
    reportedVersion = Math.max(reportedVersion, record.header.version);
    if (await believed(record, servers.size, objects)) accepted.push(record);
  }
  accepted.sort((a, b) => b.header.version - a.header.version);
  return { accepted, version: accepted[0]?.header.version ?? 0, reportedVersion };
}

async function believed(
  record: DeletionRecord,
  reporters: number,
  objects: readonly RecordTarget[],
): Promise<boolean> {
  const named = objects.find((o) => equalBytes(o.headerBytes, record.headerBytes));
  if (named !== undefined) {
    // The access key its holders report, counted per distinct key.
    const counts = new Map<string, { key: Uint8Array; count: number }>();
    for (const { access } of named.holders) {
      if (access === undefined) continue;
      const entry = counts.get(toHex(access)) ?? { key: access, count: 0 };
      entry.count++;
      counts.set(toHex(access), entry);
    }
    for (const { key, count } of counts.values()) {
      if (count >= named.header.k && await verifyDeletionRecord(record, key)) return true;
    }
  }
  return reporters >= Math.max(2, record.header.k) &&
    await verifyDeletionRecord(record, record.accessKey);
}

/** Whether an object of tag version `version` is deleted by `deletions`. */
export function isDeleted(deletions: Deletions, version: number): boolean {
  return deletions.accepted.length > 0 && version <= deletions.version;
}

/**
 * Passes each believed record on to the servers that hold the object it
 * names (they check it against their own stored access key and delete).
 * Failures are ignored: the next client to look passes it on again.
 */
export async function passOnDeletions(
  client: Client,
  tag: string,
  deletions: Deletions,
  objects: readonly RecordTarget[],
): Promise<void> {
  await Promise.all(deletions.accepted.flatMap((record) => {
    const named = objects.find((o) => equalBytes(o.headerBytes, record.headerBytes));
    return (named?.holders ?? []).map(({ server }) =>
      client.request(server, "forget", { tag, record: record.bytes }).catch(() => {})
    );
  }));
}
