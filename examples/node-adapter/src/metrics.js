'use strict';
// The metrics endpoint (feature analytics-loss-reporting): Prometheus text on the loopback
// address, GET /metrics only. It counts what the analytics pusher will never deliver, so that
// no event is lost silently: dropped because the buffer was full, or refused for good.

const http = require('node:http');

function render(stats) {
  return [
    '# HELP asm_analytics_events_dropped_total Analytics events that will never reach the ingest.',
    '# TYPE asm_analytics_events_dropped_total counter',
    `asm_analytics_events_dropped_total{reason="buffer_full"} ${stats.dropped}`,
    `asm_analytics_events_dropped_total{reason="rejected"} ${stats.rejected}`,
    '# HELP asm_analytics_events_sent_total Analytics events the ingest stored.',
    '# TYPE asm_analytics_events_sent_total counter',
    `asm_analytics_events_sent_total ${stats.sent}`,
    '',
  ].join('\n');
}

// Resolves with the listening server once it is bound.
function startMetrics(analytics, host, port) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render(analytics.stats));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

module.exports = { startMetrics, render };
