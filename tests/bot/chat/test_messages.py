"""An answer kept with its update comes back the same: texts with their data (names full of
markup characters stay data), buttons, edits, notices, files and the reports files are drawn
from."""

from __future__ import annotations

import datetime as dt

from bot.chat.messages import Attachment, Button, Outbound, Reply, decode, encode
from bot.i18n import Words
from bot.reports.model import Goal, Line, Report
from bot.rich import bold, lines, t

NAME = 'Xóm <Trại> & "Co" 🌾'


def test_an_answer_comes_back_from_json_as_it_was() -> None:
    report = Report(
        unit_code="00070",
        unit_name=NAME,
        unit_level=2,
        year=2026,
        lines=(
            Line("1", "Thôn 1", households=10, recognised=7, family_target=Goal(70.0, "default")),
        ),
        total=Line("00070", NAME, households=10, recognised=7),
        generated_at=dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC),
        words=Words("phường", "tổ dân phố", "tổ dân phố"),
    )
    out = Outbound(
        [
            Reply(
                lines(bold(t("Hộ {name}", name=NAME)), t("{n} hộ, {share}", n=3, share=0.5)),
                ((Button("✅ Có", "a:1:2"), Button("❌ Không", "a:1:3")),),
                edit=True,
            ),
            Reply(t("Gõ số"), expects_text=True),
            Reply(
                t("Báo cáo"),
                attachment=Attachment("bao-cao.png", kind="photo", report=report, locale="vi"),
            ),
            Reply(t("Tệp"), attachment=Attachment("danh-sach.csv", b"\x00\xffma,so\n")),
        ],
        notice=t("Không phải thôn của bạn: {v}", v=NAME),
        alert=True,
        wake_reminders=True,
    )
    back = decode(encode(out))
    assert back == out
    assert back.replies[0].text.html() == out.replies[0].text.html()
    assert "&lt;Trại&gt; &amp;" in back.replies[0].text.html()
