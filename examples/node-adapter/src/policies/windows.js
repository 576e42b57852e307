'use strict';
// Fixed rate-limit windows (research §1.4): each limit's window opens with the first request
// that finds it closed and lasts timePeriodInMilliseconds; a request passes only when every
// limit has quota, and a refused request changes nothing.

const { ConfigError } = require('./credentials');

// [{max, periodMs}] from [{maximumRequests, timePeriodInMilliseconds}]; `what` names the field.
function parseLimits(value, what) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${what}: must be a non-empty list of`
      + ' {maximumRequests, timePeriodInMilliseconds}');
  }
  if (value.length > 100) throw new ConfigError(`${what}: more than 100 limits`);
  return value.map((limit, i) => {
    const max = Number(limit && limit.maximumRequests);
    const periodMs = Number(limit && limit.timePeriodInMilliseconds);
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new ConfigError(`${what}[${i}].maximumRequests:`
        + ` ${JSON.stringify(limit && limit.maximumRequests)} must be an integer >= 1`);
    }
    if (!Number.isSafeInteger(periodMs) || periodMs < 1) {
      throw new ConfigError(`${what}[${i}].timePeriodInMilliseconds: `
        + `${JSON.stringify(limit && limit.timePeriodInMilliseconds)} must be an integer >= 1`);
    }
    return { max, periodMs };
  });
}

class FixedWindows {
  constructor(limits) {
    this.limits = limits;
    this.windows = limits.map(() => ({ start: null, count: 0 }));
  }

  // Takes one request at `now` (ms) if every limit has quota. Returns {allowed, limit,
  // remaining, resetMs} where the last three describe the most restrictive limit (least
  // remaining, then soonest reset), as the X-Ratelimit-* headers show it.
  take(now) {
    const views = this.limits.map((limit, i) => {
      const w = this.windows[i];
      const open = w.start !== null && now < w.start + limit.periodMs;
      const end = open ? w.start + limit.periodMs : null;
      return { limit, w, open, used: open ? w.count : 0, end };
    });
    const allowed = views.every((v) => v.used < v.limit.max);
    if (allowed) {
      for (const v of views) {
        if (!v.open) {
          v.w.start = now;
          v.w.count = 0;
          v.end = now + v.limit.periodMs;
        }
        v.w.count += 1;
        v.used += 1;
      }
    }
    let worst = null;
    for (const v of views) {
      const remaining = Math.max(0, v.limit.max - v.used);
      const resetMs = v.end === null ? v.limit.periodMs : Math.max(0, v.end - now);
      if (worst === null || remaining < worst.remaining
          || (remaining === worst.remaining && resetMs < worst.resetMs)) {
        worst = { limit: v.limit.max, remaining, resetMs };
      }
    }
    return { allowed, ...worst };
  }
}

function rateLimitHeaders(result) {
  return {
    'x-ratelimit-limit': String(result.limit),
    'x-ratelimit-remaining': String(result.remaining),
    'x-ratelimit-reset': String(Math.ceil(result.resetMs)),
  };
}

module.exports = { FixedWindows, parseLimits, rateLimitHeaders };
