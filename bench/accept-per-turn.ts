/**
 * @module Benchmark: how many new connections a busy Node process accepts per event-loop turn. A child
 * process opens 200 connections at once while this one keeps its loop busy (each turn 100 ms of work,
 * the next turn queued with setImmediate, as a saturated server's is); the kernel completes every
 * handshake (the backlog holds them) and the count shows what `accept()` takes per turn. It explains the
 * 30–60 s first requests on new connections in bench/http-many-users.ts: a server whose turns last
 * 300 ms accepts about three connections a second, whatever its backlog.
 *
 * Run: npx tsx bench/accept-per-turn.ts [turns=8] [connections=200]
 */
import { fork } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { loadavg } from 'node:os';

const [turns = 8, connections = 200] = process.argv.slice(2).map(Number);

if (process.env.ACCEPT_PER_TURN_PORT) {
  const port = Number(process.env.ACCEPT_PER_TURN_PORT);
  const sockets: Socket[] = [];
  process.once('message', () => {
    for (let i = 0; i < connections; i++)
      sockets.push(connect(port, '127.0.0.1').on('error', () => undefined));
    process.send!('connecting');
  });
  process.on('disconnect', () => process.exit(0));
} else {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const port = (server.address() as { port: number }).port;
  const child = fork(import.meta.filename, process.argv.slice(2), {
    env: { ...process.env, ACCEPT_PER_TURN_PORT: String(port) },
    execArgv: ['--import', 'tsx'],
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  await new Promise((r) => setTimeout(r, 500));
  child.send('go');
  await new Promise((resolve) => child.once('message', resolve));
  const perTurn: number[] = [];
  await new Promise<void>((resolve) => {
    let last = accepted;
    const turn = () => {
      const until = Date.now() + 100;
      while (Date.now() < until); // one busy turn
      perTurn.push(accepted - last);
      last = accepted;
      if (perTurn.length < turns) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
  process.stdout.write(
    `${JSON.stringify({ node: process.version, uv: process.versions.uv, connections, acceptedPerTurn: perTurn, loadAverage: loadavg().map((l) => +l.toFixed(2)) })}\n`,
  );
  child.kill();
  server.close();
  process.exit(0);
}
