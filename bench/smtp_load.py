"""The SMTP ceiling: `python -m bench.smtp_load PORT COUNT` sends COUNT small messages
over 4 reused aiosmtplib connections (Ground Control's default pool size)."""

from __future__ import annotations

import asyncio
import sys
from email.message import EmailMessage

import aiosmtplib

POOL = 4


async def main(port: int, count: int) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while not queue.empty():
            i = queue.get_nowait()
            message = EmailMessage()
            message["From"] = "bench@groundcontrol.local"
            message["To"] = "ada@example.com"
            message["Subject"] = f"Update on bench-{i}"
            message.set_content(f"Your reference is bench-{i}.")
            await client.send_message(message)
        await client.quit()

    await asyncio.gather(*(connection() for _ in range(POOL)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
