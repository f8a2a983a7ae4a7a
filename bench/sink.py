"""An SMTP sink on loopback in its own process: one line per message, "recipient<TAB>unix time", to stdout."""
import asyncio
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        sys.stdout.write(f"{envelope.rcpt_tos[0]}\t{time.time()}\n")
        sys.stdout.flush()
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    try:
        asyncio.run(asyncio.sleep(10**6))
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
