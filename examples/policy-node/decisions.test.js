// Unit tests of the reference policy's decisions: npm test (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EventCounter, Policy } from './decisions.js';

const policy = new Policy({ refuseWord: 'scam', maskWord: 'spam.example', pushTitle: 'New' });
const text = (content) => ({ contentType: 'CONTENT_TYPE_TEXT', content });

test('masking keeps the other keys and masks every letter case', () => {
  const content = policy.maskedContent(
    text('{"content":"a <Spam.Example> and spam.example","x":1}'),
  );
  assert.equal(content, '{"content":"a <************> and ************","x":1}');
});

test('only text messages are refused, every time', () => {
  // Twice: a RegExp with the g flag would keep state between test() calls.
  assert.ok(policy.refusal(text('{"content":"a SCAM"}')));
  assert.ok(policy.refusal(text('{"content":"a SCAM"}')));
  assert.equal(policy.refusal({ contentType: 'CONTENT_TYPE_PICTURE', content: '{"content":"scam"}' }), null);
});

test('redeliveries are counted once', () => {
  const counter = new EventCounter(2);
  for (const key of ['a', 'b', 'a', '', '']) counter.add(key);
  assert.deepEqual(counter.add('c'), { count: 5, duplicate: false });
  // "a" fell out of the window of 2 keys: it counts again.
  assert.deepEqual(counter.add('a'), { count: 6, duplicate: false });
});
