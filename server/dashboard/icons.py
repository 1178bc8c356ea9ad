"""The app's icon: ``static/icon.svg`` and the PNGs drawn from the same shapes with Pillow.

``python -m server.dashboard.icons`` rewrites ``static/icon-192.png`` and ``static/icon-512.png``
(committed; run it after changing :data:`SHAPES`). The icon is a traffic light on green, with
room for Android's maskable safe zone.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHAPES", "write_pngs"]

STATIC = Path(__file__).resolve().parent / "static"
#: On a 512 × 512 canvas: the background, the light's housing and its three lamps.
SHAPES = {
    "background": ("#1b5e20", (0, 0, 512, 512), 96),
    "housing": ("#212121", (186, 96, 326, 416), 56),
    "lamps": (("#F44336", 256, 160), ("#FFEB3B", 256, 256), ("#4CAF50", 256, 352)),
    "lamp_radius": 40,
}


def write_pngs(sizes: tuple[int, ...] = (192, 512), out: Path = STATIC) -> list[Path]:
    from PIL import Image, ImageDraw

    written = []
    for size in sizes:
        scale = 4 * size / 512  # drawn at 4× and scaled down: smooth edges
        image = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        for name in ("background", "housing"):
            colour, box, radius = SHAPES[name]
            draw.rounded_rectangle([v * scale for v in box], radius=radius * scale, fill=colour)
        r = SHAPES["lamp_radius"] * scale
        for colour, x, y in SHAPES["lamps"]:
            draw.ellipse([x * scale - r, y * scale - r, x * scale + r, y * scale + r], fill=colour)
        path = out / f"icon-{size}.png"
        image.resize((size, size), Image.LANCZOS).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_pngs():
        print(written)
