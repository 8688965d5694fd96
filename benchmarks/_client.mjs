// What the Node producers share: a stream-v1 producer connection, END with its answer, the
// chunks, the clocks and the process's own readings.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

export const now = () => performance.now() / 1000;

export const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// The process's kernel CPU seconds and its context switches (voluntary and not).
export const usage = () => {
  const { systemCPUTime, voluntaryContextSwitches, involuntaryContextSwitches } =
    process.resourceUsage();
  return [systemCPUTime / 1e6, voluntaryContextSwitches + involuntaryContextSwitches];
};

// A chunk whose JSON encoding is `size` characters long, as the Python contenders make it.
export const chunkText = (i, size) =>
  `t${String(i).padStart(7, "0")}${"x".repeat(Math.max(0, size - 10))}`;

// A number from /proc/self/status (VmRSS in kB, Threads), or null off Linux.
export function procStatus(field) {
  try {
    const line = readFileSync("/proc/self/status", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

// A producer socket of its own (one stream per connection), resolved once stream:info is read.
export function connect(url, key, stream) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      extraHeaders: { Authorization: `Bearer ${key}` },
      auth: { role: "producer", streamId: stream, version: "stream-v1", sdkVersion: "bench" },
    });
    const fail = (err) => {
      socket.disconnect();
      reject(err);
    };
    socket.once("stream:info", () => resolve(socket));
    socket.once("connect_error", fail);
    socket.once("stream:error", (err) => fail(new Error(err.message)));
  });
}

// END with its Socket.IO ack; resolves with the answer once the server says success.
export function end(socket, lastSeq) {
  return new Promise((resolve, reject) => {
    socket.emit("producer:end", { reason: "completed", lastSeq }, (answer) => {
      if (answer && answer.success) resolve(answer);
      else reject(new Error(`END refused: ${JSON.stringify(answer)}`));
    });
  });
}
