// A bare Node `ws` broadcast server with the room shape of run_bare_server in scripts/bench/ws.py: no auth, no
// database, no Redis. {"type":"join","room":R} -> {"type":"subscribed","channel":R};
// {"type":"chat.send","text":T} -> {"type":"chat.message","channel":R,"text":T} to every member of the room,
// the sender included. The frame is serialised once per message, as the aiohttp baseline does.
//
//     node scripts/bench/node/server.js --port 18733
'use strict';
const { WebSocketServer } = require('ws');

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 18733;
const rooms = new Map(); // room -> Set of sockets

// perMessageDeflate off: the aiohttp baseline and EduTrack do not compress either.
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', perMessageDeflate: false, maxPayload: 0 });
wss.on('connection', (ws) => {
  let room = null;
  ws.on('message', (data) => {
    const frame = JSON.parse(data);
    if (frame.type === 'join') {
      room = frame.room;
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room).add(ws);
      ws.send(JSON.stringify({ type: 'subscribed', channel: room }));
    } else if (frame.type === 'chat.send' && room !== null) {
      const out = JSON.stringify({ type: 'chat.message', channel: room, text: frame.text });
      for (const peer of rooms.get(room)) peer.send(out);
    }
  });
  ws.on('close', () => {
    if (room !== null) rooms.get(room).delete(ws);
  });
  ws.on('error', () => {});
});
wss.on('listening', () => process.stdout.write(JSON.stringify({ listening: port }) + '\n'));
process.on('SIGTERM', () => process.exit(0));
