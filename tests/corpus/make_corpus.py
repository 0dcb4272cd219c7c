#!/usr/bin/env python3
"""Writes the bad-input corpus (tests/corpus/) that tests/tests/bad_input.rs checks: payloads a
buggy or hostile publisher could send, and uploads that are not scoreboards. Each file's
expected outcome is in expected.json. Re-run only to change the corpus; the files are committed.

Usage: python3 tests/corpus/make_corpus.py   (needs Pillow for the one real picture)
"""
import json
import pathlib
import struct
import zlib

here = pathlib.Path(__file__).parent
A = "9e6ad231-e1e2-449f-968e-b81f6952cf75"
expected = {}


def payload(subject, name, body, field):
    path = here / "payloads" / subject / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
    expected[f"payloads/{subject}/{name}"] = {"field": field}


def image(name, body, code):
    path = here / "images" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    expected[f"images/{name}"] = {"code": code}


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"")
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


payload("extract", "not-json.txt", b"attachmentId=1&matchId=2", "/")
payload("extract", "truncated.json", b'{"attachmentId": "' + A.encode(), "/")
payload("extract", "array.json", [A, A], "/")
payload("extract", "empty-object.json", {}, "/")
payload("extract", "unknown-field.json", {"attachmentId": A, "matchId": A, "priority": 1}, "/")
payload("extract", "number-id.json", {"attachmentId": 42, "matchId": A}, "/attachmentId")
payload("extract", "non-uuid.json", {"attachmentId": A, "matchId": "match-1"}, "/matchId")
payload("extract", "null-id.json", {"attachmentId": None, "matchId": A}, "/attachmentId")
payload("extract", "huge-id.json", {"attachmentId": "a" * 200_000, "matchId": A}, "/attachmentId")
payload("cleanup", "no-keys.json", {"s3Keys": []}, "/s3Keys")
payload("cleanup", "key-not-a-string.json", {"s3Keys": ["attachments/a.png", 7]}, "/s3Keys/1")
payload("cleanup", "too-many-keys.json", {"s3Keys": [f"attachments/k/{n:05}" for n in range(5001)]}, "/s3Keys")
payload("cleanup", "keys-not-an-array.json", {"s3Keys": "attachments/a.png"}, "/s3Keys")
payload("auto_done", "not-a-time.json", {"scheduledAt": "tomorrow at four"}, "/scheduledAt")
payload("auto_done", "no-offset.json", {"scheduledAt": "2026-11-26T19:00:00"}, "/scheduledAt")

image("empty.png", b"", "NOT_AN_IMAGE")
image("text.png", b"these are notes, not pixels\n" * 20, "NOT_AN_IMAGE")
image("gif.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "NOT_AN_IMAGE")
full_png = png_header_only(4, 4)
image("truncated.png", full_png[:30], "NOT_AN_IMAGE")
image("bomb-30000x30000.png", png_header_only(30000, 30000), "IMAGE_TOO_LARGE")
fixture = (here / "../../ocr/tests/fixtures/es1-0002.jpg").read_bytes()
image("truncated.jpg", fixture[: len(fixture) // 4], "NOT_AN_IMAGE")

from PIL import Image  # noqa: E402  (only this picture needs it)

# A real screenshot of something else: the client's social panel, cut from a capture.
panel = Image.open(here / "../../ocr/tests/fixtures/es1-0002.jpg").crop((1050, 80, 1282, 600))
out = here / "images" / "social-panel.png"
panel.save(out, optimize=True)
expected["images/social-panel.png"] = {"code": "NOT_A_SCOREBOARD"}

(here / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
