// The Node socket.io-client producer in the paced workloads (the stack's ceiling), with the
// same plan, clocks and result fields as the Python contenders (_paced.py):
//
//   node paced.mjs llm  URL KEY STREAM_PREFIX PLAN_JSON
//   node paced.mjs idle URL KEY STREAM_PREFIX PLAN_JSON
//
// PLAN_JSON holds streams, count, rate, open_rate, size, idle and deadline. Every stream has a
// connection of its own in this one process; a stream waits for every ack before END, as the
// raw Python clients do. Prints one JSON line.
import { chunkText, connect, cpuSeconds, end, now, procStatus, usage } from "./_client.mjs";

const [workload, url, key, prefix, planArg] = process.argv.slice(2);
const plan = JSON.parse(planArg);
const SAMPLE_EVERY = 0.1;
const APP_THREADS = 1; // the main thread, which runs the event loop
const UNFINISHED = "Unfinished (still running at the harness deadline)";

// Sleep until `moment` (a now() reading); when late, still let I/O run once.
const until = (moment) => {
  const ms = (moment - now()) * 1000;
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
};

function percentile(values, q) {
  if (values.length === 0) return null;
  const ordered = [...values].sort((a, b) => a - b);
  const position = (ordered.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return ordered[low] + (ordered[high] - ordered[low]) * (position - low);
}

function mostAtOnce(spans) {
  const edges = spans.flatMap(([a, b]) => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let most = 0;
  let open = 0;
  for (const [, step] of edges) {
    open += step;
    most = Math.max(most, open);
  }
  return most;
}

class Peaks {
  constructor() {
    this.total = 0;
    this.beyondApp = 0;
  }

  sample() {
    const total = procStatus("Threads") ?? 0;
    this.total = Math.max(this.total, total);
    this.beyondApp = Math.max(this.beyondApp, total - APP_THREADS);
  }
}

class Run {
  constructor() {
    this.start = [now(), cpuSeconds()];
    this.end = this.start;
    this.startUsage = usage();
    this.endUsage = this.startUsage;
    this.deadline = this.start[0] + plan.deadline;
    this.streams = Array.from({ length: plan.streams }, (_, i) => ({
      due: this.start[0] + i / plan.open_rate, began: null, writable: null, done: null,
      error: null, detail: "",
    }));
    this.peaks = new Peaks();
    this.idlePeaks = new Peaks();
    this.idle = null;
  }

  failed(i, err) {
    const record = this.streams[i];
    if (record.error === null) {
      record.error = (err && err.name) || "Error";
      record.detail = String((err && err.message) || err).slice(0, 200);
    }
  }

  finish() {
    this.end = [now(), cpuSeconds()];
    this.endUsage = usage();
    for (const record of this.streams) {
      if (record.done === null && record.error === null) record.error = UNFINISHED;
    }
  }

  result(paced) {
    const ok = this.streams.filter((r) => r.error === null && r.writable !== null && r.done !== null);
    const opened = this.streams.filter((r) => r.writable !== null);
    const errors = {};
    const examples = {};
    for (const r of this.streams) {
      if (r.error === null) continue;
      errors[r.error] = (errors[r.error] ?? 0) + 1;
      if (!(r.error in examples)) examples[r.error] = r.detail;
    }
    const opens = opened.map((r) => (r.writable - r.began) * 1e3);
    const lags = this.streams.filter((r) => r.began !== null).map((r) => (r.began - r.due) * 1e3);
    const result = {
      streams: this.streams.length,
      wall: this.end[0] - this.start[0],
      cpu: this.end[1] - this.start[1],
      cpu_kernel: this.endUsage[0] - this.startUsage[0],
      switches: this.endUsage[1] - this.startUsage[1],
      open_p50_ms: percentile(opens, 0.5),
      open_p99_ms: percentile(opens, 0.99),
      lag_p50_ms: percentile(lags, 0.5),
      lag_p99_ms: percentile(lags, 0.99),
      most_open: mostAtOnce(opened.map((r) => [r.writable, r.done ?? this.end[0]])),
      rss_peak_kb: process.resourceUsage().maxRSS,
      failures: Object.values(errors).reduce((a, b) => a + b, 0),
      errors,
      error_examples: examples,
      raised: this.streams.flatMap((r, i) => (r.error === null ? [] : [i])),
      threads: this.peaks.total,
      sdk_threads: this.peaks.beyondApp,
      app_threads: APP_THREADS,
    };
    if (paced !== null) {
      const slips = ok.map((r) => (r.done - r.writable) / paced);
      result.slip_p50 = percentile(slips, 0.5);
      result.slip_p99 = percentile(slips, 0.99);
      result.slip_max = slips.length ? Math.max(...slips) : null;
    }
    if (this.idle !== null && this.idle.end !== undefined) {
      Object.assign(result, {
        idle_wall: this.idle.end[0] - this.idle.start[0],
        idle_cpu: this.idle.end[1] - this.idle.start[1],
        idle_rss_kb: this.idle.rssKb,
        idle_threads: this.idlePeaks.total,
        idle_sdk_threads: this.idlePeaks.beyondApp,
      });
    }
    return result;
  }
}

// A producer's stream: acks counted, and a wait until `upto` of them have come.
function acks(socket) {
  const state = { confirmed: 0, wake: null };
  socket.on("producer:ack", () => {
    state.confirmed += 1;
    if (state.wake !== null) {
      const wake = state.wake;
      state.wake = null;
      wake();
    }
  });
  return async (upto) => {
    while (state.confirmed < upto) await new Promise((resolve) => (state.wake = resolve));
  };
}

// Open stream i, run `body(socket)`, wait for every ack, END, disconnect; marks writable/done.
async function stream(record, i, body) {
  await until(record.due);
  record.began = now();
  const socket = await connect(url, key, `${prefix}-${i}`);
  try {
    record.writable = now();
    const confirmed = acks(socket);
    const sent = await body(socket, record.writable);
    await confirmed(sent);
    await end(socket, Math.max(0, sent - 1));
  } finally {
    socket.disconnect();
  }
  record.done = now();
}

async function crowd(run, one, conductor = null) {
  run.peaks.sample();
  const sampler = setInterval(() => run.peaks.sample(), SAMPLE_EVERY * 1000);
  const tasks = run.streams.map((record, i) => one(record, i).catch((err) => run.failed(i, err)));
  if (conductor !== null) conductor().catch(() => {});
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, run.deadline - now()) * 1000);
  });
  await Promise.race([Promise.all(tasks), deadline]);
  clearTimeout(timer);
  clearInterval(sampler);
  run.finish();
}

