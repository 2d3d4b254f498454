"""The real app (``run_app``, as bare ``lmtui`` runs it), already training the command given after ``--``
(or, with nothing after it, as it opens: a training child started ahead soon waits for its job).

Used by test_tui_hangup.py: ``python auto_app.py PIDFILE -- python -m lmtui train …``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lmtui.tui import app as app_module

argv = sys.argv[sys.argv.index("--") + 1 :]
Path(sys.argv[1]).write_text(str(os.getpid()), encoding="utf-8")


class TrainingApp(app_module.LmtuiApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # relative paths follow the subclass

    async def on_mount(self) -> None:  # Textual runs LmtuiApp.on_mount as well
        if argv:
            await self.start_training(argv)


app_module.HANGUP_GRACE = 60.0  # the test wants the normal exit, not the watchdog's
app_module.make_app = lambda **kwargs: TrainingApp(**{**kwargs, "mode": "training" if argv else None})
app_module.run_app()
