'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { headerOf, basicCredentials, sameSecret, ConfigError } = require('../src/policies/credentials');

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

test('header expressions name a lowercase header', () => {
  assert.equal(headerOf({ e: "#[attributes.headers['X-App-Id']]" }, 'e', 'd'), 'x-app-id');
  assert.equal(headerOf({ e: '#[attributes.headers["client_id"]]' }, 'e', 'd'), 'client_id');
  assert.equal(headerOf({ e: '#[attributes.headers.client_id]' }, 'e', 'd'), 'client_id');
  assert.equal(headerOf({}, 'e', 'client_id'), 'client_id');
  assert.equal(headerOf({ e: '' }, 'e', null), null);
});

test('other expressions are configuration errors naming the key', () => {
  assert.throws(() => headerOf({ e: "#[attributes.queryParams['client_id']]" }, 'e', 'd'),
    (err) => err instanceof ConfigError && /^e: /.test(err.message));
  assert.throws(() => headerOf({ e: 42 }, 'e', 'd'), ConfigError);
});

test('Basic credentials are decoded strictly', () => {
  assert.deepEqual(basicCredentials({ authorization: `Basic ${b64('id:se:cret')}` }),
    { id: 'id', secret: 'se:cret' });
  assert.deepEqual(basicCredentials({ authorization: `basic ${b64('id:')}` }), { id: 'id', secret: '' });
  for (const bad of ['Basic !!!not-base64!!!', `Basic ${b64('no-colon')}`, 'Basic',
    `Bearer ${b64('id:secret')}`, `Basic ${b64(':secret')}`]) {
    assert.equal(basicCredentials({ authorization: bad }), null, bad);
  }
  assert.equal(basicCredentials({}), null);
});

test('secrets compare by value', () => {
  assert.equal(sameSecret('abc', 'abc'), true);
  assert.equal(sameSecret('abc', 'abd'), false);
  assert.equal(sameSecret('abc', undefined), false);
  assert.equal(sameSecret(undefined, 'abc'), false);
});