async function llm() {
  const chunks = Array.from({ length: plan.count }, (_, k) => JSON.stringify(chunkText(k, plan.size)));
  const run = new Run();
  await crowd(run, (record, i) =>
    stream(record, i, async (socket, start) => {
      for (let k = 0; k < plan.count; k++) {
        await until(start + k / plan.rate);
        socket.emit("producer:chunk", { seq: k, data: chunks[k] });
      }
      await until(start + plan.count / plan.rate);
      return plan.count;
    }),
  );
  return run.result(plan.count / plan.rate);
}

async function idle() {
  const run = new Run();
  let left = plan.streams;
  let allOpen;
  const opened = new Promise((resolve) => (allOpen = resolve));
  const arrive = () => {
    left -= 1;
    if (left === 0) allOpen();
    return true;
  };
  if (left === 0) allOpen();
  let go;
  const started = new Promise((resolve) => (go = resolve));
  const one = async (record, i) => {
    let arrived = false;
    try {
      await stream(record, i, async (socket) => {
        arrived = arrive();
        await started;
        socket.emit("producer:chunk", { seq: 0, data: JSON.stringify(chunkText(0, plan.size)) });
        return 1;
      });
    } finally {
      if (!arrived) arrive();
    }
  };
  const conductor = async () => {
    await Promise.race([opened, until(run.deadline)]);
    run.idle = { start: [now(), cpuSeconds()] };
    const stop = now() + plan.idle;
    while (now() < stop) {
      run.idlePeaks.sample();
      await until(Math.min(stop, now() + SAMPLE_EVERY * 5));
    }
    run.idle.end = [now(), cpuSeconds()];
    run.idle.rssKb = procStatus("VmRSS") ?? 0;
    go();
  };
  await crowd(run, one, conductor);
  return run.result(null);
}

const result = workload === "idle" ? await idle() : await llm();
console.log(JSON.stringify(result));
process.exit(0);
