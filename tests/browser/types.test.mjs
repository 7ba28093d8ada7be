// The SDK's type declarations, as served by the real server at /sdk/, compile in a small
// TypeScript consumer project (tsc from npm, strict), and they are real types: a wrong event
// name, a listener with wrong arguments or a snake_case wire field fails to compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { here, startServer } from './lib.mjs';

const TSC = path.join(here, 'node_modules/typescript/bin/tsc');

const CONSUMER = `
import { connect, ErrorCode, OpenCallsError } from './sdk/opencalls.js';
import type { ConnectionState, LiveEvent, Participant, Room, Track, wire } from './sdk/opencalls.js';

export async function main(grid: HTMLElement): Promise<void> {
  const client = await connect({ userId: 'alice', accessToken: 'token', requestTimeoutMs: 5000 });
  client.on('connectionStateChanged', (state: ConnectionState) => console.log(state));
  const room: Room = await client.enterRoom('room-id', { audio: true, video: false });
  const onJoined = (p: Participant): void => { grid.append(p.attach()); };
  room.on('participantJoined', onJoined);
  room.off('participantJoined', onJoined);
  room.once('left', (reason) => console.log(reason satisfies 'left' | 'deleted' | 'removed' | 'lost'));
  room.on('trackSubscribed', (track: Track, p: Participant) => {
    const el: HTMLMediaElement = track.attach();
    console.log(track.kind, p.userId, p.isAudioOn, el);
  });
  room.on('activeSpeakersChanged', (speakers: Participant[]) => console.log(speakers.map((s) => s.participantId)));
  await room.setMicrophoneEnabled(false);
  await room.setCameraEnabled(false).catch((err: unknown) => {
    if (err instanceof OpenCallsError && err.code === ErrorCode.RequestTimeout) console.log(err.message);
  });
  await room.leave();
  const live: LiveEvent = await client.enterLiveEvent('event-id', { role: 'participant' });
  live.on('chatMessageReceived', (m) => console.log(m.user.userId, m.message));
  live.on('updated', (l) => console.log(l.participantCount, l.liveState));
  const sent = await live.sendChatMessage('hi');
  console.log(sent.messageId);
  const entered: wire.RoomEntered = await client.request('room.enter', { room_id: 'r', is_audio_on: true });
  console.log(entered.room.room_type);
  await client.disconnect();
}
`;

/** Each of these must NOT compile. */
const MISTAKES = {
  'unknown event name': `room.on('participantJoinedd', () => {});`,
  'wrong listener arguments': `room.on('participantLeft', (p: string) => console.log(p));`,
  'snake_case field on a model': `room.on('participantJoined', (p) => console.log(p.participant_id));`,
  'unknown request type': `void client.request('room.enterr', {});`,
};

function tsc(dir) {
  try {
    execFileSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
    return { ok: true, out: '' };
  } catch (err) {
    return { ok: false, out: String(err.stdout) };
  }
}

test('the served .d.ts files compile in a strict TypeScript consumer, and catch mistakes', async (t) => {
  const { base } = await startServer(t);
  const dir = mkdtempSync(path.join(tmpdir(), 'opencalls-ts-consumer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // Download the module and every declaration it references, as a developer would.
  mkdirSync(path.join(dir, 'sdk'));
  const todo = ['opencalls.d.ts', 'opencalls.js'];
  const seen = new Set();
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    const resp = await fetch(`${base}/sdk/${name}`);
    assert.equal(resp.status, 200, `GET /sdk/${name}`);
    const text = await resp.text();
    writeFileSync(path.join(dir, 'sdk', name), text);
    if (name.endsWith('.d.ts')) {
      for (const [, dep] of text.matchAll(/from '\.\/([\w-]+)\.js'/g)) todo.push(`${dep}.d.ts`);
    }
  }
  assert.ok(seen.has('protocol.d.ts'), 'the wire types come from the generated protocol.d.ts');

  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ES2022', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'],
      strict: true, noEmit: true, skipLibCheck: false, allowJs: false,
    },
    include: ['consumer.ts'],
  }));
  writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
  const good = tsc(dir);
  assert.ok(good.ok, `the consumer should compile:\n${good.out}`);

  for (const [what, line] of Object.entries(MISTAKES)) {
    const broken = CONSUMER.replace('await client.disconnect();', `${line}\n  await client.disconnect();`);
    writeFileSync(path.join(dir, 'consumer.ts'), broken);
    const res = tsc(dir);
    assert.ok(!res.ok, `${what} should not compile: ${line}`);
    assert.match(res.out, /consumer\.ts\(\d+,\d+\): error TS/, what);
  }
});
