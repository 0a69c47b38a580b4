// Load generator for scripts/bench/ws_peak.py: a Node `ws` client, so that the loader is not what caps a server's
// peak (the Python loader of ws.py sends ~5.5k msg/s at most). It reads one JSON command per line on stdin and
// answers one JSON line per command on stdout:
//
//   {"cmd":"connect","mode":"edutrack"|"bare","urls":[...],"clients":[{"id","token","channel","room","index","url"}]}
//       edutrack: subprotocols edutrack.v1 + bearer.<token>, wait for ready, subscribe to the class channel;
//       bare: join the room. Answers {"seconds","failures"}.
//   {"cmd":"fanout","rate","duration","rooms","sendersPerRoom","warmup","totalSenders"}
//       this process's share of `rate` chat.send/s (senders: index < sendersPerRoom; each socket <= 2 msg/s when
//       the driver sizes sendersPerRoom so), the send time stamped in the text ("t:<epoch s>:<n>") as ws.py's
//       Python workers do; latency = receive - send on every member, for messages sent after the warm-up;
//       `inWindow`: those received before sending stopped. Answers the latency histogram (0.1 ms buckets),
//       sent/measured counts, expected deliveries (measured sends x connected members of the sender's room),
//       the achieved send rate, the loader's own CPU, and `duplicates`: acks that answered a send as a resend of
//       an earlier one (none, since each send's client_msg_id is unique in the run).
//   {"cmd":"drop"} closes every socket; {"cmd":"stop"} exits.
//
// A room's members all live in one loader process (the driver splits clients by room), so send and receive
// times come from the same clock.
'use strict';
const readline = require('readline');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

const nowS = () => (performance.timeOrigin + performance.now()) / 1000;
let clients = [];
const roomSize = new Map(); // room -> connected members (in this process: all of the room's members)
const st = { measure: false, from: 0, until: 0, hist: new Map(), received: 0, inWindow: 0, errors: {}, duplicates: 0 };
// Numbers every chat.send of the process, over all steps: a client_msg_id must never repeat. Until 2026-12-06 it
// restarted at 0 each step, so a sender could reuse an id of an earlier step; EduTrack answered those as resends
// (an ack with duplicate: true, nothing stored or delivered: the idempotency the protocol promises), and its steps
// came out 0.16-0.49 % short of the expected deliveries (docs/benchmarks.md, "Memory per socket and connect time").
let sendSeq = 0;

function onMessage(data) {
  const frame = JSON.parse(data);
  if (frame.type === 'error') st.errors[frame.code] = (st.errors[frame.code] || 0) + 1;
  if (frame.type === 'ack' && frame.duplicate) st.duplicates += 1;
  if (frame.type !== 'chat.message') return;
  st.received += 1;
  const text = frame.text || '';
  if (!st.measure || !text.startsWith('t:')) return;
  const sentAt = parseFloat(text.slice(2, text.indexOf(':', 2)));
  if (sentAt < st.from) return;
  const now = nowS();
  const bucket = Math.max(0, Math.floor((now - sentAt) * 10000)); // 0.1 ms
  st.hist.set(bucket, (st.hist.get(bucket) || 0) + 1);
  if (now <= st.until) st.inWindow += 1;
}

function connectOne(client, mode) {
  return new Promise((resolve) => {
    const protocols = mode === 'edutrack' ? ['edutrack.v1', `bearer.${client.token}`] : [];
    const ws = new WebSocket(client.url, protocols, { perMessageDeflate: false, maxPayload: 0 });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      if (!ok) ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 60000);
    ws.on('error', (err) => { process.stderr.write(`connect failed: ${err.message}\n`); clearTimeout(timer); finish(false); });
    ws.on('close', () => { client.closed = true; });
    if (mode === 'bare') ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room: client.channel })));
    const handshake = (data) => {
      const frame = JSON.parse(data);
      if (frame.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe', channel: client.channel }));
      if (frame.type !== 'subscribed') return;
      ws.off('message', handshake);
      ws.on('message', onMessage);
      client.ws = ws;
      client.closed = false;
      clearTimeout(timer);
      finish(true);
    };
    ws.on('message', handshake);
  });
}

async function connect({ mode, clients: list }) {
  clients = list;
  const started = performance.now();
  let failures = 0;
  let next = 0;
  const lane = async () => { // 100 handshakes at a time, as ws.py's workers
    while (next < clients.length) {
      const client = clients[next++];
      if (!(await connectOne(client, mode))) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: 100 }, lane));
  roomSize.clear();
  for (const c of clients) if (c.ws) roomSize.set(c.room, (roomSize.get(c.room) || 0) + 1);
  return { seconds: (performance.now() - started) / 1000, failures };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function fanout({ rate, duration, sendersPerRoom, warmup, totalSenders }) {
  const senders = clients.filter((c) => c.index < sendersPerRoom && c.ws);
  const share = (rate * senders.length) / totalSenders;
  Object.assign(st, { hist: new Map(), received: 0, inWindow: 0, measure: true, errors: {}, duplicates: 0 });
  st.from = nowS() + warmup;
  st.until = nowS() + duration;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0, measured = 0, expected = 0, failed = 0, position = 0, seq = 0, elapsed = 0;
  while ((elapsed = (performance.now() - t0) / 1000) < duration) {
    // Catch up to rate x elapsed: a late timer does not lower the rate sent.
    const due = Math.floor(share * elapsed) - sent - failed;
    for (let k = 0; k < due; k++) {
      const c = senders[position++ % senders.length];
      const now = nowS();
      const frame = { type: 'chat.send', channel: c.channel, text: `t:${now}:${seq++}` };
      if (c.mode === 'edutrack') frame.client_msg_id = `${c.id}-${process.pid}-${sendSeq++}`;
      if (c.closed) { failed += 1; continue; }
      c.ws.send(JSON.stringify(frame));
      sent += 1;
      if (now >= st.from) { measured += 1; expected += roomSize.get(c.room) || 0; }
    }
    await sleep(5);
  }
  const sendSeconds = (performance.now() - t0) / 1000;
  const sendCpu = process.cpuUsage(cpu0);
  await sleep(3000); // let deliveries drain, as ws.py
  st.measure = false;
  const cpu = process.cpuUsage(cpu0);
  return {
    sent, measured, failed, expected, hist: Object.fromEntries(st.hist), inWindow: st.inWindow,
    received: st.received, errors: st.errors, duplicates: st.duplicates, asked: share, achieved: sent / sendSeconds,
    cpuSendingS: (sendCpu.user + sendCpu.system) / 1e6, sendSeconds, cpuS: (cpu.user + cpu.system) / 1e6,
    closed: clients.filter((c) => c.closed).length,
  };
}

function drop() {
  for (const c of clients) if (c.ws) { c.ws.terminate(); c.ws = null; }
  return null;
}

const commands = { connect, fanout, drop };
const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  const command = JSON.parse(line);
  queue = queue.then(async () => {
    if (command.cmd === 'stop') { drop(); process.exit(0); }
    if (command.cmd === 'connect') for (const c of command.clients) c.mode = command.mode;
    const answer = await commands[command.cmd](command);
    process.stdout.write(JSON.stringify({ cmd: command.cmd, answer }) + '\n');
  });
});
