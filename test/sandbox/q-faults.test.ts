/**
 * @module Q data plane faults and quirks driven through the control API (throttling, 5xx, armed
 * errors, the IAM-federation subscription quirk, a cut or stalled chat stream, client cancellation) and the
 * Chat stream's per-event signature check.
 */
import { Transform } from 'node:stream';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ChatCommand,
  ChatSyncCommand,
  QBusinessClient,
  SearchRelevantContentCommand,
  type ChatInputStream,
  type ChatOutputStream,
} from '@aws-sdk/client-qbusiness';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { HttpRequest } from '@smithy/protocol-http';
import { useSandbox } from '../helpers/sandbox.js';
import { sessionFor, type UserSession } from '../helpers/credentials.js';
import { controlClient, type ControlClient } from '../../tools/sandbox/control-client.js';

const sandbox = useSandbox();
const TRAVEL = 'what is the travel reimbursement limit';
let control: ControlClient;
let alice: UserSession;

beforeAll(async () => {
  control = controlClient(sandbox().description.control);
  alice = await sessionFor(sandbox(), 'alice', 'idc');
});

beforeEach(async () => {
  await control.clearFaults();
});

const search = (s: UserSession) =>
  s.q.send(
    new SearchRelevantContentCommand({
      applicationId: s.applicationId,
      queryText: TRAVEL,
      contentSource: { retriever: { retrieverId: s.retrieverId } },
    }),
  );

async function* input(userMessage: string): AsyncIterable<ChatInputStream> {
  yield { textEvent: { userMessage } };
  yield { endOfInputEvent: {} };
}

describe('armed faults', () => {
  it('throttles, fails with 5xx or a chosen error for the next calls only, and counts every call', async () => {
    const before = (await control.counters())['qbusiness:SearchRelevantContent'] ?? 0;
    await control.setFault('qbusiness:SearchRelevantContent', { throttle: 1, serverError: 1 });
    await expect(search(alice)).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 429 },
    });
    await expect(search(alice)).rejects.toMatchObject({
      name: 'InternalServerException',
      $metadata: { httpStatusCode: 500 },
    });
    expect((await search(alice)).relevantContent!.length).toBeGreaterThan(0);
    await control.setFault('qbusiness:SearchRelevantContent', {
      error: { code: 'LicenseNotFoundException', message: 'no licence', status: 400, count: 1 },
    });
    await expect(search(alice)).rejects.toMatchObject({
      name: 'LicenseNotFoundException',
      message: 'no licence',
    });
    expect((await control.counters())['qbusiness:SearchRelevantContent']).toBe(before + 4);
  });

  it('adds latency and still answers', async () => {
    await control.setFault('qbusiness:ChatSync', { latencyMs: 50 });
    const out = await alice.q.send(
      new ChatSyncCommand({ applicationId: alice.applicationId, userMessage: TRAVEL }),
    );
    expect(out.systemMessage).toContain('[1]');
  });
});

describe('quirks', () => {
  it('refuses the first ChatSync of a new IAM-federation user once, as AWS does while subscribing', async () => {
    await control.setSwitches({ subscriptionQuirk: true });
    const carol = await sessionFor(sandbox(), 'carol', 'iam-federation');
    const ask = () =>
      carol.q.send(new ChatSyncCommand({ applicationId: carol.applicationId, userMessage: TRAVEL }));
    await expect(ask()).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('does not have a subscription'),
    });
    expect((await ask()).systemMessage).toContain('[1]');
    expect((await ask()).systemMessage).toContain('[1]');
  });

  it('does not fire when the switch is off', async () => {
    await control.setSwitches({ subscriptionQuirk: false });
    const dave = await sessionFor(sandbox(), 'dave', 'iam-federation');
    const out = await dave.q.send(
      new ChatSyncCommand({ applicationId: dave.applicationId, userMessage: TRAVEL }),
    );
    expect(out.systemMessage).toContain('[1]');
    await control.setSwitches({ subscriptionQuirk: true });
  });
});

describe('chat stream faults', () => {
  it('stalls an armed stream after its first event, then finishes it (stallMs)', async () => {
    await control.setFault('qbusiness:Chat', { stallMs: 50 });
    const out = await alice.q.send(
      new ChatCommand({ applicationId: alice.applicationId, inputStream: input(TRAVEL) }),
    );
    const events: ChatOutputStream[] = [];
    for await (const ev of out.outputStream!) events.push(ev);
    expect(events[0]?.textEvent).toBeDefined();
    expect(events.at(-1)?.metadataEvent).toBeDefined();
  });

  it('cuts an armed stream mid-way: some text, then an error, never the metadata', async () => {
    await control.setFault('qbusiness:Chat', { cutStream: 1 });
    const out = await alice.q.send(
      new ChatCommand({ applicationId: alice.applicationId, inputStream: input(TRAVEL) }),
    );
    const events: ChatOutputStream[] = [];
    await expect(
      (async () => {
        for await (const ev of out.outputStream!) events.push(ev);
      })(),
    ).rejects.toThrow();
    expect(events.some((e) => e.textEvent)).toBe(true);
    expect(events.some((e) => e.metadataEvent)).toBe(false);
  });

  it('stops producing when the client cancels, and counts qbusiness:Chat:aborted', async () => {
    const before = (await control.counters())['qbusiness:Chat:aborted'] ?? 0;
    const abort = new AbortController();
    const out = await alice.q.send(
      new ChatCommand({ applicationId: alice.applicationId, inputStream: input(TRAVEL) }),
      {
        abortSignal: abort.signal,
      },
    );
    const events: ChatOutputStream[] = [];
    // The SDK may end the iteration quietly or with an AbortError; either way nothing more arrives.
    await (async () => {
      for await (const ev of out.outputStream!) {
        events.push(ev);
        abort.abort();
      }
    })().catch((err: Error) => expect(err.name).toMatch(/Abort/));
    expect(events.some((e) => e.metadataEvent)).toBe(false);
    await vi.waitFor(async () => {
      expect((await control.counters())['qbusiness:Chat:aborted']).toBe(before + 1);
    });
  });

  it('refuses an input stream whose event signature does not chain from the request', async () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    // Re-signs nothing: flips one byte of the second envelope's :chunk-signature on its way out.
    class Tamper extends NodeHttp2Handler {
      override handle(request: HttpRequest, options?: Parameters<NodeHttp2Handler['handle']>[1]) {
        let n = 0;
        const flip = new Transform({
          objectMode: true,
          transform(chunk: Uint8Array, _enc, done) {
            if (++n !== 2) return done(null, chunk);
            const msg = codec.decode(chunk);
            const sig = Uint8Array.from(msg.headers[':chunk-signature']!.value as Uint8Array);
            sig[0] = sig[0]! ^ 0xff;
            msg.headers[':chunk-signature'] = { type: 'binary', value: sig };
            done(null, codec.encode(msg));
          },
        });
        request.body = (request.body as NodeJS.ReadableStream).pipe(flip);
        return super.handle(request, options);
      }
    }
    const tampering = new QBusinessClient({
      endpoint: sandbox().description.awsEndpoint,
      region: sandbox().description.qRegion,
      credentials: alice.credentials,
      maxAttempts: 1,
      requestHandler: new Tamper(),
    });
    const send = async () => {
      const out = await tampering.send(
        new ChatCommand({ applicationId: alice.applicationId, inputStream: input(TRAVEL) }),
      );
      for await (const _ of out.outputStream!) void _;
    };
    await expect(send()).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('signature of an input event'),
    });
  });
});
