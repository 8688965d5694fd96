// A benchmark sink on the canonical Socket.IO server: the producer half of stream-v1, nothing
// stored but counts, so that the producer is what gets measured.
//
//   node sink.mjs --api-key KEY [--ack-delay-ms N]
//
// Prints {"url": ...} once listening on 127.0.0.1 (a free port). GET /count?streamId=ID reads one
// stream's counts, with the wall-clock times (ms since the epoch, Date.now()) at which its last
// connection was accepted (connectedAt) and its first chunk was stored (firstChunkAt);
// GET /streams?prefix=P sums every stream whose id starts with P (with &chunks=N, also how many
// of them are whole: seq 0..N-1 once each, ended completed, and their ids);
// GET /cpu is the sink's own CPU seconds so far.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: args } = parseArgs({
  options: {
    "api-key": { type: "string" },
    "ack-delay-ms": { type: "string", default: "0" },
  },
});
const apiKey = args["api-key"];
if (!apiKey) {
  console.error("sink.mjs: --api-key is required");
  process.exit(2);
}
const ackDelayMs = Number(args["ack-delay-ms"]);
const expectedAuthorization = `Bearer ${apiKey}`;

// streamId -> counts; only numbers are kept, never the chunks
const streams = new Map();
let redisCounter = 0;
const nextRedisId = () => `${Date.now()}-${redisCounter++}`;

function counts(streamId, overwrite) {
  let state = streams.get(streamId);
  if (state === undefined || overwrite) {
    state = { chunks: 0, lastSeq: null, ended: false, reason: null, gaps: 0, dups: 0,
      endLastSeqMismatch: 0, connections: 0, connectedAt: null, firstChunkAt: null };
    streams.set(streamId, state);
  }
  return state;
}

// Delayed acks keep their order: every timer has the same delay and Node fires them in order.
const later = ackDelayMs > 0 ? (fn) => setTimeout(fn, ackDelayMs) : (fn) => fn();

const http = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  let body;
  if (url.pathname === "/count") {
    body = streams.get(url.searchParams.get("streamId") ?? "") ?? null;
  } else if (url.pathname === "/streams") {
    const prefix = url.searchParams.get("prefix") ?? "";
    const expected = url.searchParams.has("chunks") ? Number(url.searchParams.get("chunks")) : null;
    body = { streams: 0, chunks: 0, completed: 0, gaps: 0, dups: 0, endLastSeqMismatch: 0 };
    if (expected !== null) {
      body.whole = 0;
      body.wholeIds = [];
    }
    for (const [id, s] of streams) {
      if (!id.startsWith(prefix)) continue;
      const completed = s.ended && s.reason === "completed";
      body.streams += 1;
      body.chunks += s.chunks;
      body.completed += completed ? 1 : 0;
      body.gaps += s.gaps;
      body.dups += s.dups;
      body.endLastSeqMismatch += s.endLastSeqMismatch;
      if (expected !== null && completed && s.chunks === expected && s.gaps === 0 &&
          s.dups === 0 && s.endLastSeqMismatch === 0 &&
          s.lastSeq === (expected > 0 ? expected - 1 : null)) {
        body.whole += 1;
        body.wholeIds.push(id);
      }
    }
  } else if (url.pathname === "/cpu") {
    const { user, system } = process.cpuUsage();
    body = { cpu: (user + system) / 1e6 };
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
});

const io = new Server(http, { transports: ["websocket"], serveClient: false });

io.use((socket, next) => {
  const auth = socket.handshake.auth ?? {};
  if (socket.handshake.headers.authorization !== expectedAuthorization) {
    return next(new Error("invalid or missing API key"));
  }
  if (auth.role !== "producer" || auth.version !== "stream-v1") {
    return next(new Error("expected role producer and version stream-v1"));
  }
  if (typeof auth.streamId !== "string" || auth.streamId.length === 0) {
    return next(new Error("streamId must be a non-empty string"));
  }
  next();
});

io.on("connection", (socket) => {
  const { streamId, overwriteExistingStream } = socket.handshake.auth;
  const state = counts(streamId, overwriteExistingStream === true);
  if (state.ended) {
    socket.emit("stream:error", { message: "the stream has ended", code: "stream-ended",
      retryInMs: null });
    socket.disconnect(true);
    return;
  }
  state.connections += 1;
  state.connectedAt = Date.now();
  socket.emit("stream:info", { streamId, deploymentId: "bench-sink", lastSeq: state.lastSeq,
    ended: false });

  socket.on("producer:chunk", (chunk) => {
    const seq = chunk.seq;
    const expected = state.lastSeq === null ? 0 : state.lastSeq + 1;
    if (state.firstChunkAt === null && seq >= expected) state.firstChunkAt = Date.now();
    if (seq === expected) {
      state.chunks += 1;
      state.lastSeq = seq;
    } else if (seq < expected) {
      state.dups += 1;
    } else {
      state.gaps += 1;
      state.chunks += 1;
      state.lastSeq = seq;
    }
    const redisId = nextRedisId();
    later(() => socket.emit("producer:ack", { seq, redisId }));
  });

  socket.on("producer:end", (end, callback) => {
    const lastSeq = state.lastSeq === null ? 0 : state.lastSeq;
    if (end.lastSeq !== lastSeq) state.endLastSeqMismatch += 1;
    state.ended = true;
    state.reason = end.reason;
    const endRedisId = nextRedisId();
    if (typeof callback === "function") {
      later(() => callback({ success: true, endRedisId }));
    }
  });

  socket.on("producer:heartbeat", () => {});
});

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});

const stop = () => io.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
