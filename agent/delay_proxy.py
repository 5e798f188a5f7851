"""python -m agent.delay_proxy --delay-ms D [--jitter-ms J]

A delay line for TCP, started by a node agent inside one pod's network namespace (agent.pod_faults)
on a kernel without netem. The pod's new connections to the delayed destinations are redirected
here (iptables REDIRECT in the pod's nat OUTPUT); each is opened to its original destination
(SO_ORIGINAL_DST) D ms late, and every byte the pod sends on it arrives D ms (± J) late, in order;
answers come back at once. That is netem's egress delay, per connection rather than per packet.
Its own connections leave by the agent's group (core.agents.AGENT_GID), which the redirect exempts.

Prints the port it listens on, then serves. SIGTERM (the fault's revert, once new connections no
longer come here): no more delay; each connection still carried is closed once idle for IDLE_S,
between two exchanges, as a server closes an idle keep-alive connection (cutting one mid-request
would fail it); exits when none is left (the agent kills it after a grace). It dies with the
agent: nothing delays a pod longer than the agent that started it lives."""

import argparse
import asyncio
import random
import signal
import socket
import sys
import time

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h: where a REDIRECTed connection was going
CHUNK = 65536
IDLE_S = 0.5


def original_destination(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)  # a struct sockaddr_in
    return socket.inet_ntoa(raw[4:8]), int.from_bytes(raw[2:4], "big")


class Carried:
    """One connection through the line: its two writers, when a byte last moved, bytes queued."""

    def __init__(self, pod_out: asyncio.StreamWriter):
        self.writers, self.last, self.queued = [pod_out], time.monotonic(), 0

    def idle(self) -> bool:
        return self.queued == 0 and time.monotonic() - self.last >= IDLE_S

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


class DelayLine:
    def __init__(self, delay_s: float, jitter_s: float):
        self.delay_s, self.jitter_s, self.draining = delay_s, jitter_s, False
        self.connections = self.delayed_bytes = 0
        self.carried: set[Carried] = set()

    def lag_s(self) -> float:
        return 0.0 if self.draining else max(0.0, random.uniform(self.delay_s - self.jitter_s,
                                                                 self.delay_s + self.jitter_s))

    async def carry(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, late: bool, on: Carried) -> None:
        """source's bytes to sink until EOF (then half-closes sink); each chunk lag_s late when
        `late`, never ahead of the one before it (jitter reorders nothing). A reset of source is
        raised at once."""
        due: asyncio.Queue = asyncio.Queue()

        def send_at() -> float:
            return time.monotonic() + (self.lag_s() if late else 0)

        async def read() -> None:
            try:
                while chunk := await source.read(CHUNK):
                    on.queued, on.last = on.queued + 1, time.monotonic()
                    due.put_nowait((send_at(), chunk))
            except OSError as reset:  # a reset is never late
                due.put_nowait((0.0, reset))
                return
            due.put_nowait((send_at(), b""))

        reading, last = asyncio.create_task(read()), 0.0
        try:
            while True:
                at, chunk = await due.get()
                if isinstance(chunk, OSError):
                    raise chunk
                last = max(at, last)
                await asyncio.sleep(last - time.monotonic())
                if not chunk:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(chunk)
                await sink.drain()
                on.queued, on.last = on.queued - 1, time.monotonic()
                self.delayed_bytes += len(chunk) if late else 0
        finally:
            reading.cancel()

    async def relay(self, pod_in: asyncio.StreamReader, pod_out: asyncio.StreamWriter) -> None:
        on = Carried(pod_out)
        self.carried.add(on)
        self.connections += 1
        try:
            host, port = original_destination(pod_out.get_extra_info("socket"))
            await asyncio.sleep(self.lag_s())  # the SYN, late too
            up_in, upstream = await asyncio.open_connection(host, port)
            on.writers.append(upstream)
            to_up = asyncio.create_task(self.carry(pod_in, upstream, True, on))
            to_pod = asyncio.create_task(self.carry(up_in, pod_out, False, on))
            # the end: the destination closed (or reset) its side, or the pod's side was reset. The
            # pod closing its side only half-closes (an answer may still come); the destination's
            # close ends it whole, else a request the pod sends after it would go to a socket no one
            # reads any more, and hang instead of meeting the close it meets without the line
            while not (to_pod.done() or (to_up.done() and to_up.exception())):
                await asyncio.wait([w for w in (to_up, to_pod) if not w.done()], return_when=asyncio.FIRST_COMPLETED)
            for way in (to_up, to_pod):
                way.cancel()
                if way.done() and not way.cancelled():
                    way.exception()  # a reset is the end of this connection, no more
        except OSError:
            pass  # a refused connect: the pod sees its connection closed, as it would have
        finally:
            on.close()
            self.carried.discard(on)


async def serve(line: DelayLine) -> None:
    server = await asyncio.start_server(line.relay, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    server.close()
    line.draining = True
    while line.carried:
        for idle in [on for on in line.carried if on.idle()]:
            idle.close()
        await asyncio.sleep(0.1)
    print(f"{line.connections} connection(s) delayed, {line.delayed_bytes} byte(s) sent late", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent.delay_proxy")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0)
    args = parser.parse_args()
    asyncio.run(serve(DelayLine(args.delay_ms / 1000, args.jitter_ms / 1000)))


if __name__ == "__main__":
    main()
