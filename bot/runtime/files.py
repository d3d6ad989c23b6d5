"""Files rendered after the commit: a reply's report spreadsheet or chart, in a worker thread.

The unit of work reads the counts and keeps the report; drawing its chart (a province's takes
over a second) happens here, after the commit, off the event loop, so neither the database nor
anyone else's answer waits for it. Must not import any platform library.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.chat.messages import Attachment, Outbound
from bot.reports.files import render_file


async def rendered(out: Outbound) -> Outbound:
    """The answer with every file's bytes, rendering what is still a report."""
    if all(reply.attachment is None or reply.attachment.ready for reply in out.replies):
        return out
    replies = []
    for reply in out.replies:
        attachment = reply.attachment
        if attachment is not None and not attachment.ready:
            reply = replace(reply, attachment=await _render(attachment))
        replies.append(reply)
    return replace(out, replies=replies)


async def _render(attachment: Attachment) -> Attachment:
    assert attachment.report is not None
    content = await asyncio.to_thread(
        render_file, attachment.report, attachment.filename, attachment.locale
    )
    return attachment.rendered(content)
