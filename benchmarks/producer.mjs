// The Node socket.io-client producer: the stack's ceiling, doing the same emit-and-ack work as
// the Python contenders (a window of unconfirmed chunks, every chunk confirmed, then END).
//
//   node producer.mjs single  URL KEY STREAM_ID CHUNKS SIZE WINDOW
//   node producer.mjs connect URL KEY STREAM_PREFIX COUNT
//
// Prints one JSON line with the same fields as the Python contenders (_child.py).
import { chunkText, connect as open, cpuSeconds, end, now } from "./_client.mjs";

const [workload, url, key, streamId, countArg, sizeArg, windowArg] = process.argv.slice(2);
const count = Number(countArg);
const connect = (stream) => open(url, key, stream);

async function single() {
  const size = Number(sizeArg);
  const window = Number(windowArg);
  const data = Array.from({ length: count }, (_, i) => chunkText(i, size));
  const t0 = now();
  const socket = await connect(streamId);
  const t1 = now();
  const c1 = cpuSeconds();
  let confirmed = 0;
  let wake = null;
  socket.on("producer:ack", () => {
    confirmed += 1;
    if (wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  });
  let firstSend = null;
  for (let seq = 0; seq < count; seq++) {
    while (seq - confirmed >= window) await new Promise((r) => (wake = r));
    socket.emit("producer:chunk", { seq, data: JSON.stringify(data[seq]) });
    if (firstSend === null) firstSend = now() - t0;
  }
  while (confirmed < count) await new Promise((r) => (wake = r));
  await end(socket, Math.max(0, count - 1));
  const t2 = now();
  const c2 = cpuSeconds();
  socket.disconnect();
  return {
    connect_wall: t1 - t0, first_send: firstSend, wall: t2 - t1, cpu: c2 - c1, confirmed,
    rss_peak_kb: process.resourceUsage().maxRSS,
  };
}

async function connects() {
  // one warm-up, then `count` of each: a stream made writable; a stream's first send
  const connects = [];
  const firstSends = [];
  for (let i = 0; i <= count; i++) {
    let t0 = now();
    let socket = await connect(`${streamId}-c${i}`);
    connects.push(now() - t0);
    await end(socket, 0);
    socket.disconnect();
    t0 = now();
    socket = await connect(`${streamId}-f${i}`);
    const acked = new Promise((resolve) => socket.once("producer:ack", resolve));
    socket.emit("producer:chunk", { seq: 0, data: JSON.stringify("x") });
    firstSends.push(now() - t0);
    await acked;
    await end(socket, 0);
    socket.disconnect();
  }
  return { connects: connects.slice(1), first_sends: firstSends.slice(1) };
}

const result = workload === "connect" ? await connects() : await single();
console.log(JSON.stringify(result));
process.exit(0);
