"""Render the README's screenshot: the demo inbox, headless, as SVG.

.venv/bin/python scripts/screenshot.py [docs/screenshot.svg]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main(dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OMNITUI_DATA_DIR"] = tmp
        from omnitui.demo import seed_demo
        from omnitui.runtime import make_runtime
        from omnitui.tui.app import make_app

        rt = make_runtime(demo=True)
        rt.config = rt.config.__class__(**{**rt.config.__dict__, "agent_name": "alice"})
        seed_demo(rt)
        app = make_app(rt, poll=False)
        async with app.run_test(size=(120, 34)) as pilot:
            await pilot.pause(0.5)
            app.save_screenshot(filename=dest.name, path=str(dest.parent))
        rt.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.svg"
    asyncio.run(main(target))
    print(f"wrote {target}")
