"""Figures with Chinese labels: a CJK font chosen once for matplotlib.

The image installs Debian's fonts-wqy-microhei (small, Simplified and Traditional Chinese);
elsewhere any of the common CJK fonts below is used, or the file named by NLPFACTORY_CJK_FONT.
Without one, matplotlib draws Chinese as empty boxes, so a warning says how to install one.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

# Family names, in the order preferred, and file names to look for when matplotlib's font
# cache predates the font's install.
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                "Source Han Sans CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC")
CJK_FILES = ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf",
             "SourceHanSansSC-Regular.otf", "simhei.ttf", "msyh.ttc")
INSTALL_HINT = ("install a CJK font (Debian/Ubuntu: apt-get install fonts-wqy-microhei) "
                "or point NLPFACTORY_CJK_FONT at a .ttf/.ttc/.otf file")


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a CJK font matplotlib can use, registering it if needed; None if none."""
    from matplotlib import font_manager

    explicit = os.environ.get("NLPFACTORY_CJK_FONT")
    if explicit:
        if not Path(explicit).is_file():
            warnings.warn(f"NLPFACTORY_CJK_FONT={explicit} is not a file; {INSTALL_HINT}", stacklevel=2)
            return None
        font_manager.fontManager.addfont(explicit)
        return font_manager.FontProperties(fname=explicit).get_name()
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        if Path(path).name in CJK_FILES:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def has_cjk(texts) -> bool:
    return any(any("\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"
                   for ch in str(t)) for t in texts)


def font_context(texts):
    """rc settings for a figure showing `texts`: Latin from the default font, CJK characters
    from the CJK font (matplotlib falls back per glyph along the family list)."""
    import matplotlib

    family = cjk_font() if has_cjk(texts) else None
    if has_cjk(texts) and family is None:
        warnings.warn(f"no CJK font found, so Chinese labels will draw as empty boxes; {INSTALL_HINT}", stacklevel=3)
    if family is None:
        return matplotlib.rc_context()
    # Concrete family names, not the generic "sans-serif": a Text keeps its family list and
    # resolves generic names at draw time, which may be after this context has ended.
    return matplotlib.rc_context({"font.family": ["DejaVu Sans", family]})
