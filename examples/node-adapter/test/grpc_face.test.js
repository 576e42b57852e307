'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { contextOf } = require('../src/grpc_face');

const request = (http) => ({ attributes: { request: { http }, context_extensions: { api_id: '7' } } });

test('headers come from the merged map, keys lowercased', () => {
  const ctx = contextOf(request({ method: 'GET', path: '/a?b=1', headers: { 'Client_Id': 'x,y' } }));
  assert.equal(ctx.headers.client_id, 'x,y');
  assert.equal(ctx.path, '/a');
  assert.equal(ctx.apiId, '7');
});

test('header_map (encode_raw_headers): raw bytes, repeated lines joined in order', () => {
  const ctx = contextOf(request({
    method: 'GET',
    path: '/a',
    header_map: { headers: [
      { key: 'client_id', raw_value: Buffer.from('first') },
      { key: 'user-agent', raw_value: Buffer.from('curl') },
      { key: 'Client_Id', raw_value: Buffer.from('second') },
      { key: 'x-empty', value: '' },
    ] },
  }));
  assert.equal(ctx.headers.client_id, 'first,second');
  assert.equal(ctx.headers['user-agent'], 'curl');
  assert.equal(ctx.headers['x-empty'], '');
});
