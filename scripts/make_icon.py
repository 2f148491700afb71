"""Draw the integration's brand icon: brand/icon.png (256 px) and icon@2x.png (512 px).

A white handset with sound waves on a red rounded square: an alarm that calls you.
Home Assistant shows custom_components/twsms_voice/brand/ for the integration; the
@2x file serves high-density screens. Run with the project's venv:
.venv/bin/python scripts/make_icon.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
SCALE = 4  # draw large, then shrink, for smooth edges
BRAND = Path(__file__).parent.parent / "custom_components/twsms_voice/brand"
OUTPUTS = {BRAND / "icon.png": SIZE, BRAND / "icon@2x.png": 2 * SIZE}


def main() -> None:
    """Draw the icon once, large, and save it at each size."""
    big = SIZE * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (0, 0, big - 1, big - 1), radius=56 * SCALE, fill=(214, 40, 40)
    )

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (int(x0 * SCALE), int(y0 * SCALE), int(x1 * SCALE), int(y1 * SCALE))

    white = (255, 255, 255)
    # Handset: two ear/mouth pieces joined by a thick arc.
    draw.arc(box(40, 52, 176, 188), start=100, end=260, fill=white, width=30 * SCALE)
    draw.rounded_rectangle(box(70, 40, 118, 84), radius=12 * SCALE, fill=white)
    draw.rounded_rectangle(box(70, 156, 118, 200), radius=12 * SCALE, fill=white)
    # Sound waves.
    for radius, width in ((48, 12), (78, 12), (108, 12)):
        draw.arc(
            box(128 - radius, 120 - radius, 128 + radius, 120 + radius),
            start=-45,
            end=45,
            fill=white,
            width=width * SCALE,
        )
    BRAND.mkdir(parents=True, exist_ok=True)
    for path, size in OUTPUTS.items():
        image.resize((size, size), Image.Resampling.LANCZOS).save(path, optimize=True)


if __name__ == "__main__":
    main()
