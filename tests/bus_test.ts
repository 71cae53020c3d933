/**
 * Authenticated envelopes between real hosts on a real redis-server: what an
 * attacker who can publish on every channel can and cannot make a host do.
 */

import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { startRedis } from "./harness/redis.ts";
import { parserSettled } from "./harness/redis_parser.ts";
import { Host, MAX_REQUESTS_PER_SENDER, RemoteError } from "../core/net/host.ts";
import { Identity, PeerKeys } from "../core/net/identity.ts";
import {
  type Address,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  MAC_LENGTH,
  macOf,
} from "../core/net/envelope.ts";
import { randomBytes, toHex } from "../core/bytes.ts";

interface Bus {
  url: string;
  /** A raw connection that publishes anything on any channel. */
  raw: Redis;
  server: Host;
  client: Host;
  /** Messages the server's `note` listener accepted, in arrival order. */
  notes: Envelope[];
}

async function withBus(test: (bus: Bus) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const raw = new Redis(redis.url, { lazyConnect: true });
  await raw.connect();
  const connect = (role: "server" | "client") =>
    Host.connect({ redisUrl: redis.url, network: "bus", role });
  const server = await connect("server");
  const client = await connect("client");
  const notes: Envelope[] = [];
  server.listen("note", (message) => void notes.push(message));
  server.handle("echo", (request) => Promise.resolve({ echo: request.body.text }));
  try {
    await test({ url: redis.url, raw, server, client, notes });
  } finally {
    await Promise.allSettled([server.close(), client.close(), raw.quit()]);
    await redis.stop();
    await parserSettled();
  }
}

/** Waits until `condition()` or fails after a generous guard. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Publishes `bytes` raw on the channel of `to`. */
function publishRaw(bus: Bus, to: Address, bytes: Uint8Array): Promise<number> {
  return bus.raw.publish(`bus:${to}`, Buffer.from(bytes));
}

Deno.test("identity: a stored key gives back the same id; low-order peer keys are refused", async () => {
  const identity = await Identity.generate();
  assert(/^[0-9a-f]{64}$/.test(identity.id), identity.id);
  const again = await Identity.fromPkcs8(await identity.pkcs8());
  assertEquals(again.id, identity.id);
  const other = await Identity.generate();
  // Both sides derive the same key: a MAC made by one verifies at the other.
  const data = new Uint8Array(randomBytes(100));
  const mac = await crypto.subtle.sign("HMAC", await new PeerKeys(identity).macKey(other.id), data);
  assert(
    await crypto.subtle.verify("HMAC", await new PeerKeys(other).macKey(identity.id), mac, data),
  );
  const third = await Identity.generate();
  assert(
    !await crypto.subtle.verify("HMAC", await new PeerKeys(third).macKey(identity.id), mac, data),
    "a third host's key differs",
  );
  await assertRejects(() => new PeerKeys(identity).macKey("00".repeat(32)));
  await assertRejects(() => new PeerKeys(identity).macKey("ab"));
  await assertRejects(() => Identity.fromPkcs8(randomBytes(48)));
});

Deno.test("bus: messages between hosts arrive in order and authenticated", async () => {
  await withBus(async (bus) => {
    assertEquals(await bus.client.request(bus.server.address, "echo", { text: "hi" }), {
      echo: "hi",
    });
    for (let seq = 0; seq < 500; seq++) {
      bus.client.send(bus.server.address, "note", { seq, pad: randomBytes(seq * 7) });
    }
    await until(() => bus.notes.length === 500, "500 notes");
    assertEquals(bus.notes.map((n) => n.body.seq), [...Array(500).keys()]);
    assert(bus.notes.every((n) => n.from === bus.client.address));
  });
});

