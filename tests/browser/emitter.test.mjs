// The SDK's one event style, in Node against the built module: on/off/once with the
// listener identity a developer passes, order kept, a throwing listener isolated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Emitter, ErrorCode, OpenCallsError } from '../../web/sdk/opencalls.js';

class Thing extends Emitter {
  fire(name, ...args) { this.emit(name, ...args); }
}

test('on, off and once', () => {
  const thing = new Thing();
  const seen = [];
  const a = (x) => seen.push(`a${x}`);
  const b = (x) => seen.push(`b${x}`);
  thing.on('ping', a).on('ping', b).once('ping', (x) => seen.push(`once${x}`));
  thing.fire('ping', 1);
  thing.off('ping', a);
  thing.fire('ping', 2);
  assert.deepEqual(seen, ['a1', 'b1', 'once1', 'b2']);

  // A once-listener can be removed with the function that was given to once().
  const c = (x) => seen.push(`c${x}`);
  thing.once('pong', c);
  thing.off('pong', c);
  thing.fire('pong', 3);
  assert.deepEqual(seen, ['a1', 'b1', 'once1', 'b2']);
});

test('a throwing listener does not stop the others', () => {
  const thing = new Thing();
  const seen = [];
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args.join(' '));
  try {
    thing.on('x', () => { throw new Error('app bug'); });
    thing.on('x', () => seen.push('second'));
    thing.fire('x');
  } finally {
    console.error = original;
  }
  assert.deepEqual(seen, ['second']);
  assert.equal(errors.length, 1);
});

test('errors are typed: OpenCallsError with a code and a message', () => {
  const err = new OpenCallsError(ErrorCode.RequestTimeout, 'ping: no answer within 10 ms');
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'OpenCallsError');
  assert.equal(err.code, 1001);
  assert.equal(err.message, 'ping: no answer within 10 ms');
});
