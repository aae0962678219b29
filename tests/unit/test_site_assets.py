"""The site's files in assets/web/, checked without a browser."""

import json
import re
import xml.etree.ElementTree as ET

from mysfits_lab.paths import data_dir
from mysfits_lab.steps.website import picture_stem, web_dir

STEMS = [
    "chimera", "cyclops", "dragon", "gorgon", "haetae", "yeti",
    "kraken", "nessie", "mandrake", "pegasus", "phoenix", "troll",
]  # fmt: skip


def test_every_species_has_a_small_wellformed_picture():
    for name in [*STEMS, "mysfit-unknown", "logo"]:
        path = web_dir() / "images" / f"{name}.svg"
        assert path.is_file(), f"missing picture {path}"
        assert path.stat().st_size < 4096, f"{path.name} is {path.stat().st_size} bytes"
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        # Without an intrinsic size an <img> of the SVG may report naturalWidth 0.
        assert root.get("width") and root.get("height"), f"{path.name} needs width/height"
    mysfits = json.loads((data_dir() / "mysfits-response.json").read_text(encoding="utf-8"))
    assert {picture_stem(m) for m in mysfits["mysfits"]} <= set(STEMS)


def test_site_loads_nothing_from_other_hosts():
    allowed = re.compile(r"https?://(www\.w3\.org/2000/svg|127\.0\.0\.1)")
    for path in web_dir().rglob("*"):
        if path.suffix in {".html", ".css", ".js", ".svg"}:
            for url in re.findall(r"https?://[^\s\"'<>)]+", path.read_text(encoding="utf-8")):
                assert allowed.match(url), f"{path.relative_to(web_dir())} refers to {url}"


def test_index_loads_every_script_after_the_config():
    html = (web_dir() / "index.html").read_text(encoding="utf-8")
    loaded = re.findall(r'<script src="([^"]+)"( defer)?></script>', html)
    assert loaded[0] == ("config.js", "")  # a plain script: it must run before the others
    assert loaded[1] == ("js/app.js", " defer")  # the others hook into window.mysfitsSite
    shipped = {f"js/{p.name}" for p in (web_dir() / "js").glob("*.js")}
    assert {src for src, _ in loaded[1:]} == shipped
    assert all(defer for _, defer in loaded[1:])