Deno.test("bus: forged, altered and misaddressed messages are dropped", async () => {
  await withBus(async (bus) => {
    const { server, client } = bus;
    // Capture a genuine message on its way to the server.
    const sniffer = new Redis(bus.url, { lazyConnect: true });
    await sniffer.connect();
    const seen: Uint8Array[] = [];
    sniffer.on("messageBuffer", (_c: Buffer, m: Buffer) => void seen.push(new Uint8Array(m)));
    await sniffer.subscribe(`bus:${server.address}`);
    try {
      await client.send(server.address, "note", { seq: 1, text: "genuine" });
      await until(() => bus.notes.length === 1 && seen.length === 1, "the genuine note");
      const genuine = seen[0];
      const forgeries: [string, Uint8Array][] = [];
      // In the client's name without its key: any MAC is a guess.
      const forged = encodeEnvelope({
        type: "note",
        from: client.address,
        to: server.address,
        id: 99,
        body: { seq: 2 },
      });
      macOf(forged).set(randomBytes(MAC_LENGTH));
      forgeries.push(["forged sender", forged]);
      // The genuine message with one byte of its body changed.
      const altered = genuine.slice();
      altered[altered.indexOf("genuine".charCodeAt(0))] ^= 1;
      forgeries.push(["altered body", altered]);
      // The genuine message with its MAC truncated or changed.
      forgeries.push(["truncated", genuine.subarray(0, genuine.length - 1)]);
      const badMac = genuine.slice();
      badMac[badMac.length - 1] ^= 0x80;
      forgeries.push(["altered MAC", badMac]);
      // A message meant for another host, published on this server's channel.
      const elsewhere = decodeEnvelope(genuine);
      const other = await Host.connect({ redisUrl: bus.url, network: "bus", role: "server" });
      try {
        other.listen("note", () => forgeries.push(["delivered to the wrong host", genuine]));
        await publishRaw(bus, other.address, genuine);
        for (const [, bytes] of forgeries.slice()) {
          assertEquals(
            await publishRaw(bus, server.address, bytes),
            2,
            "server and sniffer got it",
          );
        }
        // A sentinel sent after the forgeries; once it is in, they have all been handled.
        await client.send(server.address, "note", { seq: 3, text: "sentinel" });
        await until(() => bus.notes.length >= 2, "the sentinel");
      } finally {
        await other.close();
      }
      assertEquals(bus.notes.map((n) => n.body.seq), [1, 3], "only genuine notes were accepted");
      assertEquals(forgeries.length, 4, forgeries.map(([what]) => what).join(", "));
      assertEquals(elsewhere.to, server.address);
    } finally {
      await sniffer.quit();
    }
  });
});

Deno.test("bus: a reply counts only from the host the request went to", async () => {
  await withBus(async (bus) => {
    let release: (() => void) | undefined;
    bus.server.handle("slow", () =>
      new Promise((resolve) => {
        release = () => resolve({ from: "the server" });
      }));
    const impostor = await Host.connect({ redisUrl: bus.url, network: "bus", role: "server" });
    try {
      const reply = bus.client.request(bus.server.address, "slow", {}, { timeoutMs: 10_000 });
      await until(() => release !== undefined, "the request to arrive");
      // Another (authenticated) host answers every id the client may have used.
      for (let id = 1; id <= 20; id++) {
        await impostor.send(bus.client.address, "reply", { from: "the impostor" }, id);
        await impostor.send(bus.client.address, "error", { code: "forbidden" }, id);
      }
      await impostor.request(bus.server.address, "echo", { text: "flush" });
      release!();
      assertEquals(await reply, { from: "the server" });
    } finally {
      await impostor.close();
    }
  });
});

Deno.test("bus: one host flooding requests gets 'busy' while another is still served", async () => {
  await withBus(async (bus) => {
    const waiting: (() => void)[] = [];
    bus.server.handle("hold", () =>
      new Promise((resolve) => {
        waiting.push(() => resolve({}));
      }));
    const flood = Array.from(
      { length: 3 * MAX_REQUESTS_PER_SENDER },
      () =>
        bus.client.request(bus.server.address, "hold", {}, { timeoutMs: 10_000, attempts: 1 })
          .then(() => "served", (error) => error instanceof RemoteError ? error.code : "other"),
    );
    await until(() => waiting.length === MAX_REQUESTS_PER_SENDER, "the held requests");
    const other = await Host.connect({ redisUrl: bus.url, network: "bus", role: "client" });
    try {
      assertEquals(await other.request(bus.server.address, "echo", { text: "me" }), { echo: "me" });
    } finally {
      await other.close();
    }
    for (const resolve of waiting) resolve();
    const outcomes = await Promise.all(flood);
    assertEquals(outcomes.filter((o) => o === "served").length, MAX_REQUESTS_PER_SENDER);
    assertEquals(outcomes.filter((o) => o === "busy").length, 2 * MAX_REQUESTS_PER_SENDER);
    assertEquals(
      waiting.length,
      MAX_REQUESTS_PER_SENDER,
      "the handler never ran for a refused one",
    );
  });
});

Deno.test("bus: a host id that is not a usable key gets nothing sent", async () => {
  await withBus(async (bus) => {
    const bogus = `server:${"00".repeat(32)}` as Address;
    assertEquals(await bus.client.send(bogus, "note", {}), false);
    const unknown = `server:${toHex(randomBytes(32))}` as Address;
    assertEquals(await bus.client.send(unknown, "note", {}), false, "nobody subscribed");
  });
});
