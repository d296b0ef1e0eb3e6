"""Regenerate the README screenshots (docs/img) from a finished demo run.

    .venv/bin/python docs/make_screenshots.py [--results results] [--out docs/img]

Renders results/reports/{P01,P05,cohort}.html (and P05's clone-to-cell section alone) in headless Chromium (Debian `chromium`,
`make sysdeps`) at a fixed window size, so the images change only when the reports do.
P01 is the demo's low-toxicity patient, P05 the high-toxicity one.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SHOTS = {
    "report_P01.png": ("P01.html", "1200,2600"),
    "report_P05.png": ("P05.html", "1200,2600"),
    "report_P05_clones.png": ("P05.html#clone-cells", "1200,1800"),
    "cohort.png": ("cohort.html", "1200,1400"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--out", default="docs/img")
    a = ap.parse_args(argv)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("chromium not found (make sysdeps)", file=sys.stderr)
        return 1
    reports = Path(a.results).resolve() / "reports"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        for name, (page, size) in SHOTS.items():
            file, _, only = page.partition("#")
            uri = (reports / file).as_uri()
            if only:
                # one section alone: a copy of the page that hides the other sections
                html = (
                    (reports / file)
                    .read_text()
                    .replace("</style>", f"main>*:not(#{only}){{display:none}}</style>", 1)
                )
                copy = Path(profile) / f"{only}_{file}"
                copy.write_text(html)
                uri = copy.as_uri()
            subprocess.run(
                [
                    exe,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--user-data-dir={profile}",
                    f"--window-size={size}",
                    f"--screenshot={out / name}",
                    uri,
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
